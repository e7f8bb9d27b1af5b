"""The events page (``/admin/events/``): both logs of the working tenant, newest first, filtered, paged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts.services import portal_admin_create
from apps.apis.services import api_create
from apps.audit import token_log
from apps.audit.models import AuditEvent, TokenEvent
from apps.dashboard.selectors import EventCursor
from tests.dashboard.conftest import PORTAL_PASSWORD, TenantWorld, admin_url
from tests.factories import AuditEventFactory

W = datetime(2020, 1, 1, 10, 0, tzinfo=UTC)  # a quiet hour: no other test data is there
WINDOW = {"since": "2020-01-01T10:00", "until": "2020-01-01T10:59"}


def token_event(tenant, type_: str, minute: int, client_id: str, **fields) -> None:
    token_log.token_event_record(
        tenant_id=tenant.pk,
        type=type_,
        client_id=client_id,
        created_at=W + timedelta(minutes=minute),
        **fields,
    )


@pytest.fixture
def window_events(alpha: TenantWorld, bravo: TenantWorld) -> None:
    """Five events of alpha's and two of bravo's (same username, same minute) in the window."""
    app = alpha.application.client_id
    token_event(alpha.tenant, "seccft", 1, app, audience="https://api.example.com", scope="read:things")
    AuditEventFactory(
        tenant=alpha.tenant,
        type=AuditEvent.Type.USER_LOGIN_FAILED,
        target="eve@example.com",
        data={"ip": "198.51.100.9", "reason": "invalid_grant"},
        created_at=W + timedelta(minutes=2),
    )
    token_event(alpha.tenant, "feccft", 3, app, error="access_denied", error_description="Not granted")
    AuditEventFactory(
        tenant=alpha.tenant,
        type=AuditEvent.Type.APPLICATION_SECRET_ROTATED,
        target=app,
        actor_label="pat",
        created_at=W + timedelta(minutes=4),
    )
    token_event(alpha.tenant, "seccft", 5, "another-client")
    token_event(bravo.tenant, "seccft", 3, "bravo-only-client")
    AuditEventFactory(
        tenant=bravo.tenant,
        type=AuditEvent.Type.USER_LOGIN_FAILED,
        target="eve@example.com",
        created_at=W + timedelta(minutes=4),
    )


def listed(client, **params) -> list[tuple[str, str, int]]:
    """The page's rows as ``(type, minute of the window, ...)``: ``(type, tenant slug, minute)``."""
    response = client.get(admin_url("events"), {**WINDOW, **params})
    assert response.status_code == HTTPStatus.OK
    return [
        (row.type, row.tenant_slug, int((row.created_at - W).total_seconds() // 60))
        for row in response.context["page"].rows
    ]


def test_both_logs_newest_first(portal_client, window_events):
    assert listed(portal_client) == [
        ("seccft", "alpha-corp", 5),
        ("application.secret_rotated", "alpha-corp", 4),
        ("feccft", "alpha-corp", 3),
        ("user.login_failed", "alpha-corp", 2),
        ("seccft", "alpha-corp", 1),
    ]


@pytest.mark.parametrize(
    ("params", "minutes"),
    [
        pytest.param({"type": "feccft"}, [3], id="a token log type"),
        pytest.param({"type": "user.login_failed"}, [2], id="an audit type"),
        pytest.param({"type": "token"}, [5, 3, 1], id="the whole token log"),
        pytest.param({"type": "audit"}, [4, 2], id="the whole audit trail"),
        pytest.param({"user": "eve@example.com"}, [2], id="a user (target)"),
        pytest.param({"user": "pat"}, [4], id="a user (actor)"),
        pytest.param({"since": "2020-01-01T10:02", "until": "2020-01-01T10:03"}, [3, 2], id="a time range"),
        pytest.param({"type": "seccft", "since": "2020-01-01T10:02"}, [5], id="type and time"),
    ],
)
def test_filters(portal_client, window_events, params, minutes):
    assert [minute for _, _, minute in listed(portal_client, **params)] == minutes


def test_the_application_filter_has_its_tokens_and_its_changes(portal_client, window_events, alpha):
    rows = listed(portal_client, client_id=alpha.application.client_id)
    assert rows == [
        ("application.secret_rotated", "alpha-corp", 4),
        ("feccft", "alpha-corp", 3),
        ("seccft", "alpha-corp", 1),
    ]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"client_id": "bravo-only-client"},
        {"user": "eve@example.com"},
        {"type": "seccft"},
        {"type": "audit"},
    ],
)
def test_another_tenants_events_are_never_listed(portal_client, window_events, params):
    # when alpha's admin asks, even for bravo's own client id or a username both tenants have
    response = portal_client.get(admin_url("events"), {**WINDOW, **params})
    html = response.content.decode()
    listing = html[html.index('<table id="events-list">') :]
    # then nothing of bravo's is listed (the filter box shows what was typed, nothing more)
    assert all(row.tenant_slug == "alpha-corp" for row in response.context["page"].rows)
    assert "bravo-only-client" not in listing and "bravo-corp" not in html


def test_a_superuser_sees_every_tenant_with_its_name(superuser_client, window_events):
    rows = listed(superuser_client, type="seccft")
    assert rows == [("seccft", "alpha-corp", 5), ("seccft", "bravo-corp", 3), ("seccft", "alpha-corp", 1)]
    html = superuser_client.get(admin_url("events"), WINDOW).content.decode()
    assert '<th scope="col">Tenant</th>' in html


