"""Auth0's Management API scopes: each endpoint names the scope it needs per HTTP method."""

from __future__ import annotations

from http import HTTPStatus

from rest_framework import permissions

from apps.management.api.errors import MSG_INSUFFICIENT_SCOPE, ManagementApiError


class ScopeRequired(permissions.BasePermission):
    """The view's ``required_scopes`` maps an HTTP method to the scope it needs (Auth0's names:
    ``read:clients``, ``create:client_grants``...). Without it: 403 ``insufficient_scope`` naming
    the scope. A method the view does not map is refused the same way (nothing is open by default).
    """

    def has_permission(self, request, view) -> bool:
        caller = request.user
        if caller is None or not getattr(caller, "is_authenticated", False):
            return False  # NotAuthenticated: 401
        needed = view.required_scopes.get(request.method) or view.required_scopes.get("*")
        if needed is None or needed not in caller.scopes:
            raise ManagementApiError(
                status=HTTPStatus.FORBIDDEN,
                message=MSG_INSUFFICIENT_SCOPE.format(scopes=needed or "(none)"),
                error_code="insufficient_scope",
            )
        return True
