"""Brute-force protection and suspicious-IP throttling inside ``credentials_check`` (Auth0's semantics)."""

from __future__ import annotations

import re
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts import backends
from apps.accounts.errors import (
    ACCOUNT_BLOCKED_MESSAGE,
    IP_THROTTLED_MESSAGE,
    AccountBlocked,
    IpThrottled,
    SignInRefused,
    WrongCredentials,
)
from apps.accounts.models import LoginBlock
from apps.accounts.services import credentials_check, login_block_remove, user_create, user_password_set
from apps.audit.models import AuditEvent
from apps.core import ratelimit
from apps.tenants.services import tenant_brute_force_protection_set, tenant_suspicious_ip_throttling_set
from tests.factories import UserFactory

IP = "203.0.113.7"
OTHER_IP = "198.51.100.20"
WRONG = "not the password"


@pytest.fixture(autouse=True)
def _fresh_counters(settings, database_counters):
    """Empty counters (in the database, as without ``REDIS_URL``: rolled back after each test; and an
    empty cache), and a fast hasher: these tests are about counting, not about Argon2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def protected(tenant):
    """``tenant`` with a brute-force threshold of 3 (and the default IP throttle, out of reach here)."""
    tenant_brute_force_protection_set(
        tenant=tenant, enabled=True, max_attempts=3, block_duration_seconds=3600
    )
    return tenant


@pytest.fixture
def throttled(protected):
    """``protected``, with a throttle of 5 failures per IP per hour."""
    tenant_suspicious_ip_throttling_set(tenant=protected, enabled=True, max_attempts=5, window_seconds=3600)
    return protected


def attempt(tenant, username: str, password: str, ip: str | None = IP) -> SignInRefused | None:
    """Sign in through ``credentials_check``; the refusal, or None for a success."""
    try:
        credentials_check(tenant=tenant, username=username, password=password, ip=ip)
    except SignInRefused as refusal:
        return refusal
    return None


def statement(sql: str) -> str:
    """What a query does, without its values (savepoint names, literals)."""
    return re.sub(r'"s\d+_x\d+"', "", sql.split(" WHERE ")[0].split(" VALUES ")[0])


def fail(tenant, username: str, times: int, ip: str | None = IP) -> list[str]:
    return [type(attempt(tenant, username, WRONG, ip)).__name__ for _ in range(times)]


# --- brute-force protection ---------------------------------------------------------------------


def test_the_defaults_are_auth0s(tenant, end_user):
    # given a tenant that never changed its settings (Auth0: 10 attempts)
    # when 10 wrong passwords are tried from one IP
    refusals = fail(tenant, end_user.username, 10)
    # then all ten are wrong credentials, and the 11th attempt, with the right password, is blocked
    assert refusals == ["WrongCredentials"] * 10
    assert isinstance(attempt(tenant, end_user.username, end_user.plaintext_password), AccountBlocked)
    block = LoginBlock.objects.get(tenant=tenant)
    assert (block.username, block.ip, block.user) == (end_user.username, IP, end_user)
    assert timedelta(days=29, hours=23) < block.expires_at - block.blocked_at <= timedelta(days=30)


def test_after_max_attempts_even_the_right_password_is_refused(protected, end_user):
    # when the threshold of wrong passwords is reached
    assert fail(protected, end_user.username, 3) == ["WrongCredentials"] * 3
    # then the next attempt with the right password is refused as blocked, with Auth0's name and 429
    refusal = attempt(protected, end_user.username, end_user.plaintext_password)
    assert isinstance(refusal, AccountBlocked)
    assert (refusal.code, refusal.status, refusal.message) == (
        "too_many_attempts",
        HTTPStatus.TOO_MANY_REQUESTS,
        ACCOUNT_BLOCKED_MESSAGE,
    )


def test_a_blocked_attempt_does_not_check_the_password(protected, end_user, monkeypatch):
    # given a blocked account
    fail(protected, end_user.username, 3)
    # when it is tried again, with the password checks counted
    checks = []
    monkeypatch.setattr(backends.TenantAwareModelBackend, "authenticate", lambda *a, **k: checks.append(1))
    refusal = attempt(protected, end_user.username, end_user.plaintext_password)
    # then it is refused without any hashing
    assert isinstance(refusal, AccountBlocked) and checks == []


def test_another_ip_is_not_blocked(protected, end_user):
    # given the account blocked for one IP
    fail(protected, end_user.username, 3)
    # when the user signs in from another
    # then it works
    assert attempt(protected, end_user.username, end_user.plaintext_password, ip=OTHER_IP) is None
    assert isinstance(attempt(protected, end_user.username, end_user.plaintext_password), AccountBlocked)


def test_a_success_resets_the_count(protected, end_user):
    # given two failures, a success, then two more failures
    fail(protected, end_user.username, 2)
    assert attempt(protected, end_user.username, end_user.plaintext_password) is None
    fail(protected, end_user.username, 2)
    # then the account is not blocked: the failures were not consecutive
    assert attempt(protected, end_user.username, end_user.plaintext_password) is None
    assert not LoginBlock.objects.exists()


def test_spellings_of_a_username_share_one_count(protected, end_user):
    # when the failures use different capitalisations of the same username
    for spelling in (end_user.username, end_user.username.upper(), end_user.username.title()):
        attempt(protected, spelling, WRONG)
    # then they added up to a block of that account
    assert isinstance(attempt(protected, end_user.username, end_user.plaintext_password), AccountBlocked)


def test_an_admin_unblock_lifts_the_block(protected, end_user, portal_admin):
    # given a blocked account
    fail(protected, end_user.username, 3)
    block = LoginBlock.objects.get()
    # when an admin unblocks it
    login_block_remove(block=block, actor=portal_admin)
    # then the user signs in again, and the unblock is audited with the admin as actor
    assert attempt(protected, end_user.username, end_user.plaintext_password) is None
    event = AuditEvent.objects.get(type=AuditEvent.Type.USER_UNBLOCKED)
    assert (event.actor, event.target, event.data) == (
        portal_admin,
        end_user.username,
        {"ip": IP, "reason": "admin"},
    )


def test_a_new_password_lifts_the_block(protected, end_user, portal_admin):
    # given a blocked account
    fail(protected, end_user.username, 3)
    # when its password is set
    user_password_set(user=end_user, password="a brand new passphrase", actor=portal_admin)
    # then the new password works from that IP, the old one does not, and both changes are audited
    assert not LoginBlock.objects.exists()
    assert attempt(protected, end_user.username, "a brand new passphrase") is None
    assert isinstance(attempt(protected, end_user.username, end_user.plaintext_password), WrongCredentials)
    assert AuditEvent.objects.filter(type=AuditEvent.Type.USER_PASSWORD_CHANGED, actor=portal_admin).exists()
    unblocked = AuditEvent.objects.get(type=AuditEvent.Type.USER_UNBLOCKED)
    assert unblocked.data == {"ip": IP, "reason": "password_changed"}


def test_a_block_lapses_after_its_duration(protected, end_user):
    # given a blocked account
    fail(protected, end_user.username, 3)
    # when the block's duration has passed
    LoginBlock.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    # then the user signs in, and a new run of failures blocks again (renewing the same row)
    assert attempt(protected, end_user.username, end_user.plaintext_password) is None
    fail(protected, end_user.username, 3)
    assert isinstance(attempt(protected, end_user.username, end_user.plaintext_password), AccountBlocked)
    assert LoginBlock.objects.count() == 1


def test_a_short_block_duration_lapses_on_its_own(tenant, end_user):
    # given blocks of one second
    tenant_brute_force_protection_set(tenant=tenant, enabled=True, max_attempts=1, block_duration_seconds=1)
    attempt(tenant, end_user.username, WRONG)
    block = LoginBlock.objects.get()
    assert isinstance(attempt(tenant, end_user.username, end_user.plaintext_password), AccountBlocked)
    # then the block expires one second after it was made
    assert block.expires_at - block.blocked_at == timedelta(seconds=1)


def test_unknown_usernames_are_counted_and_blocked_alike(protected, end_user):
    # when the same number of failures hits an existing and an unknown username
    known = fail(protected, end_user.username, 4)
    unknown = fail(protected, "nobody@acme.example", 4)
    # then both see the same refusals in the same order, and both are blocked
    assert known == unknown == ["WrongCredentials"] * 3 + ["AccountBlocked"]
    blocks = {block.username: block.user_id for block in LoginBlock.objects.all()}
    assert blocks == {end_user.username: end_user.pk, "nobody@acme.example": None}


def test_a_blocked_attempt_does_the_same_work_for_known_and_unknown_usernames(
    protected, end_user, django_assert_num_queries
):
    # given a known and an unknown username, both blocked
    fail(protected, end_user.username, 3)
    fail(protected, "nobody@acme.example", 3)
    # then a blocked attempt costs the same queries for either (the IP throttle's look at its counter,
    # the block lookup, the IP's failure counted, the audit row and its count in the dashboard's roll-ups)
    for username in (end_user.username, "nobody@acme.example"):
        with django_assert_num_queries(5):
            assert isinstance(attempt(protected, username, WRONG), AccountBlocked)


def test_the_blocking_failure_does_the_same_work_for_known_and_unknown_usernames(protected, end_user):
    # given both usernames one failure short of a block
    fail(protected, end_user.username, 2)
    fail(protected, "nobody@acme.example", 2)
    # when each fails once more
    queries = {}
    for username in (end_user.username, "nobody@acme.example"):
        with CaptureQueriesContext(connection) as captured:
            assert isinstance(attempt(protected, username, WRONG), WrongCredentials)
        queries[username] = [statement(query["sql"]) for query in captured.captured_queries]
    # then both ran the same statements (the account lookup included), and both are blocked
    assert queries[end_user.username] == queries["nobody@acme.example"]
    assert LoginBlock.objects.count() == 2


def test_blocks_and_refusals_are_audited(protected, end_user):
    # when an account is driven into a block and tried again
    fail(protected, end_user.username, 3)
    attempt(protected, end_user.username, end_user.plaintext_password)
    # then the block is an event with the IP, and each refusal has its reason
    blocked = AuditEvent.objects.get(type=AuditEvent.Type.USER_BLOCKED)
    assert (blocked.target, blocked.data["ip"], blocked.data["failures"]) == (end_user.username, IP, 3)
    reasons = list(
        AuditEvent.objects.filter(type=AuditEvent.Type.USER_LOGIN_FAILED)
        .order_by("created_at", "pk")
        .values_list("data__reason", flat=True)
    )
    assert reasons == ["invalid_grant"] * 3 + ["too_many_attempts"]


def test_a_block_made_before_the_account_existed_does_not_bite_its_owner(protected):
    # given an unknown username blocked from an IP
    fail(protected, "newcomer@acme.example", 3)
    # when an admin then creates that user
    user_create(tenant=protected, username="newcomer@acme.example", password="the newcomer's passphrase")
    # then they sign in from that IP
    assert attempt(protected, "newcomer@acme.example", "the newcomer's passphrase") is None


def test_disabled_brute_force_protection_never_blocks(tenant, end_user):
    tenant_brute_force_protection_set(tenant=tenant, enabled=False, max_attempts=2, block_duration_seconds=60)
    fail(tenant, end_user.username, 5)
    assert attempt(tenant, end_user.username, end_user.plaintext_password) is None
    assert not LoginBlock.objects.exists()


@pytest.mark.parametrize("allowlist", [[IP], ["203.0.113.0/24"]])
def test_an_allowlisted_ip_is_never_blocked(tenant, end_user, allowlist):
    # given the IP (or its range) on the brute-force allowlist
    tenant_brute_force_protection_set(
        tenant=tenant, enabled=True, max_attempts=2, block_duration_seconds=60, allowlist=allowlist
    )
    # when it fails more often than the threshold
    fail(tenant, end_user.username, 4)
    # then it is not blocked, while another IP is
    assert attempt(tenant, end_user.username, end_user.plaintext_password) is None
    fail(tenant, end_user.username, 2, ip=OTHER_IP)
    assert isinstance(
        attempt(tenant, end_user.username, end_user.plaintext_password, ip=OTHER_IP), AccountBlocked
    )


def test_tenants_count_apart(protected, end_user):
    # given the same username in another tenant, blocked there from the same IP
    from tests.factories import TenantFactory

    other = TenantFactory()
    UserFactory(tenant=other, username=end_user.username)
    tenant_brute_force_protection_set(tenant=other, enabled=True, max_attempts=1, block_duration_seconds=60)
    fail(other, end_user.username, 1)
    # then this tenant's user is not blocked
    assert attempt(protected, end_user.username, end_user.plaintext_password) is None


# --- suspicious-IP throttling -------------------------------------------------------------------


def test_failures_across_accounts_throttle_the_ip(throttled, end_user, monkeypatch):
    # given a clock 600 s into an hour-long window
    monkeypatch.setattr(ratelimit.time, "time", lambda: 3600 * 500_000 + 600.0)
    # when one IP fails with five different usernames (the limit), none of them blocked
    for n in range(5):
        assert isinstance(attempt(throttled, f"guess{n}@acme.example", WRONG), WrongCredentials)
    # then every next attempt from it is throttled, even a correct one, until the window ends
    refusal = attempt(throttled, end_user.username, end_user.plaintext_password)
    assert isinstance(refusal, IpThrottled)
    assert (refusal.code, refusal.status, refusal.message, refusal.retry_after) == (
        "too_many_attempts",
        HTTPStatus.TOO_MANY_REQUESTS,
        IP_THROTTLED_MESSAGE,
        3000,
    )
    # while another IP is not
    assert attempt(throttled, end_user.username, end_user.plaintext_password, ip=OTHER_IP) is None
    # and when the next window starts, the IP may try again
    monkeypatch.setattr(ratelimit.time, "time", lambda: 3600 * 500_001 + 1.0)
    assert attempt(throttled, end_user.username, end_user.plaintext_password) is None


def test_a_throttled_attempt_does_not_check_the_password(throttled, end_user, monkeypatch):
    for n in range(5):
        attempt(throttled, f"guess{n}@acme.example", WRONG)
    checks = []
    monkeypatch.setattr(backends.TenantAwareModelBackend, "authenticate", lambda *a, **k: checks.append(1))
    assert isinstance(attempt(throttled, end_user.username, end_user.plaintext_password), IpThrottled)
    assert checks == []


def test_a_success_does_not_reset_the_ips_count(throttled, end_user):
    # given four failures from an IP, then a success from it (the attacker knows one password)
    for n in range(4):
        attempt(throttled, f"guess{n}@acme.example", WRONG)
    assert attempt(throttled, end_user.username, end_user.plaintext_password) is None
    # when one more failure comes
    attempt(throttled, "guess9@acme.example", WRONG)
    # then the IP is throttled
    assert isinstance(attempt(throttled, end_user.username, end_user.plaintext_password), IpThrottled)


def test_throttling_is_audited_once_and_each_refusal_with_its_reason(throttled, end_user):
    for n in range(5):
        attempt(throttled, f"guess{n}@acme.example", WRONG)
    attempt(throttled, end_user.username, WRONG)
    attempt(throttled, end_user.username, WRONG)
    throttled = AuditEvent.objects.get(type=AuditEvent.Type.IP_THROTTLED)
    assert (throttled.target, throttled.data) == (IP, {"ip": IP, "failures": 5, "window_seconds": 3600})
    reasons = list(
        AuditEvent.objects.filter(type=AuditEvent.Type.USER_LOGIN_FAILED)
        .order_by("created_at", "pk")
        .values_list("data__reason", flat=True)
    )
    assert reasons == ["invalid_grant"] * 5 + ["too_many_attempts"] * 2


@pytest.mark.parametrize("allowlist", [[IP], ["203.0.113.0/28"], ["2001:db8::/32", "203.0.113.7"]])
def test_an_allowlisted_ip_is_never_throttled(tenant, end_user, allowlist):
    tenant_suspicious_ip_throttling_set(
        tenant=tenant, enabled=True, max_attempts=2, window_seconds=3600, allowlist=allowlist
    )
    for n in range(4):
        attempt(tenant, f"guess{n}@acme.example", WRONG)
    assert attempt(tenant, end_user.username, end_user.plaintext_password) is None


def test_disabled_throttling_never_throttles(tenant, end_user):
    tenant_suspicious_ip_throttling_set(tenant=tenant, enabled=False, max_attempts=2, window_seconds=3600)
    for n in range(4):
        attempt(tenant, f"guess{n}@acme.example", WRONG)
    assert attempt(tenant, end_user.username, end_user.plaintext_password) is None


def test_without_an_ip_every_attempt_shares_one_bucket(protected, end_user):
    # given failures whose IP the server could not tell
    fail(protected, end_user.username, 3, ip=None)
    # then they block that account for every such attempt, but not for a known IP
    assert isinstance(
        attempt(protected, end_user.username, end_user.plaintext_password, ip=None), AccountBlocked
    )
    assert attempt(protected, end_user.username, end_user.plaintext_password, ip=IP) is None


def test_a_malformed_ip_is_treated_as_unknown(protected, end_user):
    fail(protected, end_user.username, 3, ip="not an address")
    assert LoginBlock.objects.get().ip is None
