"""Hourly roll-ups (``HourlyRollup``): the counts the dashboard's charts read, kept as events are written.

- The token log adds a flushed batch's counts with one upsert, in the transaction that inserts
  the batch (``apps.audit.token_log``): the token request itself never waits for it.
- ``audit_record`` adds one audit event's count with one upsert, in its caller's transaction.
- ``hourly_rollups_rebuild`` recomputes them from the raw log (the ``rollups_rebuild`` command,
  and the migration that introduced roll-ups, for events written before).

The upsert is ``INSERT ... ON CONFLICT (bucket) DO UPDATE SET count = count + excluded.count``:
Postgres and SQLite (>= 3.24, what ``make run`` uses without ``DATABASE_URL``) both run it.
Django's ``bulk_create(update_conflicts=True)`` can only overwrite a count, not add to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.apps import apps as django_apps
from django.db import connection, transaction
from django.db.models import Count, Min
from django.db.models.functions import TruncHour

from apps.audit.models import AuditEvent, HourlyRollup, TokenEvent

Metric = HourlyRollup.Metric
TT = TokenEvent.Type
AT = AuditEvent.Type

# Every token log type, by what the dashboard counts it as (a test keeps this complete).
TOKEN_METRICS: dict[str, Metric] = {
    TT.SUCCESS_CLIENT_CREDENTIALS: Metric.TOKENS_ISSUED,
    TT.SUCCESS_AUTHORIZATION_CODE: Metric.TOKENS_ISSUED,
    TT.SUCCESS_REFRESH_TOKEN: Metric.TOKENS_ISSUED,
    TT.SUCCESS_PASSWORD: Metric.TOKENS_ISSUED,
    TT.SUCCESS_MFA_OTP: Metric.TOKENS_ISSUED,
    TT.SUCCESS_MFA_RECOVERY_CODE: Metric.TOKENS_ISSUED,
    TT.FAILED_CLIENT_CREDENTIALS: Metric.TOKENS_REFUSED,
    TT.FAILED_AUTHORIZATION_CODE: Metric.TOKENS_REFUSED,
    TT.FAILED_REFRESH_TOKEN: Metric.TOKENS_REFUSED,
    TT.FAILED_PASSWORD: Metric.TOKENS_REFUSED,
    TT.FAILED_MFA_OTP: Metric.TOKENS_REFUSED,
    TT.FAILED_MFA_RECOVERY_CODE: Metric.TOKENS_REFUSED,
    TT.FAILED_EXCHANGE: Metric.TOKENS_REFUSED,
    TT.SUCCESS_REVOCATION: Metric.TOKENS_REVOKED,
}
# Audit event types the dashboard counts apart; every other type is ``EVENTS_OTHER``.
AUDIT_METRICS: dict[str, Metric] = {
    AT.USER_LOGIN: Metric.LOGINS,
    AT.USER_LOGIN_FAILED: Metric.LOGINS_FAILED,
    AT.USER_BLOCKED: Metric.ACCOUNTS_BLOCKED,
    AT.USER_ACCOUNT_BLOCKED: Metric.ACCOUNTS_BLOCKED,
    AT.IP_THROTTLED: Metric.IPS_THROTTLED,
}
# What each raw log feeds: a rebuild from one log replaces exactly these metrics.
TOKEN_LOG_METRICS = frozenset({*TOKEN_METRICS.values(), Metric.TOKENS_OTHER})
AUDIT_LOG_METRICS = frozenset({*AUDIT_METRICS.values(), Metric.EVENTS_OTHER})

# (tenant_id, hour, metric, key): one roll-up row.
Bucket = tuple[int, datetime, str, str]


def token_metric(type: str) -> Metric:
    return TOKEN_METRICS.get(type, Metric.TOKENS_OTHER)


def audit_metric(type: str) -> Metric:
    return AUDIT_METRICS.get(type, Metric.EVENTS_OTHER)


def hour_of(moment: datetime) -> datetime:
    """The start of ``moment``'s hour, in UTC (the roll-ups' buckets)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def token_event_buckets(events: Iterable[Mapping[str, Any]]) -> Counter[Bucket]:
    """The roll-up counts of queued token events (``token_log``'s dicts)."""
    return Counter(
        (event["tenant_id"], hour_of(event["created_at"]), token_metric(event["type"]), event["type"])
        for event in events
    )


