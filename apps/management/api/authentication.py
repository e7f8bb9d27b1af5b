"""Who calls the Management API: a client of the same tenant, with a token for ``<issuer>api/v2/``.

The token is one of the tenant's own access tokens (RFC 9068), checked exactly as introspection
checks it (``oauth.tokens.verify_access_token``: a published key with its own algorithm, this
issuer, not expired, not deny-listed), and its ``aud`` must name this tenant's Management API
(its stored identifier, ``management.selectors.management_api_identifier``).
A token of another tenant fails the issuer and key checks; a token for another API of the same
tenant fails the audience check. What it may do is its ``scope`` (``permissions.ScopeRequired``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from apps.management.api.errors import MSG_BAD_TOKEN
from apps.management.selectors import management_api_identifier
from apps.oauth.issuer import issuer_for_request
from apps.oauth.tokens import verify_access_token


@dataclass(frozen=True, slots=True)
class ManagementCaller:
    """The authenticated caller: the client the token was issued to, and its scopes.

    Services record it as the actor of what it changes (``str``: ``client <client_id>``).
    """

    client_id: str
    scopes: frozenset[str]
    claims: dict = field(repr=False, hash=False, compare=False)
    is_authenticated: bool = True

    def __str__(self) -> str:
        return f"client {self.client_id}"


class ManagementTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None  # NotAuthenticated: 401 "Missing authentication"
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.AuthenticationFailed(MSG_BAD_TOKEN)
        tenant = request.tenant
        claims = verify_access_token(token.strip(), tenant_id=tenant.pk, issuer=issuer_for_request(request))
        if claims is None:
            raise exceptions.AuthenticationFailed(MSG_BAD_TOKEN)
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        expected = management_api_identifier(tenant_id=tenant.pk)
        if expected is None or expected not in audiences:
            raise exceptions.AuthenticationFailed(MSG_BAD_TOKEN)
        caller = ManagementCaller(
            client_id=str(claims.get("client_id", "")),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            claims=claims,
        )
        return caller, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api/v2"'
