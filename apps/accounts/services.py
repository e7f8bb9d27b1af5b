"""Creating users: portal admins and tenant end users."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record


@transaction.atomic
def user_create(
    *, tenant=None, username: str, password: str, email: str = "", is_staff: bool = False, actor=None
) -> User:
    """Create a user; ``tenant=None`` with ``is_staff=True`` makes a portal admin."""
    user = User(tenant=tenant, username=username, email=email, is_staff=is_staff)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(tenant=tenant, type=AuditEvent.Type.USER_CREATED, actor=actor, target=username)
    return user


TENANT_ADMIN_GROUP = "Tenant admins"
# What a portal admin may do, always within the tenants they are a member of
# (apps.dashboard.admin scopes every admin queryset by membership).
TENANT_ADMIN_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "apis.api": ("add", "change", "delete", "view"),
    "apis.scope": ("add", "change", "delete", "view"),
    "applications.application": ("add", "change", "delete", "view"),
    "grants.clientgrant": ("add", "change", "delete", "view"),
    "tenants.tenant": ("change", "view"),
    "tenants.signingkey": ("view",),
    "audit.auditevent": ("view",),
    "audit.tokenevent": ("view",),
    "accounts.user": ("add", "view"),
}


def tenant_admin_group():
    """The group that carries portal admins' model permissions, kept in step with the list above."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=TENANT_ADMIN_GROUP)
    wanted = Q()
    for model_label, actions in TENANT_ADMIN_PERMISSIONS.items():
        app_label, model = model_label.split(".")
        wanted |= Q(
            content_type__app_label=app_label, codename__in=[f"{action}_{model}" for action in actions]
        )
    group.permissions.set(Permission.objects.filter(wanted))
    return group


@transaction.atomic
def portal_admin_create(*, username: str, password: str, tenants=(), email: str = "", actor=None) -> User:
    """A staff user who manages ``tenants`` (and only those) in the admin."""
    from apps.tenants.services import membership_add

    user = user_create(username=username, password=password, email=email, is_staff=True, actor=actor)
    user.groups.add(tenant_admin_group())
    for tenant in tenants:
        membership_add(tenant=tenant, user=user)
    return user
