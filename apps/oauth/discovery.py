"""The OpenID Provider / OAuth 2.0 authorization server metadata of a tenant.

OIDC Discovery 1.0 section 3 and RFC 8414. Only endpoints that exist are listed:
later issues add ``authorization_endpoint``, ``userinfo_endpoint``, revocation and
introspection here as they land.
"""

from __future__ import annotations

from apps.oauth.constants import SUPPORTED_GRANT_TYPES, AuthMethod
from apps.tenants.models import SigningKey


def discovery_document(*, issuer: str) -> dict:
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}oauth/token",
        "jwks_uri": f"{issuer}.well-known/jwks.json",
        "grant_types_supported": sorted(SUPPORTED_GRANT_TYPES),
        "token_endpoint_auth_methods_supported": [
            AuthMethod.CLIENT_SECRET_BASIC,
            AuthMethod.CLIENT_SECRET_POST,
        ],
        "response_types_supported": [],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": SigningKey.Algorithm.values,
        "scopes_supported": [],
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "iat",
            "exp",
            "jti",
            "azp",
            "client_id",
            "scope",
            "gty",
            "permissions",
        ],
    }
