"""Helpers for token-endpoint tests: verify tokens the way an external API would."""

from __future__ import annotations

import jwt


def discover(http, tenant_slug: str) -> dict:
    return http.get(f"/t/{tenant_slug}/.well-known/openid-configuration").json()


def verify_with_jwks(http, token: str, *, tenant_slug: str, audience: str) -> dict:
    """Verify ``token`` with keys fetched over HTTP through the tenant's discovery document."""
    metadata = discover(http, tenant_slug)
    signing_key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256", "ES256"],
        audience=audience,
        issuer=metadata["issuer"],
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
    )
