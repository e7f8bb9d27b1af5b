"""Auth0's ``users`` endpoints: end users of the tenant's database connection, their roles, direct
permissions, MFA authentication methods and brute-force blocks (``user-blocks``).

https://auth0.com/docs/api/management/v2/users . Every write goes through ``apps.accounts``
services with the calling client as actor. ``blocked`` is Auth0's "blocked by an administrator":
an inactive account here (``user_block_set``); ``user-blocks`` are brute-force protection's blocks.
"""

from __future__ import annotations

import re
from http import HTTPStatus

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db.models import F, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from apps.accounts.mfa.selectors import authenticator_list
from apps.accounts.mfa.services import authenticator_delete, mfa_reset
from apps.accounts.models import User
from apps.accounts.rbac.selectors import user_permission_list, user_role_list
from apps.accounts.rbac.services import (
    user_permissions_add,
    user_permissions_remove,
    user_roles_assign,
    user_roles_remove,
)
from apps.accounts.selectors import end_user_list, login_blocks_for_user
from apps.accounts.services import (
    USER_EXISTS,
    end_user_change,
    end_user_create,
    user_delete,
    user_login_blocks_lift,
)
from apps.management.api.base import ManagementView
from apps.management.api.errors import bad_request, conflict, not_found
from apps.management.api.fields import SelectableFields
from apps.management.api.pagination import paginated
from apps.management.api.payload import (
    MSG_EXPECTED_TYPE,
    StrictBooleanField,
    StrictCharField,
    StrictSerializer,
    validated,
)
from apps.management.api.user_shapes import (
    IdList,
    PermissionsBody,
    authentication_method_pk,
    render_authentication_method,
    render_permission,
    render_role,
    render_user,
    roles_or_404,
    scopes_or_error,
    user_or_404,
)
from apps.oauth.claims import user_id_from_subject
from apps.tenants.selectors import tenant_database_connection

MSG_UNKNOWN_CONNECTION = "The connection does not exist."
MSG_PASSWORD_STRENGTH = "PasswordStrengthError: {reasons}"
MSG_BAD_QUERY = (
    "Query validation error: 'q' supports free text (a part of the email or username) or "
    'one of email:"…", username:"…", user_id:"…".'
)
PASSWORD_MAX_LENGTH = 1024
# Auth0's Lucene-like q, reduced to what a script usually sends: ``email:"x"``, ``username:x``...
_FIELD_QUERY = re.compile(r'^(?P<field>[a-z_]+):(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s"]+))$')
SEARCHABLE_FIELDS = frozenset({"email", "username", "user_id"})
# ``sort=<field>:1|-1`` (Auth0's pattern), by these of Auth0's user fields -> our columns.
SORT_PATTERN = r"^([a-zA-Z0-9_\.]+):(1|-1)$"
SORTABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "created_at": ("date_joined",),
    "updated_at": ("updated_at",),
    "last_login": ("last_login",),
    "email": ("email",),
    "username": ("username",),
    "user_id": ("pk",),
    "given_name": ("first_name",),
    "family_name": ("last_name",),
    "name": ("first_name", "last_name"),
}
MSG_BAD_SORT = (
    "Query validation error: 'sort' must be <field>:1 (ascending) or <field>:-1 (descending), "
    "the field one of {fields}."
)
# The names Auth0's reference allows in ``fields`` on GET users/{id} (any other is a 400).
AUTH0_USER_FIELDS = frozenset(
    [
        "phone_number",
        "email",
        "email_verified",
        "picture",
        "username",
        "user_id",
        "name",
        "nickname",
        "created_at",
        "identities",
        "app_metadata",
        "user_metadata",
        "last_ip",
        "last_login",
        "logins_count",
        "updated_at",
        "blocked",
        "family_name",
        "given_name",
    ]
)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(MSG_EXPECTED_TYPE.format(type="string"))
        return super().to_internal_value(data)


