"""The Python extension point for what token rules cannot express: ``settings.PORTCULLIS_TOKEN_HOOK``.

The setting names a callable (``"myproject.tokens.customize"``), called for every
client-credentials token after the tenant's token rules, with a read-only
``TokenHookContext``. It returns ``None`` (no change) or a ``TokenHookResult``, or raises
``TokenHookDenied(message)`` to refuse the token with ``access_denied`` and that message.

What holds whatever the hook does:

- scopes it returns are intersected with the client grant (a hook cannot widen a grant);
- claims it returns are checked like a rule's (namespaced, never a registered claim);
- any other exception, or a result that breaks those checks, refuses the token with a
  ``server_error`` JSON response (HTTP 500, no traceback) and an audit event; the
  traceback goes to the server log. A denial is an audit event too.

The hook runs on the token endpoint's hot path: keep it fast and free of I/O, or cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TokenHookContext:
    """What the hook may read about the token being issued. Nothing in it can be changed."""

    tenant: str  # the tenant's slug
    client_id: str
    client_metadata: Mapping[str, str]  # Auth0's "Application Metadata"
    audience: str  # the API's identifier
    granted_scopes: frozenset[str]  # the client grant's scopes for this API
    scopes: tuple[str, ...]  # the scopes the token would get, after the rules
    claims: Mapping[str, Any]  # the custom claims the token would get, after the rules


@dataclass(frozen=True, slots=True)
class TokenHookResult:
    """The hook's changes. ``None`` leaves that part as the rules made it.

    ``claims`` *replaces* the custom claims (start from ``context.claims`` to keep them);
    ``scopes`` replaces the scopes, and is then intersected with the client grant.
    """

    scopes: Iterable[str] | None = None
    claims: Mapping[str, Any] | None = None


class TokenHookDenied(Exception):
    """Raised by a hook to refuse the token: the client gets 403 ``access_denied`` with ``message``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
