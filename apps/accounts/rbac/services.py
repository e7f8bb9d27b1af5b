"""Changing roles, their permissions, and users' roles and direct permissions (Auth0's RBAC).

Every service checks that the rows it links belong to one tenant (a role, scope or user of
another tenant is refused with ``code=CROSS_TENANT``), and records one audit event per change
(nothing is recorded when nothing changes). Roles and permissions are read afresh on every user
token (``selectors.user_permissions_for_api``): there is no cache to invalidate.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import Role, RolePermission, User, UserPermission, UserRole
from apps.apis.models import Scope
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core.services import assign_changes

# Refusal codes (``ValidationError.code``) and their messages; tests assert both.
CROSS_TENANT = "cross_tenant"
NOT_AN_END_USER = "not_an_end_user"
ROLE_NAME_TAKEN = "role_name_taken"
MSG_CROSS_TENANT = "Roles, permissions and users must belong to the same tenant."
MSG_NOT_AN_END_USER = "Only a tenant's end users have roles and permissions."
MSG_ROLE_NAME_TAKEN = "A role named {name!r} already exists in this tenant."

ROLE_MUTABLE_FIELDS = frozenset({"name", "description"})


# --- checks ------------------------------------------------------------------------------------------
def _same_tenant(tenant_id: int, rows: Iterable[Any]) -> None:
    if any(row.tenant_id != tenant_id for row in rows):
        raise ValidationError(MSG_CROSS_TENANT, code=CROSS_TENANT)


def _end_user(user: User) -> None:
    if user.tenant_id is None:
        raise ValidationError(MSG_NOT_AN_END_USER, code=NOT_AN_END_USER)


def _check_name_free(role: Role) -> None:
    taken = Role.objects.for_tenant(role.tenant_id).filter(name__iexact=role.name).exclude(pk=role.pk)
    if taken.exists():
        raise ValidationError(
            {"name": ValidationError(MSG_ROLE_NAME_TAKEN.format(name=role.name), code=ROLE_NAME_TAKEN)}
        )


def _scopes_data(scopes: Iterable[Scope]) -> list[dict[str, str]]:
    """How the audit trail names permissions: the scope and its API (one value may exist in several APIs)."""
    rows = Scope.objects.filter(pk__in=[scope.pk for scope in scopes]).select_related("api")
    return sorted(
        ({"api": row.api.identifier, "scope": row.value} for row in rows),
        key=lambda d: (d["api"], d["scope"]),
    )


def _distinct(rows: Iterable[Any]) -> list[Any]:
    return list({row.pk: row for row in rows}.values())


# --- roles -------------------------------------------------------------------------------------------
@transaction.atomic
def role_create(
    *, tenant, name: str, description: str = "", permissions: Iterable[Scope] = (), actor=None
) -> Role:
    """Create a role of ``tenant`` granting ``permissions`` (scopes of the tenant's APIs)."""
    permissions = _distinct(permissions)
    _same_tenant(tenant.pk, permissions)
    role = Role(tenant=tenant, name=name.strip(), description=description)
    _check_name_free(role)
    role.full_clean()
    role.save()
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.ROLE_CREATED,
        actor=actor,
        target=role.name,
        data={"role": role.pk, "description": role.description},
    )
    if permissions:
        role_permissions_add(role=role, scopes=permissions, actor=actor)
    return role


@transaction.atomic
def role_update(*, role: Role, actor=None, permissions: Iterable[Scope] | None = None, **changes) -> Role:
    """Rename or re-describe a role (``changes``: name, description); with ``permissions``, also make
    its permissions exactly those."""
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    assign_changes(role, changes, allowed=ROLE_MUTABLE_FIELDS, what="a role")
    if changes:
        _check_name_free(role)
        role.full_clean()
        role.save()
        audit_record(
            tenant=role.tenant,
            type=AuditEvent.Type.ROLE_UPDATED,
            actor=actor,
            target=role.name,
            data={"role": role.pk, "changed": sorted(changes)},
        )
    if permissions is not None:
        role_permissions_set(role=role, scopes=permissions, actor=actor)
    return role