class _Profile(StrictSerializer):
    email = StrictEmailField(max_length=254)
    username = StrictCharField(max_length=150)
    given_name = StrictCharField(max_length=150, allow_blank=True)
    family_name = StrictCharField(max_length=150, allow_blank=True)
    name = StrictCharField(max_length=301, allow_blank=True)
    password = StrictCharField(max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False)
    blocked = StrictBooleanField()
    connection = StrictCharField(max_length=200)


class UserCreateBody(_Profile):
    """``POST /users``: ``connection``, ``email`` and ``password`` are required (a database connection)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("username", "given_name", "family_name", "name", "blocked"):
            self.fields[name].required = False


class UserUpdateBody(_Profile):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


def _check_connection(request, body: dict) -> None:
    if "connection" in body and body["connection"] != tenant_database_connection(tenant=request.tenant):
        raise bad_request(MSG_UNKNOWN_CONNECTION, error_code="inexistent_connection")


def _names(body: dict) -> dict[str, str]:
    """``given_name``/``family_name`` as first and last name; ``name`` alone is split at its first space."""
    names: dict[str, str] = {}
    if "given_name" in body:
        names["first_name"] = body["given_name"]
    if "family_name" in body:
        names["last_name"] = body["family_name"]
    if "name" in body and not names:
        first, _, last = body["name"].strip().partition(" ")
        names = {"first_name": first, "last_name": last.strip()}
    return names


def _check_password(password: str, *, user: User) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        raise bad_request(
            MSG_PASSWORD_STRENGTH.format(reasons=" ".join(error.messages)),
            error_code="password_strength_error",
        ) from None


def _conflict_on_taken(error: ValidationError) -> None:
    if getattr(error, "code", None) == USER_EXISTS:
        raise conflict(error.messages[0], error_code="user_exists") from None
    raise error


def _search(request):
    q = request.query_params.get("q", "").strip()
    if not q:
        return end_user_list(tenant=request.tenant)
    match = _FIELD_QUERY.match(q)
    if match is None:
        if ":" in q:
            raise bad_request(MSG_BAD_QUERY, error_code="invalid_query_string")
        return end_user_list(tenant=request.tenant, text=q.strip('"*'))
    field, value = match["field"], match["quoted"] if match["quoted"] is not None else match["bare"]
    if field not in SEARCHABLE_FIELDS:
        raise bad_request(MSG_BAD_QUERY, error_code="invalid_query_string")
    if field == "user_id":
        pk = user_id_from_subject(value) if len(value) < 30 else None
        return end_user_list(tenant=request.tenant).filter(pk=pk if pk is not None else -1)
    return end_user_list(tenant=request.tenant, **{field: value})


def _sorted(request, rows: QuerySet) -> QuerySet:
    """``rows`` in the order ``sort`` asks (Auth0's ``field:1`` or ``field:-1``), by creation without it.
    Users without a value (never signed in) come last either way; ties go by id, so pages are stable."""
    raw = request.query_params.get("sort", "")
    if not raw:
        return rows
    match = re.match(SORT_PATTERN, raw)
    if match is None or match[1] not in SORTABLE_FIELDS:
        raise bad_request(
            MSG_BAD_SORT.format(fields=", ".join(SORTABLE_FIELDS)), error_code="invalid_query_string"
        )
    descending = match[2] == "-1"
    columns = [
        F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_last=True)
        for column in SORTABLE_FIELDS[match[1]]
    ]
    return rows.order_by(*columns, "-pk" if descending else "pk")


class UsersView(ManagementView):
    """``GET /users`` (paged; ``q`` as ``_search`` reads it, ``sort``, ``fields``) and ``POST /users``."""

    required_scopes = {"GET": "read:users", "POST": "create:users"}
    selectable_fields = SelectableFields(items="users")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", OpenApiTypes.STR, description='Text, or email:"…", username:"…", user_id:"…"'
            ),
            OpenApiParameter(
                "sort",
                OpenApiTypes.STR,
                pattern=SORT_PATTERN,
                description="<field>:1 or <field>:-1; fields: " + ", ".join(SORTABLE_FIELDS),
            ),
        ]
    )
    def get(self, request, **kwargs) -> Response:
        tenant = request.tenant
        rows = _sorted(request, _search(request))
        return paginated(request, rows, key="users", render=lambda u: render_user(u, tenant=tenant))

    def post(self, request, **kwargs) -> Response:
        body = validated(UserCreateBody, request.data)
        _check_connection(request, body)
        names = _names(body)
        username = body.get("username") or body["email"]
        _check_password(body["password"], user=User(username=username, email=body["email"], **names))
        try:
            user = end_user_create(
                tenant=request.tenant,
                email=body["email"],
                password=body["password"],
                username=username,
                blocked=body.get("blocked", False),
                actor=request.user,
                **names,
            )
        except ValidationError as error:
            _conflict_on_taken(error)
        return Response(render_user(user, tenant=request.tenant), status=HTTPStatus.CREATED)


class UserView(ManagementView):
    """``GET``, ``PATCH`` and ``DELETE /users/{id}`` (``auth0|<pk>``)."""

    required_scopes = {"GET": "read:users", "PATCH": "update:users", "DELETE": "delete:users"}
    selectable_fields = SelectableFields(allowed=AUTH0_USER_FIELDS)

    def get(self, request, id: str, **kwargs) -> Response:
        return Response(render_user(user_or_404(tenant=request.tenant, user_id=id), tenant=request.tenant))

    def patch(self, request, id: str, **kwargs) -> Response:
        user = user_or_404(tenant=request.tenant, user_id=id)
        body = validated(UserUpdateBody, request.data)
        _check_connection(request, body)
        changes = {"email": body["email"]} if "email" in body else {}
        if "username" in body:
            changes["username"] = body["username"]
        changes |= _names(body)
        if "password" in body:
            _check_password(body["password"], user=user)
        try:
            end_user_change(
                user=user,
                changes=changes,
                password=body.get("password"),
                blocked=body.get("blocked"),
                actor=request.user,
            )
        except ValidationError as error:
            _conflict_on_taken(error)
        user.refresh_from_db()
        return Response(render_user(user, tenant=request.tenant))

    def delete(self, request, id: str, **kwargs) -> Response:
        user_delete(user=user_or_404(tenant=request.tenant, user_id=id), actor=request.user)
        return Response(status=HTTPStatus.NO_CONTENT)


class RolesBody(StrictSerializer):
    roles = IdList()


class UserRolesView(ManagementView):
    """``/users/{id}/roles``: list (paged), assign and remove (``{"roles": ["rol_…"]}``).
    Auth0's ``*:role_members`` scopes do as well as ``read:users``/``update:users`` here."""

    required_scopes = {
        "GET": ("read:users", "read:role_members"),
        "POST": ("update:users", "create:role_members"),
        "DELETE": ("update:users", "delete:role_members"),
    }

    def get(self, request, id: str, **kwargs) -> Response:
        user = user_or_404(tenant=request.tenant, user_id=id)
        return paginated(request, user_role_list(user=user), key="roles", render=render_role)

    def post(self, request, id: str, **kwargs) -> Response:
        user = user_or_404(tenant=request.tenant, user_id=id)
        roles = roles_or_404(tenant=request.tenant, role_ids=validated(RolesBody, request.data)["roles"])
        user_roles_assign(user=user, roles=roles, actor=request.user)
        return Response(status=HTTPStatus.NO_CONTENT)

    def delete(self, request, id: str, **kwargs) -> Response:
        user = user_or_404(tenant=request.tenant, user_id=id)
        roles = roles_or_404(tenant=request.tenant, role_ids=validated(RolesBody, request.data)["roles"])
        user_roles_remove(user=user, roles=roles, actor=request.user)
        return Response(status=HTTPStatus.NO_CONTENT)


def _render_user_permission(item) -> dict:
    scope, sources = item
    return render_permission(scope) | {
        "sources": [
            {"source_id": "", "source_name": "", "source_type": "DIRECT"}
            if role is None
            else {"source_id": render_role(role)["id"], "source_name": role.name, "source_type": "ROLE"}
            for role in sources
        ]
    }


class UserPermissionsView(ManagementView):
    """``/users/{id}/permissions``: what the user holds directly and through roles (with
    ``sources``), and adding or removing direct permissions."""

    required_scopes = {"GET": "read:users", "POST": "update:users", "DELETE": "update:users"}

    def get(self, request, id: str, **kwargs) -> Response:
        user = user_or_404(tenant=request.tenant, user_id=id)
        return paginated(
            request, user_permission_list(user=user), key="permissions", render=_render_user_permission
        )

    def post(self, request, id: str, **kwargs) -> Response:
        user = user_or_404(tenant=request.tenant, user_id=id)
        body = validated(PermissionsBody, request.data)
        user_permissions_add(
            user=user,
            scopes=scopes_or_error(tenant=request.tenant, permissions=body["permissions"]),
            actor=request.user,
        )
        return Response(status=HTTPStatus.CREATED)

    def delete(self, request, id: str, **kwargs) -> Response:
        user = user_or_404(tenant=request.tenant, user_id=id)
        body = validated(PermissionsBody, request.data)
        user_permissions_remove(
            user=user,
            scopes=scopes_or_error(tenant=request.tenant, permissions=body["permissions"]),
            actor=request.user,
        )
        return Response(status=HTTPStatus.NO_CONTENT)


class UserAuthenticationMethodsView(ManagementView):
    """``/users/{id}/authentication-methods``: the user's MFA authenticators; ``DELETE`` removes all
    of them and the recovery codes (``mfa_reset``)."""

    required_scopes = {"GET": "read:authentication_methods", "DELETE": "delete:authentication_methods"}

    def get(self, request, id: str, **kwargs) -> Response:
        user = user_or_404(tenant=request.tenant, user_id=id)
        rows = authenticator_list(tenant=request.tenant, user=user)
        return paginated(request, rows, key="authenticators", render=render_authentication_method)

    def delete(self, request, id: str, **kwargs) -> Response:
        user = user_or_404(tenant=request.tenant, user_id=id)
        mfa_reset(tenant=request.tenant, user=user, actor=request.user)
        return Response(status=HTTPStatus.NO_CONTENT)


class UserAuthenticationMethodView(ManagementView):
    """``/users/{id}/authentication-methods/{method_id}`` (``otp|dev_<pk>``): read or remove one."""

    required_scopes = {"GET": "read:authentication_methods", "DELETE": "delete:authentication_methods"}

    def _method(self, request, id: str, method_id: str):
        user = user_or_404(tenant=request.tenant, user_id=id)
        pk = authentication_method_pk(method_id)
        method = next(
            (row for row in authenticator_list(tenant=request.tenant, user=user) if row.pk == pk), None
        )
        if method is None:
            raise not_found("authentication_method")
        return user, method

    def get(self, request, id: str, method_id: str, **kwargs) -> Response:
        _, method = self._method(request, id, method_id)
        return Response(render_authentication_method(method))

    def delete(self, request, id: str, method_id: str, **kwargs) -> Response:
        user, method = self._method(request, id, method_id)
        authenticator_delete(tenant=request.tenant, user=user, authenticator_id=method.pk, actor=request.user)
        return Response(status=HTTPStatus.NO_CONTENT)


class UserBlocksView(ManagementView):
    """``/user-blocks/{id}``: brute-force protection's blocks of a user (``blocked_for``), and lifting them."""

    required_scopes = {"GET": "read:users", "DELETE": "update:users"}

    def get(self, request, id: str, **kwargs) -> Response:
        user = user_or_404(tenant=request.tenant, user_id=id)
        blocks = login_blocks_for_user(tenant=request.tenant, user=user)
        connection = tenant_database_connection(tenant=request.tenant)
        return Response(
            {
                "blocked_for": [
                    {"identifier": block.username, "ip": block.ip, "connection": connection}
                    for block in blocks
                ]
            }
        )

    def delete(self, request, id: str, **kwargs) -> Response:
        user_login_blocks_lift(user=user_or_404(tenant=request.tenant, user_id=id), actor=request.user)
        return Response(status=HTTPStatus.NO_CONTENT)
