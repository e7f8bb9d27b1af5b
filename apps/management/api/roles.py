"""Auth0's ``roles`` endpoints: a tenant's roles, their permissions (API scopes) and their users.

https://auth0.com/docs/api/management/v2/roles . Role ids are ``rol_<pk>``. Writes go through
``apps.accounts.rbac.services`` with the calling client as actor; a change shows in the user's
very next token (roles are read afresh for every token). A role's users are read with
``read:roles`` or Auth0's ``read:role_members``, and assigned with ``update:roles`` or
``create:role_members``; they page by offset or by checkpoint (``from``/``take``).
"""

from __future__ import annotations

from http import HTTPStatus

from django.core.exceptions import ValidationError
from rest_framework.response import Response

from apps.accounts.rbac.selectors import role_list, role_permission_list, role_user_list
from apps.accounts.rbac.services import (
    ROLE_NAME_TAKEN,
    role_create,
    role_delete,
    role_permissions_add,
    role_permissions_remove,
    role_update,
    user_roles_assign,
)
from apps.management.api.base import ManagementView
from apps.management.api.errors import conflict
from apps.management.api.pagination import paginated
from apps.management.api.payload import StrictCharField, StrictSerializer, validated
from apps.management.api.user_shapes import (
    IdList,
    PermissionsBody,
    render_permission,
    render_role,
    role_or_404,
    scopes_or_error,
    user_display_name,
    users_or_404,
)
from apps.oauth.claims import user_subject


class RoleBody(StrictSerializer):
    name = StrictCharField(max_length=200)
    description = StrictCharField(max_length=500, allow_blank=True, required=False)


class RoleUpdateBody(RoleBody):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False


class UsersBody(StrictSerializer):
    users = IdList()


def _conflict_on_taken_name(error: ValidationError) -> None:
    """A taken role name is Auth0's 409; any other refusal stays a 400."""
    if hasattr(error, "error_dict") and any(
        item.code == ROLE_NAME_TAKEN for item in error.error_dict.get("name", [])
    ):
        raise conflict(error.message_dict["name"][0], error_code="role_name_taken") from None
    raise error


class RolesView(ManagementView):
    """``GET /roles`` (paged, ``name_filter``) and ``POST /roles``."""

    required_scopes = {"GET": "read:roles", "POST": "create:roles"}

    def get(self, request, **kwargs) -> Response:
        rows = role_list(tenant=request.tenant, name_filter=request.query_params.get("name_filter", ""))
        return paginated(request, rows, key="roles", render=render_role)

    def post(self, request, **kwargs) -> Response:
        body = validated(RoleBody, request.data)
        try:
            role = role_create(tenant=request.tenant, actor=request.user, **body)
        except ValidationError as error:
            _conflict_on_taken_name(error)
        return Response(render_role(role))


class RoleView(ManagementView):
    """``GET``, ``PATCH`` and ``DELETE /roles/{id}``."""

    required_scopes = {"GET": "read:roles", "PATCH": "update:roles", "DELETE": "delete:roles"}

    def get(self, request, id: str, **kwargs) -> Response:
        return Response(render_role(role_or_404(tenant=request.tenant, role_id=id)))

    def patch(self, request, id: str, **kwargs) -> Response:
        role = role_or_404(tenant=request.tenant, role_id=id)
        body = validated(RoleUpdateBody, request.data)
        try:
            role_update(role=role, actor=request.user, **body)
        except ValidationError as error:
            _conflict_on_taken_name(error)
        return Response(render_role(role))

    def delete(self, request, id: str, **kwargs) -> Response:
        role_delete(role=role_or_404(tenant=request.tenant, role_id=id), actor=request.user)
        return Response(status=HTTPStatus.NO_CONTENT)


class RolePermissionsView(ManagementView):
    """``/roles/{id}/permissions``: list (paged), add (201) and remove."""

    required_scopes = {"GET": "read:roles", "POST": "update:roles", "DELETE": "update:roles"}

    def get(self, request, id: str, **kwargs) -> Response:
        role = role_or_404(tenant=request.tenant, role_id=id)
        return paginated(
            request, role_permission_list(role=role), key="permissions", render=render_permission
        )

    def post(self, request, id: str, **kwargs) -> Response:
        role = role_or_404(tenant=request.tenant, role_id=id)
        permissions = validated(PermissionsBody, request.data)["permissions"]
        scopes = scopes_or_error(tenant=request.tenant, permissions=permissions)
        role_permissions_add(role=role, scopes=scopes, actor=request.user)
        return Response(status=HTTPStatus.CREATED)

    def delete(self, request, id: str, **kwargs) -> Response:
        role = role_or_404(tenant=request.tenant, role_id=id)
        permissions = validated(PermissionsBody, request.data)["permissions"]
        scopes = scopes_or_error(tenant=request.tenant, permissions=permissions)
        role_permissions_remove(role=role, scopes=scopes, actor=request.user)
        return Response(status=HTTPStatus.NO_CONTENT)


def _render_role_user(user) -> dict:
    return {"user_id": user_subject(user), "email": user.email, "name": user_display_name(user)}


class RoleUsersView(ManagementView):
    """``/roles/{id}/users``: the role's users (paged) and assigning it to users (``{"users": [...]}``)."""

    required_scopes = {
        "GET": ("read:roles", "read:role_members"),
        "POST": ("update:roles", "create:role_members"),
    }
    checkpoint_paging = True

    def get(self, request, id: str, **kwargs) -> Response:
        role = role_or_404(tenant=request.tenant, role_id=id)
        return paginated(
            request,
            role_user_list(role=role),
            key="users",
            render=_render_role_user,
            checkpoints=self.checkpoint_paging,
        )

    def post(self, request, id: str, **kwargs) -> Response:
        role = role_or_404(tenant=request.tenant, role_id=id)
        users = users_or_404(tenant=request.tenant, user_ids=validated(UsersBody, request.data)["users"])
        for user in users:
            user_roles_assign(user=user, roles=[role], actor=request.user)
        return Response(status=HTTPStatus.OK)
