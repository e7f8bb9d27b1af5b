"""Creating users (portal admins and tenant end users) and signing end users in."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import authenticate
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from apps.accounts.errors import AccountBlocked, IpThrottled, WrongCredentials
from apps.accounts.mfa.login import mfa_login_begin
from apps.accounts.mfa.selectors import mfa_needed
from apps.accounts.models import LoginBlock, User
from apps.accounts.protection import (
    brute_force_failure_count,
    brute_force_failures_reset,
    login_identifier,
    suspicious_ip_check,
    suspicious_ip_failure_count,
)
from apps.accounts.selectors import login_block_holds
from apps.accounts.sessions import end_user_login
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core.client_ip import client_ip, ip_in_networks, ip_parse
from apps.core.services import assign_changes
from apps.tenants.selectors import tenant_attack_protection

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
    if tenant is not None:
        # Blocks of this username made before the account existed must not bite its owner.
        _login_blocks_lift(user=user, actor=actor, reason="user_created")
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
    # "delete" is what resetting a user's MFA on the user admin requires (no admin of its own).
    "accounts.mfaauthenticator": ("view", "delete"),
    # "change" on an end user: their password, roles and direct permissions (their own fields stay read-only).
    "accounts.user": ("add", "change", "view"),
    # "delete" is what the "Unblock" action requires: lifting a block deletes it.
    "accounts.loginblock": ("delete", "view"),
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

    The one check behind every password sign-in: the login page and the password grant, so
    attack protection lives here (Auth0's "Brute-force protection" and "Suspicious IP
    throttling", settings in ``tenants.selectors.tenant_attack_protection``), in this order:

    1. suspicious-IP throttling: an IP with ``max_attempts`` failures (across usernames) in the
       current window is refused with ``IpThrottled`` (429, ``retry_after`` = end of the window)
       before any password is looked at;
    2. brute-force protection: a username blocked for this IP (``LoginBlock``, one indexed
       query) is refused with ``AccountBlocked`` (``too_many_attempts``, 429) without checking
       the password, so the right password is refused too and no hash is spent;
    3. the password: ``TenantAwareModelBackend`` looks only inside ``tenant`` and spends the
       same hashing work on unknown users. A failure counts against the username+IP (the
       ``max_attempts``-th consecutive one blocks it) and against the IP; a success resets the
       username+IP count (not the IP's: knowing one password must not buy more guesses).

    Nothing depends on whether the username exists: unknown usernames are counted and blocked
    alike, and the refusals, their statuses and the work done are the same. An IP in a
    protection's allowlist is exempt from it. ``ip`` None (the server could not tell) is one
    shared IP. Each refusal is an audit event (``user.login_failed`` with Auth0's error name as
    ``reason``; the username as typed is its target, never the password; ``client_id`` says
    which application asked, empty for the login page). A success is not recorded here: the
    caller records the sign-in when it completes.
    """
    if tenant is None:
        # tenant=None would ask the backend for a portal admin: never through end-user pages.
        raise ValueError("End users sign in to a tenant.")
    address = ip_parse(ip)
    ip = str(address) if address is not None else None  # canonical, as blocks and counters key it
    protection = tenant_attack_protection(tenant=tenant)
    throttling, brute_force = protection.suspicious_ip, protection.brute_force
    throttled = throttling.enabled and not ip_in_networks(ip, throttling.allowlist)
    guarded = brute_force.enabled and not ip_in_networks(ip, brute_force.allowlist)
    identifier = login_identifier(username)
    failure = {"tenant": tenant, "username": username, "ip": ip, "client_id": client_id}

    if throttled:
        check = suspicious_ip_check(tenant_id=tenant.pk, ip=ip, policy=throttling)
        if not check.allowed:
            refusal = IpThrottled(retry_after=check.retry_after)
            login_failure_record(**failure, refusal=refusal)
            raise refusal
    if guarded and login_block_holds(tenant=tenant, identifier=identifier, ip=ip):
        refusal = AccountBlocked()
        _ip_failure_count(tenant=tenant, ip=ip, policy=throttling, counted=throttled)
        login_failure_record(**failure, refusal=refusal)
        raise refusal

    user = authenticate(None, username=username, password=password, tenant=tenant)
    if user is not None and user.tenant_id != tenant.pk:
        user = None  # the backend guarantees this; a second look costs nothing
    if user is None:
        if guarded:
            failures = brute_force_failure_count(
                tenant_id=tenant.pk,
                identifier=identifier,
                ip=ip,
                ttl_seconds=brute_force.block_duration_seconds,
            )
            if failures >= brute_force.max_attempts:
                _login_block_create(
                    tenant=tenant,
                    username=username,
                    identifier=identifier,
                    ip=ip,
                    failures=failures,
                    duration_seconds=brute_force.block_duration_seconds,
                    client_id=client_id,
                )
        _ip_failure_count(tenant=tenant, ip=ip, policy=throttling, counted=throttled)
        refusal = WrongCredentials()
        login_failure_record(**failure, refusal=refusal)
        raise refusal
    if guarded:
        brute_force_failures_reset(tenant_id=tenant.pk, identifier=identifier, ip=ip)
    return user


