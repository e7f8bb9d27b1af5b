"""Changes about MFA: the tenant policy, enrolment (associate, confirm), codes, removal and reset.

One-time codes are RFC 6238 TOTP (SHA-1, 30-second steps, 6 digits, what every authenticator
app speaks), accepted one step either side for clock skew (RFC 6238 section 5.2 recommends at
most one) and single use: the step of an accepted code is stored, and that step or an earlier
one is never accepted again. Recovery codes are random, shown once, stored as keyed hashes and
single use. Both are brute-force protected together: ``MFA_MAX_FAILED_ATTEMPTS`` consecutive
wrong codes for a user block further codes (even right ones) for ``MFA_LOCKOUT_SECONDS`` or
until an admin resets the user's MFA. The count is one of ``apps.core.counters`` (Redis with
``REDIS_URL``, the database without it), so every server process shares it; an attempt is
counted *before* it is checked, so concurrent guesses cannot slip past the limit.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

import pyotp
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from apps.accounts.errors import InvalidOtp, InvalidRecoveryCode, MfaTooManyAttempts, SignInRefused
from apps.accounts.mfa.selectors import (
    MFA_POLICY_SETTING,
    MfaPolicy,
    mfa_enrolled,
    mfa_policy,
    totp_barcode_uri,
)
from apps.accounts.models import MfaAuthenticator, MfaRecoveryCode, User
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core.counters import counter_delete, counter_incr, counter_touch
from apps.tenants import crypto
from apps.tenants.models import Tenant
from apps.tenants.services import tenant_setting_replace

# RFC 6238 parameters authenticator apps assume when the otpauth:// URI names none.
TOTP_PERIOD_SECONDS = 30
TOTP_DIGITS = 6
TOTP_ACCEPTED_SKEW_STEPS = 1
# Auth0 gives a user one recovery code at a time; we give ten, each single use.
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 24  # 24 symbols from 32: 120 bits, guessable by no one
RECOVERY_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
RECOVERY_CODE_HASH_SALT = "portcullis.accounts.mfa.recovery_code"

MSG_MFA_DISABLED = "Multi-factor authentication is not enabled for this tenant."
MSG_MFA_REQUIRED_BY_POLICY = "This tenant requires multi-factor authentication: it cannot be removed."
MSG_INVALID_POLICY = "Unknown MFA policy {policy!r}: use one of {choices}."


class MfaUnavailable(Exception):
    """MFA is off for the tenant (policy NEVER): nothing can be enrolled."""

    message = MSG_MFA_DISABLED

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.message
        super().__init__(self.message)


class MfaRemovalRefused(MfaUnavailable):
    """The policy ALWAYS requires a second factor: a user cannot remove theirs."""

    message = MSG_MFA_REQUIRED_BY_POLICY


@dataclass(frozen=True, slots=True)
class Association:
    """What ``/mfa/associate`` answers for an ``otp`` authenticator (the secret exists only here, once)."""

    authenticator_id: int
    id: str
    secret: str = field(repr=False)
    barcode_uri: str = field(repr=False)
    # Only at the user's first enrolment (Auth0): later associations keep the existing codes.
    recovery_codes: list[str] = field(default_factory=list, repr=False)


# --- Tenant policy -----------------------------------------------------------------------------


@transaction.atomic
def tenant_mfa_policy_set(*, tenant: Tenant, policy: str, actor=None) -> Tenant:
    """Set who must prove a second factor in ``tenant`` (``MfaPolicy``).

    Rewrites only this key of ``Tenant.settings``, on the row locked for the update, so a
    concurrent change to another setting is not lost; audited; the config cache is invalidated.
    Raises ``ValidationError`` (code ``invalid_mfa_policy``) for an unknown policy.
    """
    if policy not in MfaPolicy.values:
        raise ValidationError(
            MSG_INVALID_POLICY.format(policy=policy, choices=", ".join(MfaPolicy.values)),
            code="invalid_mfa_policy",
        )
    return tenant_setting_replace(tenant=tenant, key=MFA_POLICY_SETTING, value=str(policy), actor=actor)


# --- Enrolment ---------------------------------------------------------------------------------


@transaction.atomic
def totp_associate(*, tenant: Tenant, user: User) -> Association:
    """Associate a new, UNCONFIRMED TOTP authenticator with ``user`` (Auth0's ``POST /mfa/associate``).

    Replaces any earlier unconfirmed one (an enrolment started and abandoned). The first valid
    code confirms it (``otp_verify``). At the user's first enrolment (no confirmed authenticator
    yet) ten recovery codes are issued and returned, replacing any unseen ones. The secret is
    encrypted at rest and returned only here. Raises ``MfaUnavailable`` when the policy is NEVER.
    """
    if mfa_policy(tenant=tenant) == MfaPolicy.NEVER:
        raise MfaUnavailable()
    _lock_user(user)
    first = not mfa_enrolled(user=user)
    MfaAuthenticator.objects.for_tenant(tenant).filter(user=user, confirmed_at__isnull=True).delete()
    secret = pyotp.random_base32()
    authenticator = MfaAuthenticator.objects.create(
        tenant=tenant,
        user=user,
        type=MfaAuthenticator.Type.OTP,
        secret_encrypted=crypto.encrypt(secret.encode()),
    )
    codes = recovery_codes_issue(tenant=tenant, user=user) if first else []
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.MFA_ASSOCIATED,
        actor=user,
        target=user.username,
        data={"authenticator": authenticator.public_id, "first": first},
    )
    return Association(
        authenticator_id=authenticator.pk,
        id=authenticator.public_id,
        secret=secret,
        barcode_uri=totp_barcode_uri(tenant=tenant, user=user, secret=secret),
        recovery_codes=codes,
    )


def _lock_user(user: User) -> None:
    """Serialise MFA changes of one user (two associations at once would each keep their row)."""
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()


def recovery_code_hash(*, user: User, code: str) -> str:
    """The keyed hash stored for a recovery code (per user: the same code of two users differs)."""
    return salted_hmac(RECOVERY_CODE_HASH_SALT, f"{user.pk}:{code}", algorithm="sha256").hexdigest()


def _new_recovery_code() -> str:
    return "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))


def _normalized_recovery_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper() if isinstance(code, str) else ""


@transaction.atomic
def recovery_codes_issue(*, tenant: Tenant, user: User) -> list[str]:
    """Ten new recovery codes for ``user``, replacing all earlier ones; shown once, stored hashed."""
    MfaRecoveryCode.objects.for_tenant(tenant).filter(user=user).delete()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    MfaRecoveryCode.objects.bulk_create(
        MfaRecoveryCode(tenant=tenant, user=user, code_hash=recovery_code_hash(user=user, code=code))
        for code in codes
    )
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.MFA_RECOVERY_CODES_ISSUED,
        actor=user,
        target=user.username,
        data={"count": len(codes)},
    )
    return codes


# --- Brute-force protection of codes -----------------------------------------------------------


def mfa_attempts_counter_key(*, tenant_id: int, user_id: int) -> str:
    return f"portcullis:mfa_attempts:{tenant_id}:{user_id}"


def _attempt_begin(*, tenant: Tenant, user: User, ip: str | None, factor: str) -> None:
    """Count one attempt before checking it; refuse it when the user is blocked.

    Counting first means at most ``MFA_MAX_FAILED_ATTEMPTS`` codes are ever checked in a window,
    however many requests race. Each counted attempt restarts the window (``touch``); refused
    attempts do not, so a block ends ``MFA_LOCKOUT_SECONDS`` after the last counted failure.
    Unlike sign-in counting, counters that fail are not skipped: the error propagates and the
    request fails, so a code is never checked uncounted.
    """
    key = mfa_attempts_counter_key(tenant_id=tenant.pk, user_id=user.pk)
    count = counter_incr(key=key, ttl_seconds=settings.MFA_LOCKOUT_SECONDS)
    if count > settings.MFA_MAX_FAILED_ATTEMPTS:
        refusal = MfaTooManyAttempts(retry_after=settings.MFA_LOCKOUT_SECONDS)
        _failure_record(tenant=tenant, user=user, ip=ip, factor=factor, refusal=refusal)
        raise refusal
    counter_touch(key=key, ttl_seconds=settings.MFA_LOCKOUT_SECONDS)


def _attempts_clear(*, tenant: Tenant, user: User) -> None:
    counter_delete(key=mfa_attempts_counter_key(tenant_id=tenant.pk, user_id=user.pk))


def _event_data(*, ip: str | None, **extra) -> dict:
    return ({"ip": ip} if ip else {}) | extra


def _failure_record(
    *, tenant: Tenant, user: User, ip: str | None, factor: str, refusal: SignInRefused
) -> None:
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.MFA_FAILED,
        actor=user,
        target=user.username,
        data=_event_data(ip=ip, factor=factor, reason=refusal.code),
    )


def _success_record(*, tenant: Tenant, user: User, ip: str | None, factor: str, **extra) -> None:
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.MFA_SUCCEEDED,
        actor=user,
        target=user.username,
        data=_event_data(ip=ip, factor=factor, **extra),
    )


# --- Verification ------------------------------------------------------------------------------


def _normalized_otp(code: str) -> str:
    value = "".join(code.split()) if isinstance(code, str) else ""
    return value if len(value) == TOTP_DIGITS and value.isascii() and value.isdigit() else ""


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """The RFC 6238 time step (within the accepted skew) whose code is ``code``, or None."""
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD_SECONDS)
    current = int(now // TOTP_PERIOD_SECONDS)
    for step in range(current - TOTP_ACCEPTED_SKEW_STEPS, current + TOTP_ACCEPTED_SKEW_STEPS + 1):
        if constant_time_compare(totp.generate_otp(step), code):
            return step
    return None


@transaction.atomic
def _otp_accept(*, tenant: Tenant, user: User, code: str, now: float) -> MfaAuthenticator | None:
    """The user's authenticator that accepts ``code`` now (its step recorded, confirmed), or None.

    The rows are locked, so two requests with the same code cannot both pass.
    """
    rows = (
        MfaAuthenticator.objects.for_tenant(tenant)
        .select_for_update()
        .filter(user=user, type=MfaAuthenticator.Type.OTP)
        .order_by(F("confirmed_at").asc(nulls_last=True), "pk")
    )
    for authenticator in rows:
        secret = crypto.decrypt(authenticator.secret_encrypted).decode()
        step = _matching_step(secret, code, now)
        if step is None:
            continue
        if authenticator.last_used_step is not None and step <= authenticator.last_used_step:
            return None  # a replay (or an older code than one already used): single use
        authenticator.last_used_step = step
        fields = ["last_used_step"]
        if authenticator.confirmed_at is None:
            authenticator.confirmed_at = timezone.now()
            fields.append("confirmed_at")
            authenticator.newly_confirmed = True
        authenticator.save(update_fields=fields)
        return authenticator
    return None


def otp_verify(*, tenant: Tenant, user: User, code: str, ip: str | None, now: float | None = None) -> None:
    """Check a one-time code of ``user``'s authenticator; the first valid code confirms a new one.

    Raises ``InvalidOtp`` (wrong, replayed, outside the window, no authenticator) or
    ``MfaTooManyAttempts`` (blocked). Audited: success, failure, and enrolment confirmed.
    ``now`` (epoch seconds) is for tests of the time window.
    """
    _attempt_begin(tenant=tenant, user=user, ip=ip, factor=MfaAuthenticator.Type.OTP)
    normalized = _normalized_otp(code)
    authenticator = None
    if normalized:
        authenticator = _otp_accept(tenant=tenant, user=user, code=normalized, now=now or time.time())
    if authenticator is None:
        refusal = InvalidOtp()
        _failure_record(tenant=tenant, user=user, ip=ip, factor=MfaAuthenticator.Type.OTP, refusal=refusal)
        raise refusal
    _attempts_clear(tenant=tenant, user=user)
    if getattr(authenticator, "newly_confirmed", False):
        audit_record(
            tenant=tenant,
            type=AuditEvent.Type.MFA_ENROLLED,
            actor=user,
            target=user.username,
            data=_event_data(ip=ip, authenticator=authenticator.public_id),
        )
    _success_record(
        tenant=tenant,
        user=user,
        ip=ip,
        factor=MfaAuthenticator.Type.OTP,
        authenticator=authenticator.public_id,
    )


def recovery_code_use(*, tenant: Tenant, user: User, code: str, ip: str | None) -> None:
    """Accept one of ``user``'s unused recovery codes, once (Auth0's ``mfa-recovery-code`` grant).

    Only an enrolled user's codes count (codes issued at an association nobody confirmed do
    not). Raises ``InvalidRecoveryCode`` (wrong or used) or ``MfaTooManyAttempts``; audited.
    """
    _attempt_begin(tenant=tenant, user=user, ip=ip, factor="recovery-code")
    normalized = _normalized_recovery_code(code)
    used = False
    if len(normalized) == RECOVERY_CODE_LENGTH and mfa_enrolled(user=user):
        used = (
            MfaRecoveryCode.objects.for_tenant(tenant)
            .filter(user=user, code_hash=recovery_code_hash(user=user, code=normalized), used_at__isnull=True)
            .update(used_at=timezone.now())
            == 1
        )
    if not used:
        refusal = InvalidRecoveryCode()
        _failure_record(tenant=tenant, user=user, ip=ip, factor="recovery-code", refusal=refusal)
        raise refusal
    _attempts_clear(tenant=tenant, user=user)
    remaining = MfaRecoveryCode.objects.for_tenant(tenant).filter(user=user, used_at__isnull=True).count()
    _success_record(
        tenant=tenant, user=user, ip=ip, factor="recovery-code", remaining_recovery_codes=remaining
    )


# --- Removal -----------------------------------------------------------------------------------


def _forget_everything(*, tenant: Tenant, user: User) -> int:
    """Delete the user's authenticators and recovery codes; the number of authenticators deleted."""
    deleted, _ = MfaAuthenticator.objects.for_tenant(tenant).filter(user=user).delete()
    MfaRecoveryCode.objects.for_tenant(tenant).filter(user=user).delete()
    return deleted


