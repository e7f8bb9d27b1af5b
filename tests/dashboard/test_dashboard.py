"""The dashboard home (``/admin/``): the working tenant's figures, token charts, latest events and model list."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.services import portal_admin_create
from apps.audit import token_log
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.dashboard.selectors import dashboard_activity
from apps.tenants.models import TenantMembership
from apps.tenants.services import membership_add
from tests.accounts.test_csp import INLINE_CODE_RE
from tests.dashboard.conftest import PORTAL_PASSWORD, TenantWorld, admin_url
from tests.factories import ApiFactory, ApplicationFactory, TenantFactory, UserFactory


def record_tokens(tenant, type_: str, count: int, at: datetime, client_id: str = "client") -> None:
    """Token events as the token endpoint records them (counted into the roll-ups as written)."""
    for _ in range(count):
        token_log.token_event_record(tenant_id=tenant.pk, type=type_, client_id=client_id, created_at=at)


def sign_in_refusals(tenant, failed: int, blocked: int) -> None:
    for _ in range(failed):
        audit_record(tenant=tenant, type=AuditEvent.Type.USER_LOGIN_FAILED, target="eve@example.com")
    for _ in range(blocked):
        audit_record(tenant=tenant, type=AuditEvent.Type.USER_BLOCKED, target="eve@example.com")


@pytest.fixture
def alpha_traffic(alpha: TenantWorld, bravo: TenantWorld) -> None:
    """Alpha: 3 issued and 1 refused two hours ago, 5 issued 3 days ago, 7 issued 40 days ago (off the
    charts), 2 failed sign-ins and 1 block; bravo: its own traffic, which alpha's admin must never see."""
    now = timezone.now()
    record_tokens(alpha.tenant, "seccft", 3, now - timedelta(hours=2))
    record_tokens(alpha.tenant, "feccft", 1, now - timedelta(hours=2))
    record_tokens(alpha.tenant, "seccft", 5, now - timedelta(days=3))
    record_tokens(alpha.tenant, "seccft", 7, now - timedelta(days=40))
    sign_in_refusals(alpha.tenant, failed=2, blocked=1)
    record_tokens(bravo.tenant, "seccft", 100, now - timedelta(hours=1), client_id="bravo-only-client")
    record_tokens(bravo.tenant, "feccft", 50, now - timedelta(hours=1), client_id="bravo-only-client")
    sign_in_refusals(bravo.tenant, failed=30, blocked=4)


def test_the_dashboard_shows_the_working_tenants_figures(portal_client, alpha_traffic):
    # when alpha's admin opens the portal
    response = portal_client.get(admin_url("index"))
    # then the figures are alpha's
    assert response.status_code == HTTPStatus.OK
    counts, activity = response.context["counts"], response.context["activity"]
    # (the world has an API, two applications: its own and the user grant's, and an end user)
    assert (counts.apis, counts.applications, counts.users) == (1, 2, 1)
    assert sum(b.issued for b in activity.hourly) == 3
    assert sum(b.refused for b in activity.hourly) == 1
    assert sum(b.issued for b in activity.daily) == 8
    assert sum(b.refused for b in activity.daily) == 1
    assert (activity.failed_logins_24h, activity.failed_logins_30d) == (2, 2)
    assert (activity.blocked_24h, activity.blocked_30d) == (1, 1)
    html = response.content.decode()
    assert re.search(r'id="figure-failed-logins">2<', html)
    assert re.search(r'id="figure-blocked">1<', html)


def test_the_charts_are_inline_svg_images_the_policy_allows(portal_client, alpha_traffic):
    # when
    response = portal_client.get(admin_url("index"))
    html = response.content.decode()
    # then both charts are there, as images with a summary, with nothing the CSP would block
    for chart_id, summary in (
        ("chart-tokens-hourly", "Tokens per hour, last 24 hours: 3 issued, 1 refused."),
        ("chart-tokens-daily", "Tokens per day, last 30 days: 8 issued, 1 refused."),
    ):
        tag = re.search(rf'<svg[^>]*id="{chart_id}"[^>]*>', html)
        assert tag, chart_id
        assert 'role="img"' in tag.group(0)
        assert summary in tag.group(0)
    assert "No tokens yet" not in html
    assert not INLINE_CODE_RE.search(html)
    assert "portcullis/dashboard.css" in html