def _ip_failure_count(*, tenant, ip: str | None, policy, counted: bool) -> None:
    """Count a failure against the IP; the failure that reaches the limit is an audit event."""
    if not counted:
        return
    if suspicious_ip_failure_count(tenant_id=tenant.pk, ip=ip, policy=policy) == policy.max_attempts:
        audit_record(
            tenant=tenant,
            type=AuditEvent.Type.IP_THROTTLED,
            actor=AnonymousUser(),
            target=ip or "unknown IP",
            data={"ip": ip, "failures": policy.max_attempts, "window_seconds": policy.window_seconds},
        )


def _login_block_create(
    *,
    tenant,
    username: str,
    identifier: str,
    ip: str | None,
    failures: int,
    duration_seconds: int,
    client_id: str,
) -> LoginBlock:
    """Block ``identifier`` for ``ip`` (a lapsed block of the same pair is renewed) and reset its count.

    The account lookup runs whether or not one exists (the same query either way), only to link
    the block to the user for the admin and for ``user_password_set``.
    """
    now = timezone.now()
    user = User.objects.filter(tenant=tenant, username__iexact=username).first()
    values = {"user": user, "blocked_at": now, "expires_at": now + timedelta(seconds=duration_seconds)}
    # Atomic, and safe against a concurrent block of the same pair (it retries the lookup).
    block, _ = LoginBlock.objects.update_or_create(tenant=tenant, username=identifier, ip=ip, defaults=values)
    brute_force_failures_reset(tenant_id=tenant.pk, identifier=identifier, ip=ip)
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.USER_BLOCKED,
        actor=AnonymousUser(),
        target=username[:AUDITED_USERNAME_MAX_LENGTH],
        data=_login_event_data(
            ip=ip, client_id=client_id, failures=failures, expires_at=block.expires_at.isoformat()
        ),
    )
    return block


@transaction.atomic
def login_block_remove(*, block: LoginBlock, actor=None, reason: str = "admin") -> None:
    """Lift a brute-force block before it expires (an admin's "Unblock"); an audit event says who."""
    block.delete()
    audit_record(
        tenant=block.tenant,
        type=AuditEvent.Type.USER_UNBLOCKED,
        actor=actor,
        target=block.username[:AUDITED_USERNAME_MAX_LENGTH],
        data={"ip": block.ip, "reason": reason},
    )


def _login_blocks_lift(*, user: User, actor, reason: str) -> int:
    """Lift every block of ``user``: linked to it, or of its username (made before it existed)."""
    blocks = LoginBlock.objects.for_tenant(user.tenant_id).filter(
        Q(user=user) | Q(username=login_identifier(user.username))
    )
    lifted = 0
    for block in blocks.select_related("tenant"):
        login_block_remove(block=block, actor=actor, reason=reason)
        lifted += 1
    return lifted


