"""The MFA services with a real TOTP generator (pyotp): enrolment, single use, skew, lockout, recovery codes."""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.accounts.errors import (
    INVALID_OTP_MESSAGE,
    INVALID_RECOVERY_CODE_MESSAGE,
    MFA_TOO_MANY_ATTEMPTS_MESSAGE,
    InvalidOtp,
    InvalidRecoveryCode,
    MfaTooManyAttempts,
)
from apps.accounts.mfa.selectors import MfaPolicy, mfa_enrolled, mfa_needed, mfa_policy
from apps.accounts.mfa.services import (
    RECOVERY_CODE_COUNT,
    MfaRemovalRefused,
    MfaUnavailable,
    authenticator_delete,
    mfa_attempts_counter_key,
    mfa_remove_by_user,
    mfa_reset,
    otp_verify,
    recovery_code_hash,
    recovery_code_use,
    tenant_mfa_policy_set,
    totp_associate,
)
from apps.accounts.models import MfaAuthenticator, MfaRecoveryCode
from apps.audit.models import AuditEvent
from apps.core.models import Counter
from apps.tenants import crypto
from tests.accounts.mfa.conftest import enrol
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_association_is_unconfirmed_until_the_first_valid_code(tenant, end_user):
    # when
    association = totp_associate(tenant=tenant, user=end_user)

    # then an unconfirmed authenticator, its secret encrypted at rest, and ten recovery codes
    row = MfaAuthenticator.objects.get(pk=association.authenticator_id)
    assert row.confirmed_at is None
    assert association.secret not in row.secret_encrypted
    assert crypto.decrypt(row.secret_encrypted).decode() == association.secret
    assert association.barcode_uri.startswith("otpauth://totp/MFA%20Company:mia%40mfa.example?")
    assert f"secret={association.secret}" in association.barcode_uri
    assert "issuer=MFA%20Company" in association.barcode_uri
    assert len(association.recovery_codes) == RECOVERY_CODE_COUNT
    assert not mfa_enrolled(user=end_user)

    # when the user types the code their app shows
    otp_verify(tenant=tenant, user=end_user, code=pyotp.TOTP(association.secret).now(), ip="192.0.2.1")

    # then
    row.refresh_from_db()
    assert row.confirmed_at is not None
    assert mfa_enrolled(user=end_user)
    types = list(AuditEvent.objects.filter(tenant=tenant).values_list("type", flat=True))
    assert AuditEvent.Type.MFA_ENROLLED in types
    assert AuditEvent.Type.MFA_SUCCEEDED in types


def test_a_new_association_replaces_an_unconfirmed_one_and_recovery_codes_come_only_first(tenant, end_user):
    # given an abandoned association
    first = totp_associate(tenant=tenant, user=end_user)

    # when the user starts again, confirms, and later adds another authenticator
    second = totp_associate(tenant=tenant, user=end_user)
    otp_verify(tenant=tenant, user=end_user, code=pyotp.TOTP(second.secret).now(), ip=None)
    third = totp_associate(tenant=tenant, user=end_user)

    # then
    assert not MfaAuthenticator.objects.filter(pk=first.authenticator_id).exists()
    assert second.recovery_codes and second.recovery_codes != first.recovery_codes
    assert third.recovery_codes == []
    assert MfaRecoveryCode.objects.filter(user=end_user).count() == RECOVERY_CODE_COUNT


def test_a_code_is_single_use(enrolled, tenant):
    # given a code accepted once
    code = enrolled.totp.now()
    otp_verify(tenant=tenant, user=enrolled.user, code=code, ip=None)

    # when it is replayed within its window
    with pytest.raises(InvalidOtp) as refused:
        otp_verify(tenant=tenant, user=enrolled.user, code=code, ip=None)

    # then
    assert refused.value.message == INVALID_OTP_MESSAGE
    assert refused.value.code == "invalid_grant"
    assert refused.value.status == 403


