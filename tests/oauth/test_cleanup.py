"""Cleanup of expired rows (``apps.oauth.cleanup``): what goes, what stays (replay and reuse detection
keep working), bounded batches, ``manage.py purge_expired``, and the background sweep (off the
request path, one process at a time)."""

from __future__ import annotations

import time
from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import jwt
import psycopg
import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from apps.audit.retention import LOG_KINDS
from apps.core.counters import counter_incr
from apps.core.models import Counter
from apps.grants.models import DeniedToken
from apps.grants.services import token_deny
from apps.oauth import cleanup, errors
from apps.oauth.cleanup import (
    CLEANUP_MARGIN,
    SWEEP_LOCK_ID,
    expired_rows_delete,
    expired_rows_purge,
    expired_rows_sweep,
    sweeper_ensure_started,
    sweeper_stop,
)
from apps.oauth.models import AccessToken, Grant, IDToken, RefreshToken, checksum
from apps.tenants.services import tenant_refresh_token_lifetimes_set
from tests.conftest import LiveSession
from tests.factories import TenantFactory
from tests.oauth.test_refresh_and_revocation import refresh, tokens_for
from tests.oauth.test_refresh_lifetimes import age_token, row_of
from tests.oauth.user_flow import authorize, exchange, location_params, make_user_setup, web  # noqa: F401

DAY = 86_400
NOTHING = dict.fromkeys(cleanup.KINDS, 0)
SWEPT_NOTHING = NOTHING | dict.fromkeys(LOG_KINDS, 0)  # a sweep also prunes the logs
PAST_MARGIN = CLEANUP_MARGIN + timedelta(seconds=1)