@transaction.atomic
def user_password_set(*, user: User, password: str, actor=None) -> User:
    """Give ``user`` a new password (validated by the caller's form) and lift their sign-in blocks.

    Auth0: a brute-force block lapses when the user's password is changed. Sessions are not
    touched here (Django's session auth hash changes with the password, which ends the user's
    other sessions at their next request).
    """
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        tenant=user.tenant, type=AuditEvent.Type.USER_PASSWORD_CHANGED, actor=actor, target=user.username
    )
    if user.tenant_id is not None:
        _login_blocks_lift(user=user, actor=actor, reason="password_changed")
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


def end_user_sign_in(*, request: HttpRequest, tenant, username: str, password: str) -> User | None:
    """Check ``username``/``password`` within ``tenant`` (``credentials_check``) and sign the user in.

    Returns None, without signing in, when the user owes a second factor (``mfa_needed``): the
    session then holds the pending second step (``apps.accounts.mfa.login``) and the caller
    sends the browser to ``login/mfa``. Raises ``SignInRefused`` (show its ``message``: the same
    for a wrong password, an unknown user and a deactivated user).
    """
    ip = client_ip(request)
    user = credentials_check(tenant=tenant, username=username, password=password, ip=ip)
    if mfa_needed(tenant=tenant, user=user):
        mfa_login_begin(request, user=user, username=username)
        return None
    end_user_login(request, user)
    login_success_record(tenant=tenant, user=user, username=username, ip=ip)
    return user


# --- Changing and removing end users (the Management API's ``users`` endpoints, the admin) --------
# Refusal codes (``ValidationError.code``) and their messages; tests assert both.
USER_EXISTS = "user_exists"
MSG_USER_EXISTS = "The user already exists."
NOT_AN_END_USER = "not_an_end_user"
MSG_NOT_AN_END_USER = "Only a tenant's end users can be changed here."
USER_MUTABLE_FIELDS = frozenset({"username", "email", "first_name", "last_name"})


def _end_user_only(user: User) -> None:
    if user.tenant_id is None:
        raise ValidationError(MSG_NOT_AN_END_USER, code=NOT_AN_END_USER)


def user_identifiers_check(*, tenant, username: str, email: str, exclude_pk: int | None = None) -> None:
    """Refuse (``code=USER_EXISTS``) a username or email another user of ``tenant`` already has.

    Usernames are unique per tenant by a constraint; emails are unique here too, as in an Auth0
    database connection, because a user created with an email alone signs in with it as username.
    Both compare case-insensitively.
    """
    others = User.objects.filter(tenant=tenant).exclude(pk=exclude_pk)
    if others.filter(
        Q(username__iexact=username) | (Q(email__iexact=email) if email else Q(pk__in=[]))
    ).exists():
        raise ValidationError(MSG_USER_EXISTS, code=USER_EXISTS)


@transaction.atomic
def end_user_create(
    *,
    tenant,
    email: str,
    password: str,
    username: str = "",
    first_name: str = "",
    last_name: str = "",
    blocked: bool = False,
    actor=None,
) -> User:
    """Create an end user in the tenant's database connection (Auth0's ``POST /api/v2/users``).

    Without ``username`` the email is the username (what the user types to sign in). A taken
    username or email is refused with ``code=USER_EXISTS``; ``blocked`` creates the account
    blocked (``user_block_set``). The password is validated by the caller (its form or API).
    """
    username = username or email
    user_identifiers_check(tenant=tenant, username=username, email=email)
    user = user_create(
        tenant=tenant,
        username=username,
        password=password,
        email=email,
        first_name=first_name,
        last_name=last_name,
        actor=actor,
    )
    if blocked:
        user_block_set(user=user, blocked=True, actor=actor)
    return user