@transaction.atomic
def role_delete(*, role: Role, actor=None) -> None:
    """Delete a role; its users lose its permissions with the next token they get."""
    audit_record(
        tenant=role.tenant,
        type=AuditEvent.Type.ROLE_DELETED,
        actor=actor,
        target=role.name,
        data={"role": role.pk, "users": role.user_roles.count()},
    )
    role.delete()


def _role_permissions_changed(role: Role, *, added: list[Scope], removed: list[Scope], actor) -> None:
    if added or removed:
        audit_record(
            tenant=role.tenant,
            type=AuditEvent.Type.ROLE_PERMISSIONS_CHANGED,
            actor=actor,
            target=role.name,
            data={"role": role.pk, "added": _scopes_data(added), "removed": _scopes_data(removed)},
        )


@transaction.atomic
def role_permissions_add(*, role: Role, scopes: Iterable[Scope], actor=None) -> None:
    """Grant ``scopes`` through ``role`` (those it grants already are left alone)."""
    scopes = _distinct(scopes)
    _same_tenant(role.tenant_id, scopes)
    held = set(role.role_permissions.values_list("scope_id", flat=True))
    added = [scope for scope in scopes if scope.pk not in held]
    RolePermission.objects.bulk_create(
        [RolePermission(tenant_id=role.tenant_id, role=role, scope=scope) for scope in added]
    )
    _role_permissions_changed(role, added=added, removed=[], actor=actor)


@transaction.atomic
def role_permissions_remove(*, role: Role, scopes: Iterable[Scope], actor=None) -> None:
    """Stop granting ``scopes`` through ``role``."""
    scopes = _distinct(scopes)
    _same_tenant(role.tenant_id, scopes)
    held = set(role.role_permissions.values_list("scope_id", flat=True))
    removed = [scope for scope in scopes if scope.pk in held]
    role.role_permissions.filter(scope_id__in=[scope.pk for scope in removed]).delete()
    _role_permissions_changed(role, added=[], removed=removed, actor=actor)


@transaction.atomic
def role_permissions_set(*, role: Role, scopes: Iterable[Scope], actor=None) -> None:
    """Make ``role``'s permissions exactly ``scopes`` (one audit event with what was added and removed)."""
    scopes = _distinct(scopes)
    _same_tenant(role.tenant_id, scopes)
    held = {row.scope_id: row.scope for row in role.role_permissions.select_related("scope")}
    wanted = {scope.pk for scope in scopes}
    added = [scope for scope in scopes if scope.pk not in held]
    removed = [scope for pk, scope in held.items() if pk not in wanted]
    role.role_permissions.filter(scope_id__in=[scope.pk for scope in removed]).delete()
    RolePermission.objects.bulk_create(
        [RolePermission(tenant_id=role.tenant_id, role=role, scope=scope) for scope in added]
    )
    _role_permissions_changed(role, added=added, removed=removed, actor=actor)


# --- users' roles and direct permissions ---------------------------------------------------------------
def _user_roles_changed(user: User, *, added: list[Role], removed: list[Role], actor) -> None:
    if added or removed:
        audit_record(
            tenant=user.tenant,
            type=AuditEvent.Type.USER_ROLES_CHANGED,
            actor=actor,
            target=user.username,
            data={
                "user": user.pk,
                "added": sorted(role.name for role in added),
                "removed": sorted(role.name for role in removed),
            },
        )


def _user_permissions_changed(user: User, *, added: list[Scope], removed: list[Scope], actor) -> None:
    if added or removed:
        audit_record(
            tenant=user.tenant,
            type=AuditEvent.Type.USER_PERMISSIONS_CHANGED,
            actor=actor,
            target=user.username,
            data={"user": user.pk, "added": _scopes_data(added), "removed": _scopes_data(removed)},
        )


