"""Reads of roles and permissions. No cache: a change of role shows in the very next token."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from apps.accounts.models import RolePermission, UserPermission
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