@transaction.atomic
def user_update(*, user: User, actor=None, **changes) -> User:
    """Change an end user's profile (``changes``: username, email, first_name, last_name).

    A username or email another user of the tenant has is refused (``code=USER_EXISTS``); one
    audit event names the fields that changed (nothing is recorded when nothing changes). The
    password and the blocked state have their own services (``user_password_set``,
    ``user_block_set``): they have consequences of their own.
    """
    _end_user_only(user)
    changed = {field: value for field, value in changes.items() if getattr(user, field, object()) != value}
    assign_changes(user, changed, allowed=USER_MUTABLE_FIELDS, what="a user")
    if not changed:
        return user
    user_identifiers_check(tenant=user.tenant, username=user.username, email=user.email, exclude_pk=user.pk)
    user.full_clean(exclude=["password"])
    user.save(update_fields=[*changed, "updated_at"])
    audit_record(
        tenant=user.tenant,
        type=AuditEvent.Type.USER_UPDATED,
        actor=actor,
        target=user.username,
        data={"user": user.pk, "changed": sorted(changed)},
    )
    return user


@transaction.atomic
def user_block_set(*, user: User, blocked: bool, actor=None) -> User:
    """Block or unblock an end user (Auth0's ``blocked``: "blocked by an administrator").

    A blocked user is an inactive one (``is_active=False``): every sign-in is refused with the
    same answer as a wrong password (the login page, the password grant), their sessions end at
    the next request, their refresh tokens are refused and introspection reports their tokens
    inactive. Access tokens already issued stay valid at resource servers until they expire, as
    at Auth0. Distinct from brute-force blocks (``LoginBlock``, Auth0's ``user-blocks``).
    """
    _end_user_only(user)
    if user.is_active != blocked:
        return user
    user.is_active = not blocked
    user.save(update_fields=["is_active", "updated_at"])
    audit_record(
        tenant=user.tenant,
        type=AuditEvent.Type.USER_ACCOUNT_BLOCKED if blocked else AuditEvent.Type.USER_ACCOUNT_UNBLOCKED,
        actor=actor,
        target=user.username,
        data={"user": user.pk},
    )
    return user


@transaction.atomic
def user_delete(*, user: User, actor=None) -> None:
    """Delete an end user with everything that is theirs (grants, tokens, roles, authenticators).

    Their unexpired access tokens are deny-listed first: resource servers verify JWTs without
    asking us, so deleting the rows alone would leave those tokens usable until they expire.
    """
    from oauth2_provider.models import get_access_token_model

    from apps.grants.services import access_tokens_deny

    _end_user_only(user)
    access_tokens_deny(
        access_tokens=get_access_token_model().objects.filter(user=user), reason="user deleted"
    )
    audit_record(
        tenant=user.tenant,
        type=AuditEvent.Type.USER_DELETED,
        actor=actor,
        target=user.username,
        data={"user": user.pk, "email": user.email},
    )
    user.delete()


def user_login_blocks_lift(*, user: User, actor=None) -> int:
    """Lift every brute-force block of ``user`` (Auth0's ``DELETE /api/v2/user-blocks/{id}``)."""
    _end_user_only(user)
    with transaction.atomic():
        return _login_blocks_lift(user=user, actor=actor, reason="admin")


@transaction.atomic
def end_user_change(
    *,
    user: User,
    changes: dict,
    password: str | None = None,
    blocked: bool | None = None,
    actor=None,
) -> User:
    """One edit of an end user, all or nothing (Auth0's ``PATCH /api/v2/users/{id}``): profile
    ``changes`` (``user_update``), a new ``password`` (``user_password_set``: lifts their sign-in
    blocks) and the ``blocked`` state (``user_block_set``); None leaves that part alone."""
    _end_user_only(user)
    user_update(user=user, actor=actor, **changes)
    if password is not None:
        user_password_set(user=user, password=password, actor=actor)
    if blocked is not None:
        user_block_set(user=user, blocked=blocked, actor=actor)
    return user