def _roles_diff(user: User, roles: Iterable[Role], *, keep: bool) -> tuple[list[Role], list[Role]]:
    """(roles to assign, roles to remove) for ``roles``: assign those missing (``keep``), else
    remove those held."""
    _end_user(user)
    roles = _distinct(roles)
    _same_tenant(user.tenant_id, roles)
    held = set(user.user_roles.values_list("role_id", flat=True))
    if keep:
        return [role for role in roles if role.pk not in held], []
    return [], [role for role in roles if role.pk in held]


def _apply_roles(user: User, *, added: list[Role], removed: list[Role], actor) -> None:
    user.user_roles.filter(role_id__in=[role.pk for role in removed]).delete()
    UserRole.objects.bulk_create([UserRole(tenant_id=user.tenant_id, user=user, role=role) for role in added])
    _user_roles_changed(user, added=added, removed=removed, actor=actor)


@transaction.atomic
def user_roles_assign(*, user: User, roles: Iterable[Role], actor=None) -> None:
    """Assign ``roles`` to an end user (roles they have already are left alone)."""
    added, removed = _roles_diff(user, roles, keep=True)
    _apply_roles(user, added=added, removed=removed, actor=actor)


@transaction.atomic
def user_roles_remove(*, user: User, roles: Iterable[Role], actor=None) -> None:
    """Take ``roles`` away from an end user; their next token no longer carries those permissions."""
    added, removed = _roles_diff(user, roles, keep=False)
    _apply_roles(user, added=added, removed=removed, actor=actor)


def _permissions_diff(user: User, scopes: Iterable[Scope], *, keep: bool) -> tuple[list[Scope], list[Scope]]:
    _end_user(user)
    scopes = _distinct(scopes)
    _same_tenant(user.tenant_id, scopes)
    held = set(user.api_permissions.values_list("scope_id", flat=True))
    if keep:
        return [scope for scope in scopes if scope.pk not in held], []
    return [], [scope for scope in scopes if scope.pk in held]


def _apply_permissions(user: User, *, added: list[Scope], removed: list[Scope], actor) -> None:
    user.api_permissions.filter(scope_id__in=[scope.pk for scope in removed]).delete()
    UserPermission.objects.bulk_create(
        [UserPermission(tenant_id=user.tenant_id, user=user, scope=scope) for scope in added]
    )
    _user_permissions_changed(user, added=added, removed=removed, actor=actor)


@transaction.atomic
def user_permissions_add(*, user: User, scopes: Iterable[Scope], actor=None) -> None:
    """Give an end user ``scopes`` directly (not through a role)."""
    added, removed = _permissions_diff(user, scopes, keep=True)
    _apply_permissions(user, added=added, removed=removed, actor=actor)


@transaction.atomic
def user_permissions_remove(*, user: User, scopes: Iterable[Scope], actor=None) -> None:
    """Take directly assigned ``scopes`` away (the same scopes held through a role stay held)."""
    added, removed = _permissions_diff(user, scopes, keep=False)
    _apply_permissions(user, added=added, removed=removed, actor=actor)


@transaction.atomic
def user_access_set(
    *, user: User, roles: Iterable[Role] | None = None, scopes: Iterable[Scope] | None = None, actor=None
) -> None:
    """Make an end user's roles and direct permissions exactly ``roles`` and ``scopes`` (None: unchanged).

    What the admin's user page saves: one audit event per kind that changed.
    """
    _end_user(user)
    if roles is not None:
        roles = _distinct(roles)
        _same_tenant(user.tenant_id, roles)
        held = {row.role_id: row.role for row in user.user_roles.select_related("role")}
        wanted = {role.pk for role in roles}
        _apply_roles(
            user,
            added=[role for role in roles if role.pk not in held],
            removed=[role for pk, role in held.items() if pk not in wanted],
            actor=actor,
        )
    if scopes is not None:
        scopes = _distinct(scopes)
        _same_tenant(user.tenant_id, scopes)
        held_scopes = {row.scope_id: row.scope for row in user.api_permissions.select_related("scope")}
        wanted = {scope.pk for scope in scopes}
        _apply_permissions(
            user,
            added=[scope for scope in scopes if scope.pk not in held_scopes],
            removed=[scope for pk, scope in held_scopes.items() if pk not in wanted],
            actor=actor,
        )
