"""One typed context per protocol request, shared by our Django side and oauthlib's side.

oauthlib builds its own request objects from (uri, method, body, headers) in many places;
what our code resolved for the request (the tenant, its issuer, the parsed parameters,
later the API, the granted scopes, the user grant) travels to the validator and the token
generator through a context variable bound by ``PortcullisOAuthLibCore`` around each call
into oauthlib (``bound``), and is read back with ``current()``. Each request runs in its
own thread (or task), so contexts never mix. The Django request keeps the same object as
``request.oauth`` for the view and the token log.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.apis.selectors import ApiSnapshot
    from apps.tenants.models import Tenant

Params = list[tuple[str, str]]


@dataclass(slots=True)
class OAuthContext:
    tenant: Tenant  # cached instance: read-only
    issuer: str
    # The request's parameters as parsed by us; they hold secrets, codes and tokens: never in a repr.
    params: Params = field(default_factory=list, repr=False)
    # Resolved as the request is processed (by the grant's rules), then read by minting and the log.
    client_id: str = ""
    api: ApiSnapshot | None = None
    granted: frozenset[str] = frozenset()
    user_grant_id: int | None = None
    audience: str = ""
    scope: str = ""
    jti: str = ""
    # User tokens, set by ``grants.user_tokens.rbac_apply``: the scopes asked for before RBAC narrowed
    # them (what a new refresh token keeps), and, when the API's RBAC is on, all of the user's
    # permissions for the API (the ``permissions`` claim). None: not applied (M2M tokens).
    requested_scopes: tuple[str, ...] | None = None
    permissions: frozenset[str] | None = None
    # Custom claims for the access token, decided with its scopes (client credentials: token rules).
    custom_claims: dict[str, Any] = field(default_factory=dict)
    # Authorization code exchange: the code's row; what the exchange issued (for replay revocation).
    code_grant: Any = field(default=None, repr=False)  # None: not read yet; False: no such code
    issued_family: Any = None
    id_token_row: Any = field(default=None, repr=False)
    # A refusal that must still commit what it wrote (a replayed code or refresh token revokes).
    keep_writes: bool = False
    # The Django request (grants that sign a user in read the end user's address from it), and that
    # address once known: the token log records it instead of the calling backend's.
    http_request: Any = field(default=None, repr=False)
    end_user_ip: str | None = None

    def row_binding(self) -> dict[str, Any]:
        """What every code and token row written for this request is bound to (and revoked with)."""
        return {"tenant": self.tenant, "audience": self.audience, "user_grant_id": self.user_grant_id}

    @property
    def resources(self) -> tuple[str, ...]:
        """RFC 8707 ``resource`` values, in order (oauthlib would keep only the last)."""
        return tuple(value for name, value in self.params if name == "resource")


_current: contextvars.ContextVar[OAuthContext] = contextvars.ContextVar("portcullis_oauth_context")


@contextlib.contextmanager
def bound(context: OAuthContext) -> Iterator[OAuthContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def current() -> OAuthContext:
    """The context of the request being processed; a LookupError outside ``bound`` is a bug."""
    return _current.get()
