"""Auth0's Management API scopes: each endpoint names the scope it needs per HTTP method."""

from __future__ import annotations

from http import HTTPStatus

from rest_framework import permissions

from apps.management.api.errors import MSG_INSUFFICIENT_SCOPE, ManagementApiError

# What a view's ``required_scopes`` maps a method to: one scope, or several of which any one will do.
RequiredScope = str | tuple[str, ...]


def scopes_accepted(required: RequiredScope | None) -> tuple[str, ...]:
    """The scopes of which any one lets a call through (none for a method the view does not map)."""
    if required is None:
        return ()
    return (required,) if isinstance(required, str) else tuple(required)


class ScopeRequired(permissions.BasePermission):
    """The view's ``required_scopes`` maps an HTTP method to the scope it needs (Auth0's names:
    ``read:clients``, ``create:client_grants``...), or to a tuple of scopes any one of which will
    do (Auth0's ``read:role_members`` reads a role's users as ``read:roles`` does). Without it:
    403 ``insufficient_scope`` naming the scopes. A method the view does not map is refused the
    same way (nothing is open by default).
    """

    def has_permission(self, request, view) -> bool:
        caller = request.user
        if caller is None or not getattr(caller, "is_authenticated", False):
            return False  # NotAuthenticated: 401
        accepted = scopes_accepted(view.required_scopes.get(request.method) or view.required_scopes.get("*"))
        if not accepted or caller.scopes.isdisjoint(accepted):
            raise ManagementApiError(
                status=HTTPStatus.FORBIDDEN,
                message=MSG_INSUFFICIENT_SCOPE.format(scopes=", ".join(accepted) or "(none)"),
                error_code="insufficient_scope",
            )
        return True