def test_the_application_suggestions_are_the_tenants(portal_client, alpha, bravo):
    html = portal_client.get(admin_url("events")).content.decode()
    assert f'<option value="{alpha.application.client_id}">' in html
    assert bravo.application.client_id not in html


def test_pages_follow_each_other_without_gaps_or_repeats(portal_client, alpha):
    # given 130 events of both logs, many sharing the same microsecond (within a log and across both)
    for n in range(65):
        moment = W + timedelta(seconds=n // 4)
        token_log.token_event_record(
            tenant_id=alpha.tenant.pk, type="seccft", client_id=f"c{n}", created_at=moment
        )
        AuditEventFactory(tenant=alpha.tenant, type="api.updated", target=f"api-{n}", created_at=moment)
    # when the pages are walked with "Older events"
    seen: list[tuple[str, int]] = []
    moments: list[datetime] = []
    response = portal_client.get(admin_url("events"), WINDOW)
    pages = 0
    while True:
        pages += 1
        page = response.context["page"]
        seen += [(row.kind, row.pk) for row in page.rows]
        moments += [row.created_at for row in page.rows]
        if not response.context["older_url"]:
            break
        assert 'id="events-older"' in response.content.decode()
        response = portal_client.get(admin_url("events") + response.context["older_url"])
        assert 'id="events-newest"' in response.content.decode()
    # then every event was listed once, newest first, 50 a page
    assert pages == 3
    assert len(seen) == len(set(seen)) == 130
    assert moments == sorted(moments, reverse=True)


def test_a_broken_cursor_starts_at_the_newest(portal_client, window_events):
    response = portal_client.get(admin_url("events"), {**WINDOW, "before": "not-a-cursor"})
    assert response.status_code == HTTPStatus.OK
    assert len(response.context["page"].rows) == 5


def test_cursors_survive_the_url():
    cursor = EventCursor(created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), kind="audit", pk=42)
    assert EventCursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"since": "yesterday-ish"}, "Enter a valid date/time."),
        ({"type": "no.such.type"}, "Select a valid choice."),
        ({"since": "2020-01-02T00:00", "until": "2020-01-01T00:00"}, "“To” is before “From”."),
    ],
)
def test_bad_filters_are_shown_not_a_crash(portal_client, alpha, params, error):
    response = portal_client.get(admin_url("events"), params)
    assert response.status_code == HTTPStatus.OK
    assert response.context["page"] is None
    assert error in response.content.decode()


def test_the_page_is_behind_the_admin_sign_in(db):
    response = Client().get(admin_url("events"))
    assert response.status_code == HTTPStatus.FOUND
    assert admin_url("login") in response["Location"]


def test_without_permission_to_view_events_the_page_is_forbidden(alpha):
    # given a portal admin of alpha who has lost the permissions of the admins' group
    admin = portal_admin_create(username="nobody", password=PORTAL_PASSWORD, tenants=[alpha.tenant])
    admin.groups.clear()
    client = Client()
    client.force_login(admin)
    # when / then
    assert client.get(admin_url("events")).status_code == HTTPStatus.FORBIDDEN


def test_every_change_and_every_token_is_an_event(portal_client, portal_admin, alpha, http):
    # when the admin creates an API, and the application gets a token and is refused one
    api_create(
        tenant=alpha.tenant, name="Ledger", identifier="https://ledger.example.com", actor=portal_admin
    )
    form = {
        "grant_type": "client_credentials",
        "client_id": alpha.application.client_id,
        "client_secret": alpha.application.plaintext_secret,
        "audience": alpha.api.identifier,
    }
    assert http.post(f"/t/{alpha.tenant.slug}/oauth/token", data=form).status_code == HTTPStatus.OK
    assert http.post(
        f"/t/{alpha.tenant.slug}/oauth/token", data={**form, "audience": "https://nope"}
    ).status_code
    # then the events page lists all three, newest first
    rows = portal_client.get(admin_url("events")).context["page"].rows
    assert [(row.type, row.application or row.user) for row in rows[:3]] == [
        (TokenEvent.Type.FAILED_CLIENT_CREDENTIALS, alpha.application.client_id),
        (TokenEvent.Type.SUCCESS_CLIENT_CREDENTIALS, alpha.application.client_id),
        (AuditEvent.Type.API_CREATED, "pat"),
    ]


def test_the_pages_queries_do_not_grow_with_rows(portal_client, alpha):
    # given the page's queries over a few events
    portal_client.get(admin_url("events"))
    with CaptureQueriesContext(connection) as few:
        portal_client.get(admin_url("events"))
    # when there are hundreds more, of both logs
    for n in range(150):
        token_log.token_event_record(tenant_id=alpha.tenant.pk, type="seccft", client_id="c", created_at=W)
        AuditEventFactory(tenant=alpha.tenant, type="api.updated", created_at=W + timedelta(seconds=n))
    with CaptureQueriesContext(connection) as many:
        response = portal_client.get(admin_url("events"))
    # then a full page costs the same queries (one per log, each with a LIMIT)
    assert len(response.context["page"].rows) == 50
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    reads = [q["sql"] for q in many.captured_queries if 'FROM "audit_' in q["sql"]]
    assert len(reads) == 2 and all("LIMIT 51" in sql for sql in reads)
