"""The OpenID Provider / OAuth 2.0 authorization server metadata of a tenant.

OIDC Discovery 1.0 section 3 and RFC 8414. Every endpoint listed exists (a test probes each).
"""

from __future__ import annotations

from apps.core.oidc import OIDC_SCOPES
from apps.oauth.authorization.rules import ResponseMode, ResponseType
from apps.oauth.claims import USERINFO_PATH
from apps.oauth.constants import AuthMethod, GrantType
from apps.oauth.grants.registry import SUPPORTED_GRANT_TYPES
from apps.oauth.validators import PortcullisValidator
from apps.tenants.models import SigningKey
from apps.tenants.selectors import tenant_dynamic_registration_enabled

ACCESS_TOKEN_CLAIMS = [
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
]
ID_TOKEN_CLAIMS = ["iss", "sub", "aud", "iat", "exp", "auth_time", "nonce", "at_hash", "c_hash", "jti"]


def discovery_document(*, issuer: str) -> dict:
    auth_methods = [AuthMethod.CLIENT_SECRET_BASIC, AuthMethod.CLIENT_SECRET_POST, AuthMethod.NONE]
    # RFC 7662 section 2.1: introspection callers are protected resources: confidential clients only.
    confidential_methods = [AuthMethod.CLIENT_SECRET_BASIC, AuthMethod.CLIENT_SECRET_POST]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}authorize",
        "token_endpoint": f"{issuer}oauth/token",
        "userinfo_endpoint": f"{issuer}{USERINFO_PATH}",
        "jwks_uri": f"{issuer}.well-known/jwks.json",
        "revocation_endpoint": f"{issuer}oauth/revoke",
        "introspection_endpoint": f"{issuer}oauth/introspect",
        "end_session_endpoint": f"{issuer}oidc/logout",
        "grant_types_supported": sorted({*SUPPORTED_GRANT_TYPES, GrantType.IMPLICIT}),
        "response_types_supported": ResponseType.values,
        "response_modes_supported": ResponseMode.values,
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": confidential_methods,
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [SigningKey.Algorithm.RS256.value],
        "scopes_supported": sorted(OIDC_SCOPES),
        "claims_supported": sorted(
            {*ACCESS_TOKEN_CLAIMS, *ID_TOKEN_CLAIMS, *PortcullisValidator.oidc_claim_scope}
        ),
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": True,  # RFC 9207
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claims_parameter_supported": False,
    }


REGISTRATION_PATH = "oidc/register"


def tenant_discovery_document(*, issuer: str, tenant) -> dict:
    """``discovery_document`` plus what depends on the tenant's settings.

    ``registration_endpoint`` (RFC 8414 section 2, OIDC Discovery section 3) is listed only
    while the tenant allows dynamic client registration, so clients do not try a closed door.
    The document is served with ``max-age`` (see the view): a change reaches HTTP caches and
    clients that cached it only when that expires; the endpoint itself checks the switch on
    every request.
    """
    document = discovery_document(issuer=issuer)
    if tenant_dynamic_registration_enabled(tenant=tenant):
        document["registration_endpoint"] = f"{issuer}{REGISTRATION_PATH}"
    return document
