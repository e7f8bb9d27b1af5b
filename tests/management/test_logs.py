"""logs and logs/{id}: the token log and the audit trail as Auth0 log events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.services import login_success_record
from apps.audit.models import AuditEvent, TokenEvent
from apps.management.api.logs import LogKey, log_search
from apps.oauth.claims import user_subject
from tests.factories import AuditEventFactory, TenantFactory, TokenEventFactory, UserFactory

DAY = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def history(mgmt):
    """Four events a minute apart, oldest first: a token, a sign-in, a failed token, a block."""
    tenant = mgmt.tenant
    mgmt._token = mgmt.token()  # logged too: then cleared with provisioning's own events
    AuditEvent.objects.filter(tenant=tenant).delete()
    TokenEvent.objects.filter(tenant=tenant).delete()
    return [
        TokenEventFactory(tenant=tenant, type="seccft", client_id="m2m-1", created_at=DAY),
        AuditEventFactory(
            tenant=tenant, type="user.login", target="ann@example.com", data={"ip": "203.0.113.9", "client_id": "web-1"},
            created_at=DAY + timedelta(minutes=1),
        ),
        TokenEventFactory(
            tenant=tenant, type="feccft", client_id="m2m-1", error="access_denied", error_description="Denied",
            created_at=DAY + timedelta(minutes=2),
        ),
        AuditEventFactory(
            tenant=tenant, type="user.blocked", target="ann@example.com", data={"ip": "203.0.113.9"},
            created_at=DAY + timedelta(minutes=3),
        ),
    ]  # fmt: skip


def test_list_merges_both_logs_newest_first_in_auth0_shape(mgmt, history):
    # when
    response = mgmt.call("GET", "logs")
    # then
    assert response.status_code == HTTPStatus.OK
    logs = response.json()
    assert [log["type"] for log in logs] == ["limit_wc", "feccft", "s", "seccft"]
    blocked, failed, login, issued = logs
    assert issued == {
        "log_id": LogKey(DAY, "1", history[0].pk).log_id,
        "date": "2026-03-01T12:00:00Z",
        "type": "seccft",
        "description": "Success exchange (client credentials for access token)",
        "client_id": "m2m-1",
        "audience": "https://api.example.com",
        "scope": "read:things",
        "ip": "198.51.100.7",
        "details": {},
    }
    assert (failed["description"], failed["details"]) == ("Denied", {"error": "access_denied"})
    assert (login["client_id"], login["ip"], login["user_name"]) == (
        "web-1",
        "203.0.113.9",
        "ann@example.com",
    )
    assert login["details"]["audit_type"] == "user.login"
    assert blocked["description"].startswith("Sign-ins blocked")


def test_management_api_writes_are_sapi_with_the_client(mgmt, history):
    # given
    mgmt.call("PATCH", "attack-protection/brute-force-protection", json={"max_attempts": 5})
    # when
    logs = mgmt.call("GET", "logs", params={"q": "type:sapi"}).json()
    # then
    assert [(log["type"], log["client_id"], log["details"]["audit_type"]) for log in logs] == [
        ("sapi", mgmt.client_id, "tenant.updated")
    ]


@pytest.mark.parametrize(
    ("q", "types"),
    [
        ("type:seccft", ["seccft"]),
        ("type:(s OR limit_wc)", ["limit_wc", "s"]),
        ("client_id:m2m-1", ["feccft", "seccft"]),
        ("client_id:web-1 AND type:s", ["s"]),
        ("ip:203.0.113.9", ["limit_wc", "s"]),
        ("date:[2026-03-01T12:01:00Z TO 2026-03-01T12:02:00Z]", ["feccft", "s"]),
        ("date:[2026-03-01T12:02:00Z TO *]", ["limit_wc", "feccft"]),
        ("date:2026-03-01", ["limit_wc", "feccft", "s", "seccft"]),
        ("date:[* TO 2026-02-28]", []),
        ("type:f", []),
    ],
)
def test_q_filters(mgmt, history, q, types):
    # when
    response = mgmt.call("GET", "logs", params={"q": q})
    # then
    assert response.status_code == HTTPStatus.OK, response.text
    assert [log["type"] for log in response.json()] == types


def test_paging_with_totals_and_ascending_sort(mgmt, history):
    # when
    response = mgmt.call(
        "GET", "logs", params={"page": 1, "per_page": 2, "include_totals": "true", "sort": "date:1"}
    )
    # then
    body = response.json()
    assert {k: body[k] for k in ("start", "limit", "length", "total")} == {
        "start": 2,
        "limit": 2,
        "length": 2,
        "total": 4,
    }
    assert [log["type"] for log in body["logs"]] == ["feccft", "limit_wc"]


def test_checkpoint_reads_after_a_log_id_in_log_id_order_with_a_next_link(mgmt, history):
    # given
    first = mgmt.call("GET", "logs", params={"take": 2}).json()
    assert [log["type"] for log in first] == ["seccft", "s"]
    # when
    response = mgmt.call("GET", "logs", params={"from": first[-1]["log_id"], "take": 2})
    # then
    assert [log["type"] for log in response.json()] == ["feccft", "limit_wc"]
    assert f"from={response.json()[-1]['log_id']}" in response.headers["Link"]
    assert response.headers["Link"].endswith('rel="next"')
    rest = mgmt.call("GET", "logs", params={"from": response.json()[-1]["log_id"], "take": 2})
    assert rest.json() == []


def test_checkpoint_leaves_the_last_seconds_for_later(mgmt, history):
    # given an event just now (a token batch could still bring older ones)
    TokenEventFactory(tenant=mgmt.tenant, created_at=timezone.now())
    # when
    logs = mgmt.call("GET", "logs", params={"from": LogKey(DAY, "0", 0).log_id, "take": 100}).json()
    # then
    assert len(logs) == 4


def test_user_id_is_the_users_endpoints_id_and_filters_the_log(mgmt, history):
    # given: Ada signs in; the API renames her; Bob signs in; a portal admin changes a setting
    ada = UserFactory(tenant=mgmt.tenant, username="ada@example.com")
    bob = UserFactory(tenant=mgmt.tenant, username="bob@example.com")
    admin = UserFactory(tenant=None, username="admin")
    login_success_record(tenant=mgmt.tenant, user=ada, username=ada.username, ip="203.0.113.1")
    renamed = mgmt.call("PATCH", f"users/{user_subject(ada)}", json={"given_name": "Ada"})
    login_success_record(tenant=mgmt.tenant, user=bob, username=bob.username, ip="203.0.113.2")
    AuditEventFactory(tenant=mgmt.tenant, type="tenant.updated", actor=admin, actor_label="admin")
    ada_id = mgmt.call("GET", f"users/{user_subject(ada)}").json()["user_id"]
    # when
    logs = mgmt.call("GET", "logs").json()
    adas = mgmt.call("GET", "logs", params={"q": f'user_id:"{ada_id}"'})
    # then: the log names users exactly as the users endpoints do; the query finds Ada's events only
    assert renamed.status_code == HTTPStatus.OK
    by_user = [
        (log["details"]["audit_type"], log.get("user_id")) for log in logs if "audit_type" in log["details"]
    ]
    assert by_user[:4] == [
        ("tenant.updated", None),
        ("user.login", user_subject(bob)),
        ("user.updated", ada_id),
        ("user.login", ada_id),
    ]
    assert adas.status_code == HTTPStatus.OK, adas.text
    assert [(log["type"], log["user_id"]) for log in adas.json()] == [("sapi", ada_id), ("s", ada_id)]
    assert (
        mgmt.call("GET", "logs", params={"q": f"user_id:{user_subject(bob)} AND type:s"}).json()[0][
            "user_name"
        ]
        == bob.username
    )


@pytest.mark.parametrize("value", ['"auth0|999999999"', '"someone"', "(auth0|1 OR google|2)"])
def test_a_user_id_of_no_one_here_finds_nothing(mgmt, history, value):
    # when
    response = mgmt.call("GET", "logs", params={"q": f"user_id:{value}"})
    # then (the token log, which records no user, never matches)
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json() == []


def test_get_one_log_by_id(mgmt, history):
    # given
    log_id = LogKey(DAY + timedelta(minutes=1), "0", history[1].pk).log_id
    # when
    response = mgmt.call("GET", f"logs/{log_id}")
    # then
    assert response.status_code == HTTPStatus.OK
    assert (response.json()["log_id"], response.json()["type"]) == (log_id, "s")


def test_another_tenants_log_is_not_found(mgmt, other_mgmt):
    # given
    event = TokenEventFactory(tenant=other_mgmt.tenant, created_at=DAY)
    # when
    response = mgmt.call("GET", f"logs/{LogKey(DAY, '1', event.pk).log_id}")
    # then
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["errorCode"] == "inexistent_log"
    assert other_mgmt.call("GET", f"logs/{LogKey(DAY, '1', event.pk).log_id}").status_code == HTTPStatus.OK


@pytest.mark.parametrize("log_id", ["nope", "1" * 30, LogKey(DAY, "0", 999_999_999).log_id])
def test_unknown_log_id_is_not_found(mgmt, log_id):
    assert mgmt.call("GET", f"logs/{log_id}").status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize(
    "params",
    [
        {"q": "user.email:x"},
        {"q": "client_id:x OR type:s"},
        {"q": "date:[yesterday TO today]"},
        {"per_page": "0"},
        {"per_page": "101"},
        {"page": "-1"},
        {"page": "20", "per_page": "50"},
        {"sort": "type:1"},
        {"take": "0"},
        {"take": "many"},
        {"from": "123"},
        {"q": "client_id:a\x00b"},  # Postgres text cannot hold NUL: 400, not a 500
    ],
)
def test_bad_query_is_refused_in_auth0_shape(mgmt, params):
    # when
    response = mgmt.call("GET", "logs", params=params)
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.text
    assert response.json()["errorCode"] == "invalid_query_string"
    assert response.json()["message"].startswith("Query validation error")


@pytest.mark.parametrize("path", ["logs", "logs/{id}".format(id="0" * 30)])
def test_logs_need_read_logs(mgmt, path):
    # when
    response = mgmt.call("GET", path, token=mgmt.token(["read:clients"]))
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "read:logs" in response.json()["message"]


def test_another_tenants_token_is_refused(mgmt, other_mgmt):
    assert mgmt.call("GET", "logs", token=other_mgmt.token()).status_code == HTTPStatus.UNAUTHORIZED


def test_search_reads_a_bounded_number_of_rows_in_a_fixed_number_of_queries(db):
    # given many events in two tenants
    tenant, other = TenantFactory(), TenantFactory()
    for minute in range(30):
        TokenEventFactory(tenant=tenant, created_at=DAY + timedelta(minutes=minute))
        AuditEventFactory(tenant=tenant, created_at=DAY + timedelta(minutes=minute, seconds=30))
        TokenEventFactory(tenant=other, created_at=DAY + timedelta(minutes=minute))
    # when
    with CaptureQueriesContext(connection) as queries:
        logs, total = log_search(tenant=tenant, q="", page=1, per_page=10, ascending=False, with_total=True)
    # then: one query per table and one count per table, whatever the page size
    assert len(queries) == 4
    assert total == AuditEvent.objects.filter(tenant=tenant).count() + 30
    assert len(logs) == 10
    assert all(str(tenant.pk) in q["sql"] for q in queries.captured_queries)