def test_the_model_list_is_still_on_the_dashboard(portal_client, alpha):
    html = portal_client.get(admin_url("index")).content.decode()
    for url_name in (
        "apis_api_changelist",
        "applications_application_changelist",
        "grants_clientgrant_changelist",
    ):
        assert admin_url(url_name) in html


def test_the_latest_events_are_the_working_tenants(portal_client, alpha_traffic, alpha, bravo):
    # when
    response = portal_client.get(admin_url("index"))
    html = response.content.decode()
    # then the latest events are alpha's (its sign-in refusals are the newest), with a link to all events
    events = response.context["latest_events"]
    assert events and {event.tenant_slug for event in events} == {alpha.tenant.slug}
    assert events[0].type == AuditEvent.Type.USER_BLOCKED
    assert admin_url("events") in html
    # and nothing of bravo's is anywhere on the page
    assert "bravo-only-client" not in html
    assert bravo.tenant.slug not in html


def test_a_fresh_tenant_gets_first_steps_instead_of_charts(db):
    # given a new tenant with nothing configured, and its admin
    tenant = TenantFactory(slug="brand-new", name="Brand New Co")
    admin = portal_admin_create(username="newbie", password=PORTAL_PASSWORD, tenants=[tenant])
    client = Client()
    client.force_login(admin)
    # when
    response = client.get(admin_url("index"))
    html = response.content.decode()
    # then it says what to do first, with links, and draws no empty chart
    assert response.status_code == HTTPStatus.OK
    assert 'id="dashboard-empty"' in html
    assert "No tokens yet — create an API, then an application" in html
    assert admin_url("apis_api_add") in html
    assert admin_url("applications_application_add") in html
    assert 'class="pc-chart"' not in html
    assert [step["done"] for step in response.context["first_steps"]] == [False, False, False, False]


def test_a_read_only_member_gets_the_first_steps_without_links_to_add_pages(db):
    # given a read-only member of a fresh tenant
    tenant = TenantFactory(slug="look-only")
    reader = portal_admin_create(username="reader", password=PORTAL_PASSWORD, tenants=[])
    membership_add(tenant=tenant, user=reader, role=TenantMembership.Role.READ_ONLY)
    client = Client()
    client.force_login(reader)
    # when
    response = client.get(admin_url("index"))
    # then the steps are there, as text only
    html = response.content.decode()
    assert 'id="dashboard-empty"' in html
    assert [step["url"] for step in response.context["first_steps"]] == ["", "", "", ""]
    assert admin_url("apis_api_add") not in html


def test_the_first_steps_tick_off_what_is_done(portal_client, alpha):
    # given alpha (an API, an application, a client grant) without any counted token
    # when
    response = portal_client.get(admin_url("index"))
    # then the first three steps are done
    assert response.context["no_tokens"]
    assert [step["done"] for step in response.context["first_steps"]] == [True, True, True, False]


def test_a_superuser_sees_every_tenant_added_up(superuser_client, alpha_traffic):
    # when a superuser who chose no tenant opens the portal
    response = superuser_client.get(admin_url("index"))
    # then the figures are both tenants'
    activity = response.context["activity"]
    assert sum(b.issued for b in activity.hourly) == 103
    assert sum(b.refused for b in activity.hourly) == 51
    assert activity.failed_logins_24h == 32
    assert response.context["counts"].apis == 2


