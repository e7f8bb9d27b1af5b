"""Log retention: the token log and audit events are kept LOG_RETENTION_DAYS, pruned in bounded batches."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEvent, HourlyRollup, TokenEvent
from apps.audit.retention import AUDIT_EVENTS, TOKEN_EVENTS, log_rows_prune
from apps.audit.token_log import token_event_record
from apps.oauth.cleanup import expired_rows_sweep
from tests.factories import AuditEventFactory, TenantFactory, TokenEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    tenant = TenantFactory()
    # what creating a tenant audits is recent: only the rows these tests place in time are old
    AuditEvent.objects.all().delete()
    return tenant


def _logs(tenant, *, days_ago: float, count: int) -> None:
    created_at = timezone.now() - timedelta(days=days_ago)
    TokenEventFactory.create_batch(count, tenant=tenant, created_at=created_at)
    for _ in range(count):
        AuditEventFactory(tenant=tenant, created_at=created_at)


def test_rows_past_retention_are_deleted_and_newer_ones_kept(settings, tenant):
    # given 30 days of retention, rows from 31 days ago and from 29 days ago
    settings.LOG_RETENTION_DAYS = 30
    _logs(tenant, days_ago=31, count=3)
    _logs(tenant, days_ago=29, count=2)

    # when the logs are pruned
    deleted = log_rows_prune()

    # then only the old rows are gone, from both logs
    assert deleted == {TOKEN_EVENTS: 3, AUDIT_EVENTS: 3}
    cutoff = timezone.now() - timedelta(days=30)
    assert TokenEvent.objects.count() == 2 and not TokenEvent.objects.filter(created_at__lt=cutoff).exists()
    assert AuditEvent.objects.count() == 2 and not AuditEvent.objects.filter(created_at__lt=cutoff).exists()


def test_each_delete_statement_is_bounded_by_the_batch(settings, tenant):
    # given seven old rows in each log and batches of three
    settings.LOG_RETENTION_DAYS = 30
    _logs(tenant, days_ago=40, count=7)

    # when the logs are pruned to the end
    with CaptureQueriesContext(connection) as queries:
        deleted = log_rows_prune(batch=3)

    # then all are gone, three statements per log (3 + 3 + 1), each one LIMITed to the batch
    assert deleted == {TOKEN_EVENTS: 7, AUDIT_EVENTS: 7}
    deletes = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("DELETE")]
    assert len(deletes) == 6
    assert all("LIMIT 3" in sql for sql in deletes)


def test_a_run_stops_at_its_time_budget(settings, tenant):
    # given more old rows than one batch
    settings.LOG_RETENTION_DAYS = 30
    _logs(tenant, days_ago=40, count=5)

    # when a run has no time to spare, then it deletes one batch of each log and leaves the rest
    assert log_rows_prune(batch=2, budget_seconds=0) == {TOKEN_EVENTS: 2, AUDIT_EVENTS: 2}
    assert TokenEvent.objects.count() == 3 and AuditEvent.objects.count() == 3


def test_zero_retention_days_keeps_everything(settings, tenant):
    settings.LOG_RETENTION_DAYS = 0
    _logs(tenant, days_ago=400, count=2)
    assert log_rows_prune() == {TOKEN_EVENTS: 0, AUDIT_EVENTS: 0}
    assert TokenEvent.objects.count() == 2


def test_the_background_sweep_prunes_the_logs_within_its_budget(settings, tenant):
    settings.LOG_RETENTION_DAYS = 30
    settings.LOG_PRUNE_BATCH = 2
    settings.LOG_PRUNE_BUDGET_SECONDS = 30
    _logs(tenant, days_ago=31, count=5)
    deleted = expired_rows_sweep()
    assert deleted[TOKEN_EVENTS] == 5 and deleted[AUDIT_EVENTS] == 5
    assert not TokenEvent.objects.exists()


def test_purge_expired_prunes_the_logs_too(settings, tenant):
    settings.LOG_RETENTION_DAYS = 30
    _logs(tenant, days_ago=31, count=2)
    out = StringIO()
    call_command("purge_expired", stdout=out)
    assert "token_events         2" in out.getvalue()
    assert "audit_events         2" in out.getvalue()
    assert not TokenEvent.objects.exists() and not AuditEvent.objects.exists()


def test_the_dashboards_roll_ups_survive_pruning(settings, tenant):
    # given token events written through the token log (which counts them into the hourly
    # roll-ups), and then aged past retention
    settings.LOG_RETENTION_DAYS = 30
    for _ in range(3):
        token_event_record(
            tenant_id=tenant.pk, type=TokenEvent.Type.SUCCESS_CLIENT_CREDENTIALS, client_id="c"
        )
    TokenEvent.objects.filter(tenant=tenant).update(created_at=timezone.now() - timedelta(days=31))
    counted = _issued(tenant)
    assert counted == 3

    # when the logs are pruned
    assert log_rows_prune()[TOKEN_EVENTS] == 3

    # then the raw rows are gone and the charts' counts are not
    assert not TokenEvent.objects.filter(tenant=tenant).exists()
    assert _issued(tenant) == counted


def _issued(tenant) -> int:
    return sum(
        HourlyRollup.objects.filter(tenant=tenant, metric=HourlyRollup.Metric.TOKENS_ISSUED).values_list(
            "count", flat=True
        )
    )