def jti_of(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["jti"]


def expire(queryset, *, ago: timedelta = PAST_MARGIN, field: str = "expires") -> None:
    """Move the rows' expiry ``ago`` into the past."""
    queryset.update(**{field: timezone.now() - ago})


def expired_denials(tenant, count: int, *, ago: timedelta = PAST_MARGIN, prefix: str = "jti") -> list[str]:
    jtis = [f"{prefix}-{tenant.pk}-{n}" for n in range(count)]
    for jti in jtis:
        token_deny(tenant=tenant, jti=jti, audience="https://api.example.com", reason="leaked")
    expire(DeniedToken.objects.filter(jti__in=jtis), ago=ago, field="expires_at")
    return jtis


class Session:
    """The rows one sign-in wrote: its code, access, ID and refresh token."""

    def __init__(self, body: dict) -> None:
        self.body = body
        self.access = AccessToken.objects.filter(jti=jti_of(body["access_token"]))
        self.id_token = IDToken.objects.filter(jti=jti_of(body["id_token"]))
        self.refresh = RefreshToken.objects.filter(token_checksum=checksum(body["refresh_token"]))
        self.code = Grant.objects.filter(issued_jti=jti_of(body["access_token"]))

    def rows(self) -> dict[str, bool]:
        return {
            "code": self.code.exists(),
            "access": self.access.exists(),
            "id_token": self.id_token.exists(),
            "refresh": self.refresh.exists(),
        }


# --- what goes, what stays ------------------------------------------------------------------------
def test_expired_rows_of_each_kind_are_deleted_and_live_ones_kept(http, web, database_counters):  # noqa: F811
    # given a live session whose access and ID tokens have expired (its refresh token still needs
    # them), and a session whose code expired, whose refresh token idled out and whose tokens expired
    live = Session(tokens_for(http, web))
    dead = Session(tokens_for(http, web))
    expire(live.access)
    expire(live.id_token)
    expire(dead.code)
    age_token(dead.body["refresh_token"], seconds=15 * DAY + 1)
    expire(dead.access)
    expire(dead.id_token)
    kept_denial = expired_denials(web.tenant, 1, ago=-timedelta(hours=1), prefix="live")  # in an hour
    gone_denial = expired_denials(web.tenant, 1, prefix="expired")
    counter_incr(key="live-counter", ttl_seconds=3600)
    counter_incr(key="expired-counter", ttl_seconds=3600)
    expire(Counter.objects.filter(key="expired-counter"), field="expires_at")
    # when
    deleted = expired_rows_delete(batch=100)
    # then
    assert deleted == {
        "authorization_codes": 1,
        "refresh_tokens": 1,
        "access_tokens": 1,
        "id_tokens": 1,
        "denied_tokens": 1,
        "counters": 1,
    }
    assert live.rows() == {"code": True, "access": True, "id_token": True, "refresh": True}
    assert dead.rows() == {"code": False, "access": False, "id_token": False, "refresh": False}
    assert DeniedToken.objects.filter(jti__in=kept_denial).exists()
    assert not DeniedToken.objects.filter(jti__in=gone_denial).exists()
    assert list(Counter.objects.values_list("key", flat=True)) == ["live-counter"]
    # and a second run finds nothing
    assert expired_rows_delete(batch=100) == NOTHING
    # and the live session still refreshes; its expired access and ID tokens go once it has rotated
    assert refresh(http, web, live.body["refresh_token"]).status_code == HTTPStatus.OK
    assert expired_rows_delete(batch=100) == NOTHING | {"access_tokens": 1, "id_tokens": 1}


@pytest.mark.parametrize(("ago", "kept"), [(timedelta(minutes=1), True), (PAST_MARGIN, False)])
def test_expired_codes_and_deny_list_rows_outlive_their_expiry_by_the_margin(db, ago, kept):
    # given
    tenant = TenantFactory()
    jtis = expired_denials(tenant, 1, ago=ago)
    # when
    expired_rows_delete(batch=100)
    # then
    assert DeniedToken.objects.filter(jti__in=jtis).exists() is kept


def test_a_used_code_not_yet_expired_is_kept_and_its_replay_still_revokes(http, web):  # noqa: F811
    # given a code exchanged once
    code = location_params(authorize(http, web))["code"]
    first = exchange(http, web, code)
    assert first.status_code == HTTPStatus.OK, first.text
    # when a sweep runs
    expired_rows_delete(batch=100)
    # then the code's row is still there, and replaying the code is refused and revokes
    assert Grant.objects.filter(code=code, used_at__isnull=False).exists()
    replay = exchange(http, web, code)
    assert replay.status_code == HTTPStatus.BAD_REQUEST
    assert replay.json() == {"error": "invalid_grant", "error_description": errors.MSG_CODE_REPLAYED}
    assert refresh(http, web, first.json()["refresh_token"]).status_code == HTTPStatus.BAD_REQUEST


def test_a_retired_refresh_token_within_retention_is_kept_and_its_reuse_still_detected(http, web):  # noqa: F811
    # given a rotated-out refresh token older than the inactivity lifetime, inside the absolute one
    first = tokens_for(http, web)
    latest = refresh(http, web, first["refresh_token"]).json()["refresh_token"]
    age_token(first["refresh_token"], seconds=20 * DAY)
    # when
    deleted = expired_rows_delete(batch=100)
    # then it is kept, and presenting it again revokes the family (RFC 9700 4.14.2)
    assert deleted["refresh_tokens"] == 0
    assert row_of(first["refresh_token"]).revoked is not None
    assert refresh(http, web, first["refresh_token"]).json() == {"error": "invalid_grant"}
    assert row_of(latest).revoked is not None
    assert refresh(http, web, latest).status_code == HTTPStatus.BAD_REQUEST


def test_refresh_tokens_older_than_the_absolute_lifetime_are_deleted_retired_or_live(http, web):  # noqa: F811
    # given a rotated-out token and the live one, both created more than 30 days ago
    first = tokens_for(http, web)
    latest = refresh(http, web, first["refresh_token"]).json()["refresh_token"]
    age_token(first["refresh_token"], seconds=30 * DAY + 2)
    age_token(latest, seconds=30 * DAY + 1)
    # when
    deleted = expired_rows_delete(batch=100)
    # then
    assert deleted["refresh_tokens"] == 2
    assert not RefreshToken.objects.exists()


def test_a_live_refresh_token_without_its_access_token_is_deleted(http, web):  # noqa: F811
    # given a session whose access token row was deleted out of band (the refresh path refuses it)
    session = Session(tokens_for(http, web))
    session.access.delete()
    # when
    deleted = expired_rows_delete(batch=100)
    # then
    assert deleted["refresh_tokens"] == 1
    assert not session.refresh.exists()


def test_each_tenants_refresh_token_lifetimes_drive_the_cleanup(http, web):  # noqa: F811
    # given a tenant with a ten-minute inactivity lifetime and one on the defaults, tokens idle 11 minutes
    tenant_refresh_token_lifetimes_set(tenant=web.tenant, absolute_seconds=3600, inactivity_seconds=600)
    other = make_user_setup()
    own = tokens_for(http, web)["refresh_token"]
    defaults = tokens_for(LiveSession(http.base_url), other)["refresh_token"]
    age_token(own, seconds=660)
    age_token(defaults, seconds=660)
    # when
    deleted = expired_rows_delete(batch=100)
    # then
    assert deleted["refresh_tokens"] == 1
    assert not RefreshToken.objects.filter(token_checksum=checksum(own)).exists()
    assert RefreshToken.objects.filter(token_checksum=checksum(defaults)).exists()


# --- bounded batches, the command --------------------------------------------------------------------
@pytest.mark.django_db
def test_a_batch_deletes_at_most_batch_rows_per_table():
    # given
    tenant = TenantFactory()
    expired_denials(tenant, 5)
    # when / then
    assert [expired_rows_delete(batch=2)["denied_tokens"] for _ in range(4)] == [2, 2, 1, 0]


@pytest.mark.django_db
def test_a_batch_must_be_positive():
    with pytest.raises(ValueError, match="batch must be at least 1"):
        expired_rows_delete(batch=0)


@pytest.mark.django_db
def test_a_purge_deletes_everything_due_batch_after_batch():
    # given
    tenant = TenantFactory()
    expired_denials(tenant, 5)
    live = expired_denials(TenantFactory(), 1, ago=-timedelta(hours=1))
    # when
    deleted = expired_rows_purge(batch=2)
    # then
    assert deleted == NOTHING | {"denied_tokens": 5}
    assert list(DeniedToken.objects.values_list("jti", flat=True)) == live


@pytest.mark.django_db
def test_the_purge_expired_command_prints_what_it_deleted():
    # given
    expired_denials(TenantFactory(), 3)
    out = StringIO()
    # when
    call_command("purge_expired", "--batch", "2", stdout=out)
    # then
    assert out.getvalue().splitlines() == [
        "authorization_codes  0",
        "refresh_tokens       0",
        "access_tokens        0",
        "id_tokens            0",
        "denied_tokens        3",
        "counters             0",
        "token_events         0",
        "audit_events         0",
        "total                3",
    ]
    assert not DeniedToken.objects.exists()


@pytest.mark.django_db
def test_the_command_refuses_a_batch_below_one():
    with pytest.raises(CommandError, match="--batch must be at least 1"):
        call_command("purge_expired", "--batch", "0", stdout=StringIO())


# --- the opportunistic sweep -------------------------------------------------------------------------
@pytest.fixture
def sweeper():
    """Stops this process's sweeper after the test, whatever started it; no sweep noted before or after."""
    cache.delete(cleanup._CACHE_RECENT_KEY)
    yield
    sweeper_stop()
    cache.delete(cleanup._CACHE_RECENT_KEY)


def _other_connection():
    params = connection.get_connection_params()
    return psycopg.connect(
        **{k: v for k, v in params.items() if k in {"dbname", "user", "password", "host", "port"}},
        autocommit=True,
    )


@pytest.mark.django_db
def test_a_sweep_is_bounded_by_the_sweep_batch(settings):
    # given
    settings.CLEANUP_SWEEP_BATCH = 3
    expired_denials(TenantFactory(), 5)
    # when
    deleted = expired_rows_sweep()
    # then
    assert deleted == SWEPT_NOTHING | {"denied_tokens": 3}
    assert DeniedToken.objects.count() == 2


@pytest.mark.django_db
def test_only_one_process_sweeps_at_a_time():
    # given another process sweeping (holding the sweep lock)
    expired_denials(TenantFactory(), 2)
    with _other_connection() as other:
        other.execute("SELECT pg_advisory_lock(%s)", [SWEEP_LOCK_ID])
        # when
        skipped = expired_rows_sweep()
        # then this one skips its sweep, deleting nothing
        assert skipped is None
        assert DeniedToken.objects.count() == 2
        other.execute("SELECT pg_advisory_unlock(%s)", [SWEEP_LOCK_ID])
    # and sweeps once the lock is free, releasing it afterwards
    assert expired_rows_sweep() == SWEPT_NOTHING | {"denied_tokens": 2}
    with _other_connection() as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", [SWEEP_LOCK_ID]).fetchone()[0] is True


def test_a_token_request_starts_the_sweeper_and_does_not_sweep_itself(http, m2m, settings, sweeper):
    # given expired rows, and a sweep interval far away
    settings.CLEANUP_SWEEP_SECONDS = 3600
    expired_denials(m2m.tenant, 2)
    # when
    response = http.post(m2m.token_path(), data=m2m.form())
    # then the token was issued, the sweeper is running in its own thread, and nothing was deleted
    assert response.status_code == HTTPStatus.OK, response.text
    assert cleanup._sweeper is not None and cleanup._sweeper.is_alive()
    assert cleanup._sweeper.daemon
    assert DeniedToken.objects.count() == 2


def test_the_sweeper_thread_sweeps_every_interval(transactional_db, settings, sweeper):
    # given
    settings.CLEANUP_SWEEP_SECONDS = 0.05
    expired_denials(TenantFactory(), 2)
    # when
    sweeper_ensure_started()
    # then, within a few intervals, the rows are gone
    for _ in range(200):
        if not DeniedToken.objects.exists():
            break
        time.sleep(0.05)
    assert not DeniedToken.objects.exists()


def test_no_sweeper_when_the_sweep_is_turned_off(db, settings, sweeper):
    settings.CLEANUP_SWEEP_SECONDS = 0
    sweeper_ensure_started()
    assert cleanup._sweeper is None


def test_a_process_skips_its_turn_when_another_swept_within_the_interval(transactional_db, settings, sweeper):
    # given another process's sweep noted in the shared cache, and expired rows
    settings.CLEANUP_SWEEP_SECONDS = 0.05
    cache.add(cleanup._CACHE_RECENT_KEY, 1, timeout=3600)
    expired_denials(TenantFactory(), 2)
    # when this process's sweeper has had several turns
    sweeper_ensure_started()
    time.sleep(0.5)
    # then it swept nothing
    assert DeniedToken.objects.count() == 2
    # and once that note is gone, it sweeps
    cache.delete(cleanup._CACHE_RECENT_KEY)
    for _ in range(200):
        if not DeniedToken.objects.exists():
            break
        time.sleep(0.05)
    assert not DeniedToken.objects.exists()