def test_an_older_code_is_refused_after_a_newer_one(enrolled, tenant):
    # given the code of the current step was used
    now = time.time()
    otp_verify(tenant=tenant, user=enrolled.user, code=enrolled.totp.at(now), ip=None, now=now)

    # when the previous step's code (still inside the skew window) comes next
    with pytest.raises(InvalidOtp):
        otp_verify(tenant=tenant, user=enrolled.user, code=enrolled.totp.at(now - 30), ip=None, now=now)


@pytest.mark.parametrize(("offset", "accepted"), [(-30, True), (30, True), (-60, False), (60, False)])
def test_one_step_of_clock_skew_is_accepted(enrolled, tenant, offset, accepted):
    # given a phone whose clock is ``offset`` seconds off
    now = time.time()
    code = enrolled.totp.at(now + offset)
    if accepted:
        otp_verify(tenant=tenant, user=enrolled.user, code=code, ip=None, now=now)
    else:
        with pytest.raises(InvalidOtp):
            otp_verify(tenant=tenant, user=enrolled.user, code=code, ip=None, now=now)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", None])
def test_malformed_codes_are_refused(enrolled, tenant, code):
    with pytest.raises(InvalidOtp):
        otp_verify(tenant=tenant, user=enrolled.user, code=code, ip=None)


def test_a_user_without_authenticator_is_refused(tenant, end_user):
    with pytest.raises(InvalidOtp):
        otp_verify(tenant=tenant, user=end_user, code="123456", ip=None)


def _wrong(code: str) -> str:
    return f"{(int(code) + 500_000) % 1_000_000:06d}"


def test_ten_wrong_codes_block_even_the_right_one_until_an_admin_resets(enrolled, tenant, settings):
    # given ten consecutive wrong codes
    settings.MFA_MAX_FAILED_ATTEMPTS = 10
    for _ in range(10):
        with pytest.raises(InvalidOtp):
            otp_verify(tenant=tenant, user=enrolled.user, code=_wrong(enrolled.totp.now()), ip="192.0.2.9")

    # when the right code comes
    with pytest.raises(MfaTooManyAttempts) as refused:
        otp_verify(tenant=tenant, user=enrolled.user, code=enrolled.totp.now(), ip="192.0.2.9")

    # then refused with Auth0's error name, counted in the audit trail
    assert refused.value.code == "too_many_attempts"
    assert refused.value.status == 429
    assert refused.value.message == MFA_TOO_MANY_ATTEMPTS_MESSAGE
    assert refused.value.retry_after == settings.MFA_LOCKOUT_SECONDS
    failures = AuditEvent.objects.filter(tenant=tenant, type=AuditEvent.Type.MFA_FAILED)
    assert failures.count() == 11
    assert failures.filter(data__reason="too_many_attempts").count() == 1
    # and recovery codes are blocked too (one counter for the second factor)
    with pytest.raises(MfaTooManyAttempts):
        recovery_code_use(
            tenant=tenant, user=enrolled.user, code=enrolled.association.recovery_codes[0], ip=None
        )

    # when an admin resets the user's MFA, they may enrol again
    mfa_reset(tenant=tenant, user=enrolled.user, actor=None)
    again = totp_associate(tenant=tenant, user=enrolled.user)
    otp_verify(tenant=tenant, user=enrolled.user, code=pyotp.TOTP(again.secret).now(), ip=None)


def test_a_success_resets_the_count(enrolled, tenant, settings):
    # given nine wrong codes, then a right one
    settings.MFA_MAX_FAILED_ATTEMPTS = 10
    for _ in range(9):
        with pytest.raises(InvalidOtp):
            otp_verify(tenant=tenant, user=enrolled.user, code=_wrong(enrolled.totp.now()), ip=None)
    otp_verify(tenant=tenant, user=enrolled.user, code=enrolled.totp.now(), ip=None)

    # when nine more wrong codes come, the tenth attempt is still checked
    for _ in range(9):
        with pytest.raises(InvalidOtp):
            otp_verify(tenant=tenant, user=enrolled.user, code="000000", ip=None)
    with pytest.raises(InvalidOtp):
        otp_verify(tenant=tenant, user=enrolled.user, code="000000", ip=None)
    with pytest.raises(MfaTooManyAttempts):
        otp_verify(tenant=tenant, user=enrolled.user, code="000000", ip=None)