def hourly_rollups_add(counts: Mapping[Bucket, int], *, model: type[HourlyRollup] = HourlyRollup) -> None:
    """Add ``counts`` to the roll-ups: one upsert statement (more only past SQLite's parameter limit).

    Rows go in a fixed order so that concurrent flushes of several processes, touching the same
    buckets, take their row locks in the same order and never deadlock each other.
    """
    if not counts:
        return
    ops, quote = connection.ops, connection.ops.quote_name
    meta = model._meta
    fields = [meta.get_field(name) for name in ("tenant", "hour", "metric", "key", "count")]
    table = quote(meta.db_table)
    columns = [quote(field.column) for field in fields]
    tenant, hour, metric, key, count = columns
    rows = sorted(counts.items())
    batch_size = max(1, ops.bulk_batch_size(fields, rows))
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        params: list[Any] = []
        for (tenant_id, bucket_hour, bucket_metric, bucket_key), added in chunk:
            params += [
                tenant_id,
                ops.adapt_datetimefield_value(bucket_hour),
                bucket_metric,
                bucket_key,
                added,
            ]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        # Only quoted model names and placeholders are interpolated; the values are parameters.
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} "  # noqa: S608
            f"ON CONFLICT ({tenant}, {metric}, {hour}, {key}) "
            f"DO UPDATE SET {count} = {table}.{count} + excluded.{count}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


@dataclass(frozen=True, slots=True)
class RebuildResult:
    """What a rebuild replaced: per log, from which hour, how many events it counted into how many rows."""

    log: str
    since: datetime | None
    events: int
    rows: int


@transaction.atomic
def hourly_rollups_rebuild(*, since: datetime | None = None, apps: Any = django_apps) -> list[RebuildResult]:
    """Recompute the roll-ups from the raw logs, from ``since``'s hour on.

    Idempotent: each log's metrics from that hour on are deleted and counted again, in one
    transaction. Hours before it are left alone, so roll-ups whose raw rows were pruned keep
    their counts. Without ``since``, each log is recounted from its oldest event's hour, or from
    the hour after it when roll-ups already count that hour (it may have been pruned in part).
    ``apps`` is the model registry (a migration passes its historical one).
    """
    rollup_model = apps.get_model("audit", "HourlyRollup")
    results = []
    for log, model, metric_of, metrics in (
        ("token log", apps.get_model("audit", "TokenEvent"), token_metric, TOKEN_LOG_METRICS),
        ("audit trail", apps.get_model("audit", "AuditEvent"), audit_metric, AUDIT_LOG_METRICS),
    ):
        events = model.objects.filter(tenant__isnull=False)
        if since is not None:
            start = hour_of(since)
        else:
            oldest = events.aggregate(oldest=Min("created_at"))["oldest"]
            if oldest is None:
                results.append(RebuildResult(log=log, since=None, events=0, rows=0))
                continue
            start = hour_of(oldest)
            # Log retention (apps.audit.retention) deletes by the minute, so the oldest hour left
            # may be only part of what was counted: when roll-ups already count it, keep them.
            if rollup_model.objects.filter(metric__in=metrics, hour__lte=start).exists():
                start += timedelta(hours=1)
        rollup_model.objects.filter(metric__in=metrics, hour__gte=start).delete()
        grouped = (
            events.filter(created_at__gte=start)
            .annotate(bucket_hour=TruncHour("created_at", tzinfo=UTC))
            .values("tenant_id", "bucket_hour", "type")
            .annotate(n=Count("pk"))
            .order_by()
        )
        counts: Counter[Bucket] = Counter()
        total = rows = 0
        for row in grouped.iterator(chunk_size=2000):
            bucket = (row["tenant_id"], hour_of(row["bucket_hour"]), metric_of(row["type"]), row["type"])
            counts[bucket] += row["n"]
            total += row["n"]
            if len(counts) >= 2000:
                hourly_rollups_add(counts, model=rollup_model)
                rows += len(counts)
                counts.clear()
        hourly_rollups_add(counts, model=rollup_model)
        rows += len(counts)
        results.append(RebuildResult(log=log, since=start, events=total, rows=rows))
    return results
