"""DRF authentication by JWT access token (RFC 6750 section 2.1 + RFC 9068 section 4).

Subclass per protected API to name its settings dict::

    class TimesheetsTokenAuthentication(JWTAccessTokenAuthentication):
        settings_name = "TIMESHEETS_RESOURCE_SERVER"

Verification is offline: the token's signature and claims are checked against the
issuer's published keys, with no call to the issuer per request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from . import errors
from .conf import ResourceServerConfig, load_config
from .verification import verify_access_token

AUTH_SCHEME = "bearer"  # auth-scheme names compare case-insensitively (RFC 7235 section 2.1)
# RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@dataclass(frozen=True, slots=True, eq=False)
class TokenUser:
    """``request.user`` for a request carrying a valid access token: who and what it may do.

    ``sub`` is the resource owner (``<client_id>@clients`` for a machine-to-machine token),
    ``client_id`` the application that holds the token, ``scopes`` the granted scopes
    (RFC 9068 section 2.2.3). ``claims`` keeps everything else, e.g. Auth0's ``permissions``.
    """

    sub: str
    client_id: str
    scopes: frozenset[str]
    claims: dict[str, Any] = field(repr=False)

    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> TokenUser:
        return cls(
            sub=claims["sub"],
            # RFC 9068 section 2.2 names it client_id; Auth0 also sets azp (OIDC Core section 2).
            client_id=claims.get("client_id") or claims.get("azp") or "",
            scopes=frozenset(claims.get("scope", "").split()),
            claims=claims,
        )

    @property
    def pk(self) -> str:
        """What DRF's throttles and loggers key a user by."""
        return self.sub

    def has_scopes(self, *scopes: str) -> bool:
        return set(scopes) <= self.scopes

    def __str__(self) -> str:
        return self.sub


class JWTAccessTokenAuthentication(BaseAuthentication):
    """Authenticates ``Authorization: Bearer <JWT>``; ``request.auth`` is the claims dict.

    No Authorization header, or another scheme, is "no credentials" (RFC 6750 section 3.1):
    DRF then answers 401 with ``authenticate_header`` if the view requires a token.
    """

    settings_name: ClassVar[str] = "RESOURCE_SERVER"

    def config(self) -> ResourceServerConfig:
        return load_config(self.settings_name)

    def authenticate(self, request: Request) -> tuple[TokenUser, dict[str, Any]] | None:
        token = bearer_token(request)
        if token is None:
            return None
        claims = verify_access_token(token, config=self.config())
        return TokenUser.from_claims(claims), claims

    def authenticate_header(self, request: Request) -> str:
        """``Bearer realm="..."``: the challenge for a request that sent no token (RFC 6750 section 3)."""
        return errors.www_authenticate(realm=self.config().realm)


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, None when there is none.

    Only the header is read (RFC 6750 section 2.1): tokens in query strings end up in logs
    and browser history (section 5.3), and form-encoded bodies (section 2.2) don't suit a JSON API.
    """
    try:
        header = get_authorization_header(request).decode("ascii")
    except UnicodeDecodeError:
        raise errors.InvalidRequest(errors.MSG_AUTHORIZATION_MALFORMED) from None
    parts = header.split()
    if not parts or parts[0].lower() != AUTH_SCHEME:
        return None
    if len(parts) != 2:
        raise errors.InvalidRequest(errors.MSG_AUTHORIZATION_MALFORMED)
    token = parts[1]
    if not _B64TOKEN.fullmatch(token):
        raise errors.InvalidToken(errors.MSG_TOKEN_MALFORMED)
    return token