def test_the_block_ends_the_lockout_after_the_last_counted_failure(
    enrolled, tenant, settings, database_counters
):
    # given a lockout of 600 s after two wrong codes, counted in the database
    settings.MFA_MAX_FAILED_ATTEMPTS, settings.MFA_LOCKOUT_SECONDS = 2, 600
    counter = Counter.objects.filter(
        key=mfa_attempts_counter_key(tenant_id=tenant.pk, user_id=enrolled.user.pk)
    )

    def seconds_left() -> float:
        return (counter.get().expires_at - timezone.now()).total_seconds()

    with pytest.raises(InvalidOtp):
        otp_verify(tenant=tenant, user=enrolled.user, code="000000", ip=None)
    # when the second wrong code comes 590 s later, then it restarts the lockout
    counter.update(expires_at=timezone.now() + timedelta(seconds=10))
    with pytest.raises(InvalidOtp):
        otp_verify(tenant=tenant, user=enrolled.user, code="000000", ip=None)
    assert 590 < seconds_left() <= 600
    # when the user is refused 500 s later, then the refusal does not extend the lockout
    counter.update(expires_at=timezone.now() + timedelta(seconds=100))
    with pytest.raises(MfaTooManyAttempts):
        otp_verify(tenant=tenant, user=enrolled.user, code=enrolled.totp.now(), ip=None)
    assert 0 < seconds_left() <= 100
    # when the lockout has passed, then the right code is accepted
    counter.update(expires_at=timezone.now() - timedelta(seconds=1))
    otp_verify(tenant=tenant, user=enrolled.user, code=enrolled.totp.now(), ip=None)
    assert not counter.exists()  # a success forgets the count


def test_the_block_is_per_user_and_tenant(enrolled, tenant, settings):
    # given a blocked user
    settings.MFA_MAX_FAILED_ATTEMPTS = 2
    for _ in range(3):
        with pytest.raises((InvalidOtp, MfaTooManyAttempts)):
            otp_verify(tenant=tenant, user=enrolled.user, code="000000", ip=None)

    # when another user of the tenant signs in with their code, it works
    other = enrol(tenant=tenant, user=UserFactory(tenant=tenant))
    otp_verify(tenant=tenant, user=other.user, code=other.totp.now(), ip=None)


def test_recovery_codes_are_hashed_at_rest_and_single_use(enrolled, tenant):
    # given
    code = enrolled.association.recovery_codes[3]
    stored = set(MfaRecoveryCode.objects.filter(user=enrolled.user).values_list("code_hash", flat=True))
    assert code not in str(stored)
    assert recovery_code_hash(user=enrolled.user, code=code) in stored

    # when used once (typed in lower case with spaces), then again
    recovery_code_use(tenant=tenant, user=enrolled.user, code=f" {code[:12].lower()} {code[12:]} ", ip=None)
    with pytest.raises(InvalidRecoveryCode) as refused:
        recovery_code_use(tenant=tenant, user=enrolled.user, code=code, ip=None)

    # then
    assert refused.value.message == INVALID_RECOVERY_CODE_MESSAGE
    assert refused.value.code == "invalid_grant"
    assert MfaRecoveryCode.objects.filter(user=enrolled.user, used_at__isnull=False).count() == 1
    # and the others still work
    recovery_code_use(tenant=tenant, user=enrolled.user, code=enrolled.association.recovery_codes[4], ip=None)


def test_recovery_codes_of_an_unconfirmed_enrolment_do_not_count(tenant, end_user):
    association = totp_associate(tenant=tenant, user=end_user)
    with pytest.raises(InvalidRecoveryCode):
        recovery_code_use(tenant=tenant, user=end_user, code=association.recovery_codes[0], ip=None)


def test_another_users_recovery_code_is_refused(enrolled, tenant):
    other = enrol(tenant=tenant, user=UserFactory(tenant=tenant))
    with pytest.raises(InvalidRecoveryCode):
        recovery_code_use(
            tenant=tenant, user=other.user, code=enrolled.association.recovery_codes[0], ip=None
        )


