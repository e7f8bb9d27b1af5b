"""The dashboard and the events page over a big token log: a million rows seeded in one statement.

What keeps them fast is structural, so that is what is asserted: the charts read only the
hourly roll-ups (no query aggregates the raw log: the million raw rows, seeded behind the
token log's back, are not on the charts, only the roll-ups are), the few raw rows the
dashboard lists are read along an index with a limit, and every events page query is an
index scan, never a sequential scan of the big table. One test, so the log is seeded once.
"""

from __future__ import annotations

import time
from datetime import timedelta
from http import HTTPStatus

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.dashboard.selectors import EventCursor, EventFilters, event_querysets
from tests.dashboard.conftest import TenantWorld, admin_url

SEEDED = 1_000_000
CLIENTS = 50
HOURS = 30 * 24
ISSUED_PER_HOUR, REFUSED_PER_HOUR = 1250, 125


def seed_raw_token_log(tenant_id: int) -> None:
    """A million token events, one every 2.5 s over the last 29 days; one in ten refused, 50 client ids."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO audit_tokenevent
                (tenant_id, type, client_id, audience, scope, jti, error, error_description, created_at)
            SELECT %s,
                   CASE WHEN n %% 10 = 0 THEN 'feccft' ELSE 'seccft' END,
                   'client-' || (n %% {CLIENTS}),
                   'https://api.example.com', 'read:things', '',
                   CASE WHEN n %% 10 = 0 THEN 'access_denied' ELSE '' END, '',
                   now() - n * interval '2.5 seconds'
            FROM generate_series(1, %s) AS n
            """,  # noqa: S608 - a constant; the values are parameters
            [tenant_id, SEEDED],
        )
        cursor.execute("ANALYZE audit_tokenevent")


def seed_rollups(tenant_id: int) -> None:
    """30 days of hourly roll-ups, as the token log's flushes would have left them."""
    with connection.cursor() as cursor:
        for metric, key, count in (
            ("tokens.issued", "seccft", ISSUED_PER_HOUR),
            ("tokens.refused", "feccft", REFUSED_PER_HOUR),
        ):
            cursor.execute(
                """
                INSERT INTO audit_hourlyrollup (tenant_id, hour, metric, key, count)
                SELECT %s, date_trunc('hour', now()) - n * interval '1 hour', %s, %s, %s
                FROM generate_series(0, %s) AS n
                """,
                [tenant_id, metric, key, count, HOURS + 48],
            )


def explain(sql: str, params=()) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_dashboard_and_events_page_over_a_million_token_events(portal_client, alpha: TenantWorld):
    # given a million raw token events of alpha's, and its roll-ups over 30 days (and two more)
    seed_raw_token_log(alpha.tenant.pk)
    seed_rollups(alpha.tenant.pk)

    # when alpha's admin opens the dashboard
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        response = portal_client.get(admin_url("index"))
    dashboard_seconds = time.perf_counter() - started

    # then the charts are the roll-ups' (none of the raw rows is counted: they are never read)
    assert response.status_code == HTTPStatus.OK
    activity = response.context["activity"]
    assert [bucket.issued for bucket in activity.hourly] == [ISSUED_PER_HOUR] * 24
    assert sum(bucket.refused for bucket in activity.hourly) == 24 * REFUSED_PER_HOUR
    assert activity.daily[0].issued == 24 * ISSUED_PER_HOUR
    # and the one read of the raw token log is the latest events': newest first, limited, indexed
    raw = [q["sql"] for q in queries.captured_queries if '"audit_tokenevent"' in q["sql"]]
    assert len(raw) == 1
    assert "LIMIT 9" in raw[0] and "COUNT(" not in raw[0].upper()
    plan = explain(raw[0].replace("%", "%%"))
    assert "Seq Scan on audit_tokenevent" not in plan, plan
    assert dashboard_seconds < 5, f"the dashboard took {dashboard_seconds:.2f}s"

    # when the events page's queries are planned, for each filter, first page and deep into the log
    tenant_ids = frozenset({alpha.tenant.pk})
    deep = EventCursor(created_at=timezone.now() - timedelta(days=20), kind="token", pk=10**12)
    for filters in (
        EventFilters(),
        EventFilters(type="feccft"),
        EventFilters(type="token"),
        EventFilters(client_id="client-10"),
        EventFilters(client_id="client-10", type="feccft"),
        EventFilters(until=timezone.now() - timedelta(days=10)),
        EventFilters(since=timezone.now() - timedelta(days=2), until=timezone.now() - timedelta(days=1)),
    ):
        for kind, queryset in event_querysets(tenant_ids=tenant_ids, filters=filters).items():
            for page in (queryset, queryset.filter(created_at__lte=deep.created_at)):
                # then each is an index scan, never a scan of the whole table
                plan = page[:51].explain()
                assert "Seq Scan on audit_tokenevent" not in plan, (filters, kind, plan)
                assert "Index" in plan, (filters, kind, plan)

    # when the admin lists one application's refusals, and pages on
    started = time.perf_counter()
    first = portal_client.get(admin_url("events"), {"client_id": "client-10", "type": "feccft"})
    second = portal_client.get(admin_url("events") + first.context["older_url"])
    events_seconds = time.perf_counter() - started
    # then both pages are full, consecutive, and only those events
    rows, older = first.context["page"].rows, second.context["page"].rows
    assert len(rows) == len(older) == 50
    assert all(row.type == "feccft" and row.application == "client-10" for row in rows + older)
    assert rows[-1].created_at > older[0].created_at
    assert events_seconds < 5, f"two events pages took {events_seconds:.2f}s"
