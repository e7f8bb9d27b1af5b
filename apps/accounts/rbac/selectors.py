"""Reads of roles and permissions. No cache: a change of role shows in the very next token."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from apps.accounts.models import Role, RolePermission, User, UserPermission
from apps.apis.models import Scope


def user_permissions_for_api(*, tenant_id: int, user_id: int, api_id: int) -> frozenset[str]:
    """The user's permissions (scope values) for one API: direct ones and their roles', united.

    One query over the API's scopes (Auth0: "Role-based access control": a user's permissions are
    those assigned directly plus those of their roles). Read on every user token the API's RBAC
    applies to; never cached, so that assigning or removing a role takes effect at once.
    """
    direct = UserPermission.objects.filter(tenant_id=tenant_id, user_id=user_id, scope_id=OuterRef("pk"))
    through_roles = RolePermission.objects.filter(
        tenant_id=tenant_id, scope_id=OuterRef("pk"), role__user_roles__user_id=user_id
    )
    values = (
        Scope.objects.for_tenant(tenant_id)
        .filter(api_id=api_id)
        .filter(Exists(direct) | Exists(through_roles))
        .values_list("value", flat=True)
    )
    return frozenset(values)


def role_list(*, tenant, name_filter: str = "") -> QuerySet[Role]:
    """The tenant's roles by name; ``name_filter`` keeps those whose name contains it (any case)."""
    rows = Role.objects.for_tenant(tenant).order_by("name", "pk")
    return rows.filter(name__icontains=name_filter) if name_filter else rows


def role_get(*, tenant, role_id: int | None) -> Role | None:
    return None if role_id is None else role_list(tenant=tenant).filter(pk=role_id).first()


def role_permission_list(*, role: Role) -> QuerySet[Scope]:
    """The scopes a role grants, by API and value, with their API (Auth0's role permissions)."""
    return (
        Scope.objects.for_tenant(role.tenant_id)
        .filter(role_permissions__role=role)
        .select_related("api")
        .order_by("api__identifier", "value")
    )


def role_user_list(*, role: Role) -> QuerySet[User]:
    return User.objects.filter(tenant_id=role.tenant_id, user_roles__role=role).order_by("date_joined", "pk")


def user_role_list(*, user: User) -> QuerySet[Role]:
    return Role.objects.for_tenant(user.tenant_id).filter(user_roles__user=user).order_by("name", "pk")


def user_permission_list(*, user: User) -> list[tuple[Scope, list[Role | None]]]:
    """The scopes ``user`` holds directly or through their roles, each with where it comes from
    (``None`` for a direct assignment, else the role), by API and value (Auth0's user permissions)."""
    sources: dict[int, list[Role | None]] = {}
    for scope_id in UserPermission.objects.filter(tenant_id=user.tenant_id, user=user).values_list(
        "scope_id", flat=True
    ):
        sources.setdefault(scope_id, []).append(None)
    for row in RolePermission.objects.filter(
        tenant_id=user.tenant_id, role__user_roles__user=user
    ).select_related("role"):
        sources.setdefault(row.scope_id, []).append(row.role)
    scopes = (
        Scope.objects.for_tenant(user.tenant_id)
        .filter(pk__in=sources)
        .select_related("api")
        .order_by("api__identifier", "value")
    )
    return [(scope, sources[scope.pk]) for scope in scopes]


def scopes_by_reference(*, tenant, references: list[tuple[str, str]]) -> dict[tuple[str, str], Scope]:
    """The tenant's scopes named by ``(API identifier, scope value)`` pairs (Auth0's
    ``resource_server_identifier``/``permission_name``); pairs that name nothing are left out."""
    from django.db.models import Q

    if not references:
        return {}
    wanted = Q(pk__in=[])
    for identifier, value in references:
        wanted |= Q(api__identifier=identifier, value=value)
    rows = Scope.objects.for_tenant(tenant).filter(wanted).select_related("api")
    return {(row.api.identifier, row.value): row for row in rows}