def test_policy_decides_who_needs_a_second_factor(tenant, end_user, enrolled):
    # given one enrolled user (enrolled.user) and one without authenticator
    plain = UserFactory(tenant=tenant)

    # then, by policy
    assert mfa_policy(tenant=tenant) == MfaPolicy.OPTIONAL
    assert mfa_needed(tenant=tenant, user=enrolled.user) is True
    assert mfa_needed(tenant=tenant, user=plain) is False
    tenant_mfa_policy_set(tenant=tenant, policy=MfaPolicy.ALWAYS, actor=None)
    assert mfa_needed(tenant=tenant, user=plain) is True
    tenant_mfa_policy_set(tenant=tenant, policy=MfaPolicy.NEVER, actor=None)
    assert mfa_needed(tenant=tenant, user=enrolled.user) is False
    with pytest.raises(MfaUnavailable):
        totp_associate(tenant=tenant, user=plain)
    event = AuditEvent.objects.filter(tenant=tenant, type=AuditEvent.Type.TENANT_UPDATED).first()
    assert event.data == {"changed": ["settings.mfa_policy"], "mfa_policy": "never"}


def test_an_unknown_policy_is_refused_with_a_code(tenant):
    with pytest.raises(ValidationError) as refused:
        tenant_mfa_policy_set(tenant=tenant, policy="sometimes", actor=None)
    assert refused.value.code == "invalid_mfa_policy"


def test_a_hand_edited_policy_means_the_default(tenant):
    tenant.settings = {"mfa_policy": "ALWAYS!"}
    assert mfa_policy(tenant=tenant) == MfaPolicy.OPTIONAL


def test_the_user_removes_mfa_with_a_current_code_unless_policy_requires_it(enrolled, tenant):
    # when the code is wrong, nothing is removed
    with pytest.raises(InvalidOtp):
        mfa_remove_by_user(tenant=tenant, user=enrolled.user, code="000000", ip=None)
    assert mfa_enrolled(user=enrolled.user)

    # when the policy is ALWAYS, removal is refused
    tenant_mfa_policy_set(tenant=tenant, policy=MfaPolicy.ALWAYS, actor=None)
    with pytest.raises(MfaRemovalRefused):
        mfa_remove_by_user(tenant=tenant, user=enrolled.user, code=enrolled.totp.now(), ip=None)

    # when allowed and the code is right, authenticators and recovery codes are gone
    tenant_mfa_policy_set(tenant=tenant, policy=MfaPolicy.OPTIONAL, actor=None)
    mfa_remove_by_user(tenant=tenant, user=enrolled.user, code=enrolled.totp.now(), ip=None)
    assert not MfaAuthenticator.objects.filter(user=enrolled.user).exists()
    assert not MfaRecoveryCode.objects.filter(user=enrolled.user).exists()


def test_authenticator_delete_is_scoped_to_the_user_and_tenant(enrolled, tenant):
    # given another tenant's user with an authenticator
    other_tenant = TenantFactory()
    other = enrol(tenant=other_tenant, user=UserFactory(tenant=other_tenant))

    # when deleting it as if it were this user's, or through this tenant
    assert not authenticator_delete(
        tenant=tenant, user=enrolled.user, authenticator_id=other.association.authenticator_id
    )
    assert not authenticator_delete(
        tenant=tenant, user=other.user, authenticator_id=other.association.authenticator_id
    )

    # then it is still there; the user's own can be deleted, taking the recovery codes along
    assert MfaAuthenticator.objects.filter(pk=other.association.authenticator_id).exists()
    assert authenticator_delete(
        tenant=tenant, user=enrolled.user, authenticator_id=enrolled.association.authenticator_id
    )
    assert not MfaRecoveryCode.objects.filter(user=enrolled.user).exists()


def test_mfa_reset_is_audited(enrolled, tenant):
    removed = mfa_reset(tenant=tenant, user=enrolled.user, actor=None)
    assert removed == 1
    assert not mfa_enrolled(user=enrolled.user)
    event = AuditEvent.objects.get(tenant=tenant, type=AuditEvent.Type.MFA_RESET)
    assert event.data == {"authenticators_removed": 1}
