"""DRF permissions that require scopes, answering RFC 6750 ``insufficient_scope`` (section 3.1).

Two ways to say what a view needs:

- ``permission_classes = [HasScope("read:timesheets")]`` for one rule per view;
- ``permission_classes = [RequiredScopes]`` plus ``required_scopes = {"list": "read:x",
  "create": "create:x"}`` keyed by ViewSet action (or by lower-case HTTP method on an APIView).

A request without a valid token is refused before scopes are looked at (401), and an
action missing from ``required_scopes`` is refused (403): forgetting to declare a scope
closes the door instead of opening it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from . import errors
from .authentication import TokenUser

MSG_ACTION_NOT_DECLARED = "This operation is not available to access tokens."


def _scope_set(scopes: str | Iterable[str]) -> frozenset[str]:
    # A string may hold several space-delimited scopes, like the scope claim itself.
    return frozenset(scopes.split()) if isinstance(scopes, str) else frozenset(scopes)


class ScopePermission(BasePermission):
    """Base class: a valid token whose ``scope`` holds every scope ``required_for`` names."""

    message = MSG_ACTION_NOT_DECLARED

    def required_for(self, request: Request, view: Any) -> frozenset[str] | None:
        """The scopes this request needs; None when the view declared none for it."""
        raise NotImplementedError

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, TokenUser):
            return False  # DRF turns this into 401 when no authenticator succeeded
        required = self.required_for(request, view)
        if not required:
            return False
        if not required <= user.scopes:
            raise errors.InsufficientScope(required)
        return True


class RequiredScopes(ScopePermission):
    """Reads ``view.required_scopes``: ``{action or http method: scope(s)}``."""

    def required_for(self, request: Request, view: Any) -> frozenset[str] | None:
        declared: Mapping[str, str | Iterable[str]] = getattr(view, "required_scopes", {})
        action = getattr(view, "action", None)
        scopes = declared.get(action) if action else None
        if scopes is None:
            scopes = declared.get(request.method.lower())
        return _scope_set(scopes) if scopes else None


def HasScope(*scopes: str) -> type[ScopePermission]:
    """A permission class requiring all of ``scopes``: ``permission_classes = [HasScope("read:x")]``."""
    required = _scope_set(" ".join(scopes))
    if not required:
        raise ValueError("HasScope needs at least one scope.")

    class _HasScope(ScopePermission):
        required_scopes: ClassVar[frozenset[str]] = required

        def required_for(self, request: Request, view: Any) -> frozenset[str]:
            return self.required_scopes

    _HasScope.__name__ = _HasScope.__qualname__ = f"HasScope({' '.join(sorted(required))})"
    return _HasScope
