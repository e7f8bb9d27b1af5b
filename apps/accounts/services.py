"""Creating users (portal admins and tenant end users) and signing end users in."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest

from apps.accounts.errors import WrongCredentials
from apps.accounts.models import User
from apps.accounts.sessions import end_user_login
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core.client_ip import client_ip

# The username as typed goes into the audit trail (never the password), bounded like a username.
AUDITED_USERNAME_MAX_LENGTH = 150


@transaction.atomic
def user_create(
    *,
    tenant=None,
    username: str,
    password: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    is_staff: bool = False,
    actor=None,
) -> User:
    """Create a user; ``tenant=None`` with ``is_staff=True`` makes a portal admin."""
    user = User(
        tenant=tenant,
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=is_staff,
    )
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
    "grants.usergrant": ("delete", "view"),
    "grants.deniedtoken": ("add", "delete", "view"),
    "token_rules.tokenrule": ("add", "change", "delete", "view"),
    "tenants.tenant": ("change", "view"),
    # "change" is what the signing-key admin's rotate and revoke actions require (keys stay read-only).
    "tenants.signingkey": ("change", "view"),
    "audit.auditevent": ("view",),
    "audit.tokenevent": ("view",),
    # "change" on a user is their roles and direct permissions (the user's own fields stay read-only).
    "accounts.user": ("add", "change", "view"),
    "accounts.role": ("add", "change", "delete", "view"),
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


def credentials_check(*, tenant, username: str, password: str, ip: str | None, client_id: str = "") -> User:
    """The tenant's user with this ``username`` and ``password``, or a ``SignInRefused``.

    The one check behind every password sign-in: the login page and the password grant.
    ``TenantAwareModelBackend`` looks only inside ``tenant`` and spends the same hashing work
    on unknown users. A refusal is an audit event (the username as typed is its target, never
    the password; ``client_id`` says which application asked, empty for the login page). A
    success is not recorded here: the caller records the sign-in when it completes.
    """
    if tenant is None:
        # tenant=None would ask the backend for a portal admin: never through end-user pages.
        raise ValueError("End users sign in to a tenant.")
    user = authenticate(None, username=username, password=password, tenant=tenant)
    if user is not None and user.tenant_id != tenant.pk:
        user = None  # the backend guarantees this; a second look costs nothing
    if user is None:
        refusal = WrongCredentials()
        login_failure_record(tenant=tenant, username=username, ip=ip, client_id=client_id, refusal=refusal)
        raise refusal
    return user


def _login_event_data(*, ip: str | None, client_id: str, **extra) -> dict:
    data = {"ip": ip} if ip else {}
    if client_id:
        data["client_id"] = client_id
    return data | extra


def login_failure_record(*, tenant, username: str, ip: str | None, client_id: str, refusal) -> None:
    """An audit event for a refused sign-in, with Auth0's error name as its ``reason``."""
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.USER_LOGIN_FAILED,
        actor=AnonymousUser(),
        target=username[:AUDITED_USERNAME_MAX_LENGTH],
        data=_login_event_data(ip=ip, client_id=client_id, reason=refusal.code),
    )


def login_success_record(*, tenant, user: User, username: str, ip: str | None, client_id: str = "") -> None:
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.USER_LOGIN,
        actor=user,
        target=username[:AUDITED_USERNAME_MAX_LENGTH],
        data=_login_event_data(ip=ip, client_id=client_id),
    )


def end_user_sign_in(*, request: HttpRequest, tenant, username: str, password: str) -> User:
    """Check ``username``/``password`` within ``tenant`` (``credentials_check``) and sign the user in.

    Raises ``SignInRefused`` (show its ``message``: the same for a wrong password, an unknown
    user and a deactivated user).
    """
    ip = client_ip(request)
    user = credentials_check(tenant=tenant, username=username, password=password, ip=ip)
    end_user_login(request, user)
    login_success_record(tenant=tenant, user=user, username=username, ip=ip)
    return user