@transaction.atomic
def authenticator_delete(*, tenant: Tenant, user: User, authenticator_id: int, actor=None) -> bool:
    """Remove one of ``user``'s authenticators (False when it is not theirs in this tenant).

    When no confirmed authenticator is left, the recovery codes go too, so a later enrolment is
    a first enrolment again (new codes).
    """
    _lock_user(user)
    deleted, _ = MfaAuthenticator.objects.for_tenant(tenant).filter(user=user, pk=authenticator_id).delete()
    if not deleted:
        return False
    if not mfa_enrolled(user=user):
        _forget_everything(tenant=tenant, user=user)
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.MFA_AUTHENTICATOR_DELETED,
        actor=actor,
        target=user.username,
        data={"authenticator": f"{MfaAuthenticator.Type.OTP}|dev_{authenticator_id}"},
    )
    return True


def mfa_remove_by_user(*, tenant: Tenant, user: User, code: str, ip: str | None) -> None:
    """The user turns their MFA off (account page), re-confirming with a current code.

    Refused (``MfaRemovalRefused``) when the policy is ALWAYS; ``otp_verify``'s refusals apply.
    """
    if mfa_policy(tenant=tenant) == MfaPolicy.ALWAYS:
        raise MfaRemovalRefused()
    otp_verify(tenant=tenant, user=user, code=code, ip=ip)
    with transaction.atomic():
        _lock_user(user)
        for authenticator in MfaAuthenticator.objects.for_tenant(tenant).filter(user=user).only("pk"):
            authenticator_delete(tenant=tenant, user=user, authenticator_id=authenticator.pk, actor=user)
        _forget_everything(tenant=tenant, user=user)


@transaction.atomic
def mfa_reset(*, tenant: Tenant, user: User, actor) -> int:
    """An admin removes all of ``user``'s authenticators and recovery codes and lifts a block.

    The user then signs in with the password alone (policy OPTIONAL) or enrols again at their
    next sign-in (ALWAYS). Returns how many authenticators were removed; audited.
    """
    if user.tenant_id != tenant.pk:
        raise ValueError("The user is not an end user of this tenant.")
    _lock_user(user)
    removed = _forget_everything(tenant=tenant, user=user)
    _attempts_clear(tenant=tenant, user=user)
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.MFA_RESET,
        actor=actor,
        target=user.username,
        data={"authenticators_removed": removed},
    )
    return removed
