"""The hourly roll-ups behind the dashboard's charts: counted as events are written, rebuilt from the raw logs."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, OperationalError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.audit import rollups, token_log
from apps.audit.models import AuditEvent, HourlyRollup, TokenEvent
from apps.audit.rollups import TOKEN_METRICS, hour_of
from apps.audit.services import audit_record
from tests.factories import AuditEventFactory, TenantFactory, TokenEventFactory

Metric = HourlyRollup.Metric
H10 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
H11 = H10 + timedelta(hours=1)


def rollup_counts(**filters) -> dict[tuple, int]:
    """Roll-up rows as ``{(tenant_id, hour, metric, key): count}``."""
    return {
        (row.tenant_id, row.hour, row.metric, row.key): row.count
        for row in HourlyRollup.objects.filter(**filters)
    }


def token_counts() -> dict[tuple, int]:
    """The roll-ups of the token log (tenants' creation adds audit roll-ups of their own)."""
    return rollup_counts(metric__startswith="tokens.")


@pytest.fixture
def queued_token_log(settings, monkeypatch):
    """The production mode: token events wait in memory for a flush (no flusher thread here)."""
    settings.TOKEN_LOG_FLUSH_SECONDS = 60
    monkeypatch.setattr(token_log, "_start_flusher", lambda: None)
    token_log._queue.clear()
    yield
    token_log._queue.clear()


def test_every_token_log_type_has_a_metric():
    # a new token log type must be given its place on the charts
    assert set(TOKEN_METRICS) == set(TokenEvent.Type.values)


@pytest.mark.parametrize(
    ("moment", "hour"),
    [
        (datetime(2026, 11, 30, 10, 59, 59, 999999, tzinfo=UTC), H10),
        (datetime(2026, 11, 30, 11, 0, tzinfo=UTC), H11),
        # an aware time in another zone lands in its UTC hour
        (datetime(2026, 11, 30, 12, 30, tzinfo=UTC).astimezone(ZoneInfo("Asia/Kolkata")),
         datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_hour_of_is_the_start_of_the_utc_hour(moment, hour):
    assert hour_of(moment) == hour


def test_a_flush_adds_its_batch_counts_with_one_upsert(queued_token_log, db):
    # given events of two tenants, several types, across two hours, queued
    a, b = TenantFactory(), TenantFactory()
    queued = [
        (a, "seccft", H10 + timedelta(minutes=1)),
        (a, "seccft", H10 + timedelta(minutes=59)),
        (a, "feccft", H10 + timedelta(minutes=30)),
        (a, "fe", H10 + timedelta(minutes=31)),
        (a, "seccft", H11 + timedelta(seconds=1)),
        (a, "sertft", H11 + timedelta(minutes=5)),
        (a, "srrt", H11 + timedelta(minutes=6)),
        (b, "seccft", H10 + timedelta(minutes=2)),
    ]
    for tenant, type_, created_at in queued:
        token_log.token_event_record(tenant_id=tenant.pk, type=type_, client_id="c", created_at=created_at)
    assert not token_counts()  # nothing is written before the flush

    # when
    with CaptureQueriesContext(connection) as queries:
        assert token_log.flush() == len(queued)

    # then the events and their counts are written, the counts by one statement
    assert TokenEvent.objects.count() == len(queued)
    assert token_counts() == {
        (a.pk, H10, Metric.TOKENS_ISSUED, "seccft"): 2,
        (a.pk, H10, Metric.TOKENS_REFUSED, "feccft"): 1,
        (a.pk, H10, Metric.TOKENS_REFUSED, "fe"): 1,
        (a.pk, H11, Metric.TOKENS_ISSUED, "seccft"): 1,
        (a.pk, H11, Metric.TOKENS_ISSUED, "sertft"): 1,
        (a.pk, H11, Metric.TOKENS_REVOKED, "srrt"): 1,
        (b.pk, H10, Metric.TOKENS_ISSUED, "seccft"): 1,
    }
    upserts = [q["sql"] for q in queries.captured_queries if "audit_hourlyrollup" in q["sql"]]
    assert len(upserts) == 1
    assert "ON CONFLICT" in upserts[0]


def test_the_next_flush_adds_to_the_counts_already_there(queued_token_log, db):
    # given a flushed batch
    tenant = TenantFactory()
    for _ in range(3):
        token_log.token_event_record(tenant_id=tenant.pk, type="seccft", created_at=H10)
    token_log.flush()
    # when another batch of the same hour is flushed
    for type_ in ("seccft", "seccft", "feccft"):
        token_log.token_event_record(tenant_id=tenant.pk, type=type_, created_at=H10 + timedelta(minutes=9))
    token_log.flush()
    # then the counts add up (not overwritten)
    assert token_counts() == {
        (tenant.pk, H10, Metric.TOKENS_ISSUED, "seccft"): 5,
        (tenant.pk, H10, Metric.TOKENS_REFUSED, "feccft"): 1,
    }


def test_the_events_and_their_counts_are_written_together_or_not_at_all(queued_token_log, db, monkeypatch):
    # given queued events, and a database that refuses the roll-up while it is unreachable
    tenant = TenantFactory()
    for _ in range(2):
        token_log.token_event_record(tenant_id=tenant.pk, type="seccft", created_at=H10)

    def unreachable(counts, **kwargs):
        raise OperationalError("connection lost")

    monkeypatch.setattr(token_log, "hourly_rollups_add", unreachable)
    # when the flush fails half-way
    assert token_log.flush() == 0
    # then the inserted events were rolled back with it, and wait for the next flush
    assert not TokenEvent.objects.exists()
    assert len(token_log._queue) == 2
    # and when the database is back, both are written once
    monkeypatch.setattr(token_log, "hourly_rollups_add", rollups.hourly_rollups_add)
    assert token_log.flush() == 2
    assert TokenEvent.objects.count() == 2
    assert token_counts() == {(tenant.pk, H10, Metric.TOKENS_ISSUED, "seccft"): 2}


def test_a_batch_the_database_refuses_is_dropped_whole(queued_token_log, db, monkeypatch):
    tenant = TenantFactory()
    token_log.token_event_record(tenant_id=tenant.pk, type="seccft", created_at=H10)

    def refused(counts, **kwargs):
        raise DatabaseError("value too long")

    monkeypatch.setattr(token_log, "hourly_rollups_add", refused)
    assert token_log.flush() == 0
    assert not TokenEvent.objects.exists() and not token_log._queue


def test_the_token_request_itself_writes_neither_events_nor_counts(queued_token_log, m2m):
    # when a client gets a token in the production mode (in-process, to see its queries)
    with CaptureQueriesContext(connection) as queries:
        response = Client().post(
            m2m.token_path(), urlencode(m2m.form()), content_type="application/x-www-form-urlencoded"
        )
    # then it only queued the event: no query of the request touched the log or the roll-ups
    assert response.status_code == HTTPStatus.OK, response.content
    touched = [q["sql"] for q in queries.captured_queries if "audit_" in q["sql"]]
    assert touched == []
    assert len(token_log._queue) == 1
    # and the flush counts it
    token_log.flush()
    assert sum(rollup_counts(metric=Metric.TOKENS_ISSUED).values()) == 1


def test_synchronous_mode_counts_each_event_as_it_is_written(db):
    # given the synchronous mode of the tests' settings (TOKEN_LOG_FLUSH_SECONDS = 0)
    tenant = TenantFactory()
    # when events are recorded
    token_log.token_event_record(tenant_id=tenant.pk, type="seccft", created_at=H10)
    token_log.token_event_record(tenant_id=tenant.pk, type="feccft", created_at=H10)
    # then each is written at once, with its count
    assert TokenEvent.objects.count() == 2
    assert token_counts() == {
        (tenant.pk, H10, Metric.TOKENS_ISSUED, "seccft"): 1,
        (tenant.pk, H10, Metric.TOKENS_REFUSED, "feccft"): 1,
    }


@pytest.mark.parametrize(
    ("type_", "metric"),
    [
        (AuditEvent.Type.USER_LOGIN_FAILED, Metric.LOGINS_FAILED),
        (AuditEvent.Type.USER_BLOCKED, Metric.ACCOUNTS_BLOCKED),
        (AuditEvent.Type.USER_ACCOUNT_BLOCKED, Metric.ACCOUNTS_BLOCKED),
        (AuditEvent.Type.IP_THROTTLED, Metric.IPS_THROTTLED),
        (AuditEvent.Type.USER_LOGIN, Metric.LOGINS),
        (AuditEvent.Type.API_CREATED, Metric.EVENTS_OTHER),
        (AuditEvent.Type.APPLICATION_SECRET_ROTATED, Metric.EVENTS_OTHER),
    ],
)
def test_audit_events_are_counted_by_metric(db, type_, metric):
    # given a tenant
    tenant = TenantFactory()
    # when the event is recorded twice
    first = audit_record(tenant=tenant, type=type_, target="someone")
    second = audit_record(tenant=tenant, type=type_, target="someone")
    # then its metric counts two, in the events' hour (or hours, at the turn of one)
    counted = rollup_counts(tenant=tenant, metric=metric, key=type_.value)
    assert sum(counted.values()) == 2
    assert {hour for _, hour, _, _ in counted} <= {hour_of(first.created_at), hour_of(second.created_at)}


def test_portal_events_without_a_tenant_are_not_counted(db):
    audit_record(tenant=None, type=AuditEvent.Type.KEY_MATERIAL_REENCRYPTED, target="KEY_ENCRYPTION_KEYS")
    assert not HourlyRollup.objects.exists()


def test_a_change_rolled_back_is_not_counted(db):
    # given
    tenant = TenantFactory()
    before = rollup_counts()
    # when the service's transaction fails after recording its event
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(tenant=tenant, type=AuditEvent.Type.USER_LOGIN_FAILED, target="eve")
        raise RuntimeError("the change failed")
    # then neither the event nor its count is there
    assert rollup_counts() == before
    assert not AuditEvent.objects.filter(type=AuditEvent.Type.USER_LOGIN_FAILED).exists()


def _raw_log(tenant, other) -> None:
    """Raw rows only (factories write no roll-ups), as before roll-ups existed."""
    for minute in (0, 10, 59):
        TokenEventFactory(tenant=tenant, type="seccft", created_at=H10 + timedelta(minutes=minute))
    TokenEventFactory(tenant=tenant, type="feccft", created_at=H11)
    TokenEventFactory(tenant=other, type="seccft", created_at=H11 + timedelta(minutes=1))
    for minute in (3, 4):
        AuditEventFactory(tenant=tenant, type="user.login_failed", created_at=H10 + timedelta(minutes=minute))
    AuditEventFactory(tenant=other, type="user.blocked", created_at=H11)
    AuditEventFactory(tenant=None, type="key_material.reencrypted", created_at=H11)


def test_rebuild_counts_the_raw_logs_and_is_idempotent(db):
    # given raw events only, and a wrong count that must be replaced
    tenant, other = TenantFactory(slug="rebuilt"), TenantFactory(slug="other")
    HourlyRollup.objects.all().delete()  # (the tenants' creation events are not part of this test)
    AuditEvent.objects.all().delete()
    _raw_log(tenant, other)
    HourlyRollup.objects.create(
        tenant=tenant, hour=H11, metric=Metric.TOKENS_REFUSED, key="feccft", count=999
    )
    expected = {
        (tenant.pk, H10, Metric.TOKENS_ISSUED, "seccft"): 3,
        (tenant.pk, H11, Metric.TOKENS_REFUSED, "feccft"): 1,
        (other.pk, H11, Metric.TOKENS_ISSUED, "seccft"): 1,
        (tenant.pk, H10, Metric.LOGINS_FAILED, "user.login_failed"): 2,
        (other.pk, H11, Metric.ACCOUNTS_BLOCKED, "user.blocked"): 1,
    }
    # when rebuilt, twice
    call_command("rollups_rebuild", stdout=io.StringIO())
    first = rollup_counts()
    call_command("rollups_rebuild", stdout=io.StringIO())
    # then the counts are the raw log's, the same both times
    assert first == expected
    assert rollup_counts() == expected


def test_rebuild_gives_what_the_live_path_counted(queued_token_log, db):
    # given events counted as they were written (flush and audit_record)
    tenant = TenantFactory()
    for type_, minute in (("seccft", 1), ("seccft", 2), ("feccft", 3), ("sepft", 70)):
        token_log.token_event_record(
            tenant_id=tenant.pk, type=type_, created_at=H10 + timedelta(minutes=minute)
        )
    token_log.flush()
    for _ in range(2):
        audit_record(tenant=tenant, type=AuditEvent.Type.USER_LOGIN_FAILED, target="eve")
    live = rollup_counts()
    # when rebuilt from the raw logs, all of them
    call_command("rollups_rebuild", "--since", "2026-11-30", stdout=io.StringIO())
    # then nothing changes
    assert rollup_counts() == live


def test_rebuild_keeps_the_counts_of_pruned_hours(queued_token_log, db):
    # given counted events of two hours
    tenant = TenantFactory()
    for hour in (H10, H10, H11):
        token_log.token_event_record(tenant_id=tenant.pk, type="seccft", created_at=hour)
    token_log.flush()
    # when the raw rows of the older hour are pruned, and the roll-ups rebuilt
    TokenEvent.objects.filter(created_at__lt=H11).delete()
    call_command("rollups_rebuild", stdout=io.StringIO())
    # then the older hour keeps its count
    assert rollup_counts(metric=Metric.TOKENS_ISSUED) == {
        (tenant.pk, H10, Metric.TOKENS_ISSUED, "seccft"): 2,
        (tenant.pk, H11, Metric.TOKENS_ISSUED, "seccft"): 1,
    }


def test_rebuild_keeps_the_count_of_an_hour_pruned_in_part(queued_token_log, db):
    # given three counted events in one hour, and one the next
    tenant = TenantFactory()
    for minute in (10, 20, 30, 70):
        token_log.token_event_record(
            tenant_id=tenant.pk, type="seccft", created_at=H10 + timedelta(minutes=minute)
        )
    token_log.flush()
    # when retention deletes the rows before 10:25 (mid-hour), and the roll-ups are rebuilt
    TokenEvent.objects.filter(created_at__lt=H10 + timedelta(minutes=25)).delete()
    call_command("rollups_rebuild", stdout=io.StringIO())
    # then the hour pruned in part keeps its count of three
    assert token_counts() == {
        (tenant.pk, H10, Metric.TOKENS_ISSUED, "seccft"): 3,
        (tenant.pk, H11, Metric.TOKENS_ISSUED, "seccft"): 1,
    }


def test_rebuild_since_leaves_earlier_hours_alone(db):
    # given raw events of two hours and a stale count in the earlier one
    tenant = TenantFactory()
    TokenEventFactory(tenant=tenant, type="seccft", created_at=H10)
    TokenEventFactory(tenant=tenant, type="seccft", created_at=H11 + timedelta(minutes=30))
    HourlyRollup.objects.create(tenant=tenant, hour=H10, metric=Metric.TOKENS_ISSUED, key="seccft", count=7)
    # when rebuilt from the later hour on (a time inside it: its whole hour is recounted)
    call_command("rollups_rebuild", "--since", "2026-11-30T11:45:00Z", stdout=io.StringIO())
    # then
    assert rollup_counts(metric=Metric.TOKENS_ISSUED) == {
        (tenant.pk, H10, Metric.TOKENS_ISSUED, "seccft"): 7,
        (tenant.pk, H11, Metric.TOKENS_ISSUED, "seccft"): 1,
    }


def test_rebuild_refuses_a_since_that_is_not_a_date(db):
    with pytest.raises(CommandError, match="--since takes an ISO date"):
        call_command("rollups_rebuild", "--since", "last tuesday")


def test_many_buckets_are_upserted_in_order(db):
    # given more buckets than fit one statement on SQLite, added in a shuffled order
    tenants = [TenantFactory() for _ in range(3)]
    counts = Counter(
        {
            (t.pk, H10 + timedelta(hours=h), Metric.TOKENS_ISSUED.value, "seccft"): h + 1
            for t in tenants
            for h in range(120)
        }
    )
    rollups.hourly_rollups_add(dict(reversed(list(counts.items()))))
    rollups.hourly_rollups_add(counts)
    # then every bucket has its count twice
    assert rollup_counts(metric=Metric.TOKENS_ISSUED) == {key: 2 * value for key, value in counts.items()}
