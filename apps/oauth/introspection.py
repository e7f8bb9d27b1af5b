"""RFC 7662 token introspection: what a resource server may learn about a token it was handed.

Access tokens are our JWTs: verified like a resource server would (``tokens.verify_access_token``:
signature with a published key, issuer, expiry, deny list), so an active answer costs no query.
Refresh tokens are opaque: their row is looked up, and only the client they were issued to may
introspect them (they are that client's secret, not a resource server's business).

Anything else (unknown, expired, revoked, deny-listed, signed by a revoked key, another tenant's,
malformed) is exactly ``{"active": false}`` (section 2.2): the caller learns nothing more.
"""

from __future__ import annotations

from typing import Any

from apps.oauth.claims import user_subject
from apps.oauth.context import OAuthContext
from apps.oauth.models import RefreshToken, checksum
from apps.oauth.tokens import verify_access_token

TOKEN_TYPE_BEARER = "Bearer"  # RFC 7662 2.2 "token_type", as in RFC 6749 section 7.1
TOKEN_TYPE_HINT_REFRESH = "refresh_token"


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def token_introspect(
    *, token: str, token_type_hint: str | None, client, context: OAuthContext
) -> dict[str, Any] | None:
    """The claims of an active token, or None (inactive). ``client`` is the authenticated caller.

    The hint only orders the lookups (section 2.1: the server MUST extend its search).
    """
    kinds = (_access_token_claims, _refresh_token_claims)
    if token_type_hint == TOKEN_TYPE_HINT_REFRESH:
        kinds = kinds[::-1]
    for kind in kinds:
        claims = kind(token, client, context)
        if claims is not None:
            return claims
    return None


def _access_token_claims(token: str, client, context: OAuthContext) -> dict[str, Any] | None:
    if not _looks_like_jwt(token):
        return None
    claims = verify_access_token(token, tenant_id=context.tenant.pk, issuer=context.issuer)
    if claims is None:
        return None
    return {**claims, "token_type": TOKEN_TYPE_BEARER}


def _refresh_token_claims(token: str, client, context: OAuthContext) -> dict[str, Any] | None:
    if _looks_like_jwt(token):
        return None
    row = (
        RefreshToken.objects.for_tenant(context.tenant)
        .filter(token_checksum=checksum(token), application_id=client.pk, revoked__isnull=True)
        .select_related("user", "access_token")
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    claims: dict[str, Any] = {
        "iss": context.issuer,
        "sub": user_subject(row.user),
        "client_id": client.client_id,
        "iat": int(row.created.timestamp()),
    }
    if row.audience:
        claims["aud"] = row.audience
    if row.access_token is not None:
        claims["scope"] = row.access_token.scope
    return claims