def test_a_member_of_no_tenant_sees_nothing(alpha_traffic):
    # given a portal admin who belongs to no tenant
    lonely = portal_admin_create(username="lonely", password=PORTAL_PASSWORD, tenants=[])
    client = Client()
    client.force_login(lonely)
    # when
    response = client.get(admin_url("index"))
    # then every figure is zero and no event is listed
    activity, counts = response.context["activity"], response.context["counts"]
    assert (counts.apis, counts.applications, counts.users) == (0, 0, 0)
    assert activity.tokens_30d == 0 and activity.failed_logins_30d == 0
    assert response.context["latest_events"] == []


def test_the_charts_never_read_the_raw_logs(portal_client, alpha_traffic):
    # when
    with CaptureQueriesContext(connection) as queries:
        portal_client.get(admin_url("index"))
    # then the raw logs are read only for the few latest events, newest first, with a limit
    raw = [
        q["sql"] for q in queries.captured_queries if re.search(r'"audit_(tokenevent|auditevent)"', q["sql"])
    ]
    assert len(raw) == 2
    for sql in raw:
        assert "ORDER BY" in sql and "LIMIT 9" in sql
        assert "COUNT(" not in sql.upper() and "SUM(" not in sql.upper()
    assert any('"audit_hourlyrollup"' in q["sql"] for q in queries.captured_queries)


def _grow(tenant, application) -> None:
    """Many more rows of every kind the dashboard looks at."""
    now = timezone.now()
    for hours_ago in range(0, 24 * 30, 7):
        record_tokens(tenant, "seccft", 2, now - timedelta(hours=hours_ago), client_id=application.client_id)
        record_tokens(tenant, "feccft", 1, now - timedelta(hours=hours_ago), client_id="typo")
    sign_in_refusals(tenant, failed=20, blocked=5)
    for n in range(5):
        ApiFactory(tenant=tenant)
        ApplicationFactory(tenant=tenant)
        UserFactory(tenant=tenant, username=f"grown-{n}@example.com")


def test_the_dashboards_queries_do_not_grow_with_rows(portal_client, alpha):
    # given the dashboard's queries with little data (one token: the charts are drawn)
    record_tokens(alpha.tenant, "seccft", 1, timezone.now())
    portal_client.get(admin_url("index"))  # (a first request warms per-process caches)
    with CaptureQueriesContext(connection) as few:
        assert portal_client.get(admin_url("index")).status_code == HTTPStatus.OK
    # when the tenant grows by hundreds of events, hours of traffic, APIs, applications and users
    _grow(alpha.tenant, alpha.application)
    with CaptureQueriesContext(connection) as many:
        response = portal_client.get(admin_url("index"))
    # then the page costs the same queries
    assert response.context["activity"].tokens_30d > 0
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


NOW = datetime(2026, 11, 30, 15, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "in_hourly", "in_daily"),
    [
        (NOW, True, True),
        (datetime(2026, 11, 29, 16, 0, tzinfo=UTC), True, True),  # the oldest of the 24 hours
        (datetime(2026, 11, 29, 15, 59, tzinfo=UTC), False, True),  # the hour before it
        (datetime(2026, 11, 1, 0, 0, tzinfo=UTC), False, True),  # the first of the 30 days
        (datetime(2026, 10, 31, 23, 59, tzinfo=UTC), False, False),  # the day before it
    ],
)
def test_the_charts_windows(db, moment, in_hourly, in_daily):
    # given one token at ``moment``
    tenant = TenantFactory()
    record_tokens(tenant, "seccft", 1, moment)
    # when the charts are read at NOW
    activity = dashboard_activity(tenant_ids=frozenset({tenant.pk}), now=NOW)
    # then there are 24 hours ending with the current one, 30 days ending today, and the token
    # is in each window it belongs to
    assert len(activity.hourly) == 24 and activity.hourly[-1].start == NOW.replace(minute=0)
    assert len(activity.daily) == 30 and activity.daily[-1].start.date() == NOW.date()
    assert sum(b.issued for b in activity.hourly) == int(in_hourly)
    assert sum(b.issued for b in activity.daily) == int(in_daily)
