"""The sample Timesheets API over real HTTP: scopes per endpoint, ownership, validation, 404s."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from apps.resource_kit import errors
from apps.timesheets.models import Timesheet
from tests.resource_kit.support import TIMESHEETS_PATH

ENTRY = {"date": "2026-03-02", "hours": "7.50", "project": "Portcullis", "notes": "Resource-server kit"}


def detail_path(timesheet_id: int | str) -> str:
    return f"{TIMESHEETS_PATH}{timesheet_id}/"


def approve_path(timesheet_id: int | str) -> str:
    return f"{TIMESHEETS_PATH}{timesheet_id}/approve"


def assert_insufficient_scope(response, scope: str) -> None:
    description = errors.MSG_INSUFFICIENT_SCOPE.format(scope=scope)
    assert response.status_code == HTTPStatus.FORBIDDEN, response.content
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": description,
        "scope": scope,
    }
    assert response.headers["WWW-Authenticate"].startswith(
        f'Bearer error="insufficient_scope", scope="{scope}"'
    )


def create_timesheet(http, caller, **overrides) -> dict:
    response = http.post(TIMESHEETS_PATH, json={**ENTRY, **overrides}, headers=caller.headers)
    assert response.status_code == HTTPStatus.CREATED, response.content
    return response.json()


# --- Scopes ---------------------------------------------------------------------------------------


def test_read_token_lists_but_cannot_create(http, resource_server):
    # given a token from the token endpoint with read:timesheets only
    reader = resource_server.caller("read:timesheets")
    # when it lists, then tries to create
    listed = http.get(TIMESHEETS_PATH, headers=reader.headers)
    created = http.post(TIMESHEETS_PATH, json=ENTRY, headers=reader.headers)
    # then listing works and creating is refused for lack of create:timesheets
    assert listed.status_code == HTTPStatus.OK, listed.content
    assert listed.json() == []
    assert_insufficient_scope(created, "create:timesheets")
    assert not Timesheet.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("get", TIMESHEETS_PATH, "read:timesheets"),
        ("get", "detail", "read:timesheets"),
        ("post", TIMESHEETS_PATH, "create:timesheets"),
        ("delete", "detail", "delete:timesheets"),
        ("post", "approve", "approve:timesheets"),
    ],
)
def test_every_endpoint_requires_its_scope(http, resource_server, method, path, scope):
    # given a timesheet, and a token holding every scope except the one this endpoint needs
    owner = resource_server.caller("create:timesheets", "read:timesheets", "delete:timesheets")
    timesheet = create_timesheet(http, owner)
    others = [
        s
        for s in ("read:timesheets", "create:timesheets", "delete:timesheets", "approve:timesheets")
        if s != scope
    ]
    caller = resource_server.caller(*others)
    url = {"detail": detail_path(timesheet["id"]), "approve": approve_path(timesheet["id"])}.get(path, path)
    # when it calls the endpoint
    response = http.request(method, url, json=ENTRY, headers=caller.headers)
    # then it is refused, naming the missing scope
    assert_insufficient_scope(response, scope)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", TIMESHEETS_PATH),
        ("post", TIMESHEETS_PATH),
        ("delete", detail_path(1)),
        ("post", approve_path(1)),
    ],
)
def test_every_endpoint_requires_a_token(http, resource_server, method, path):
    # given no token
    # when an endpoint is called
    response = http.request(method, path, json=ENTRY)
    # then 401 with a Bearer challenge
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="{resource_server.api.identifier}"'


# --- Create ---------------------------------------------------------------------------------------


def test_create_records_the_tokens_subject_as_owner(http, resource_server):
    # given a token with create:timesheets
    caller = resource_server.caller("create:timesheets")
    # when it creates a timesheet, trying to name another owner and pre-approve it
    response = http.post(
        TIMESHEETS_PATH,
        json={**ENTRY, "owner_sub": "someone-else", "approved": True, "approved_by": "me"},
        headers=caller.headers,
    )
    # then the owner is the token's sub, and approval is not the caller's to set
    assert response.status_code == HTTPStatus.CREATED, response.content
    body = response.json()
    assert body["owner_sub"] == caller.sub
    assert body["approved"] is False
    assert body["approved_by"] == ""
    assert body["hours"] == "7.50"
    assert response.headers["Location"] == f"{resource_server.base_url}{detail_path(body['id'])}"
    assert Timesheet.objects.get(pk=body["id"]).owner_sub == caller.sub


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hours": "0"}, "hours"),
        ({"hours": "-1"}, "hours"),
        ({"hours": "24.01"}, "hours"),
        ({"hours": "25"}, "hours"),
        ({"hours": "1.005"}, "hours"),
        ({"hours": "lots"}, "hours"),
        ({"date": "yesterday"}, "date"),
        ({"project": ""}, "project"),
        ({"project": None}, "project"),
        ({"project": "x" * 201}, "project"),
    ],
)
def test_invalid_timesheet_is_a_400_with_field_errors(http, resource_server, change, field):
    # given a token with create:timesheets
    caller = resource_server.caller("create:timesheets")
    # when it sends an invalid timesheet
    response = http.post(TIMESHEETS_PATH, json={**ENTRY, **change}, headers=caller.headers)
    # then 400 JSON names the field, and nothing is stored
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert field in response.json()
    assert not Timesheet.objects.exists()


@pytest.mark.parametrize("hours", ["0.25", "24", 8])
def test_hours_up_to_a_full_day_are_accepted(http, resource_server, hours):
    # given a token with create:timesheets
    caller = resource_server.caller("create:timesheets")
    # when it reports hours within a day
    response = http.post(TIMESHEETS_PATH, json={**ENTRY, "hours": hours}, headers=caller.headers)
    # then they are stored
    assert response.status_code == HTTPStatus.CREATED, response.content


def test_body_must_be_json(http, resource_server):
    # given a token with create:timesheets
    caller = resource_server.caller("create:timesheets")
    # when it posts a form instead of JSON
    response = http.post(TIMESHEETS_PATH, data=ENTRY, headers=caller.headers)
    # then the API says it only takes JSON
    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE


# --- Read -----------------------------------------------------------------------------------------


def test_callers_see_their_own_timesheets_and_approvers_see_all(http, resource_server):
    # given two callers with a timesheet each, and an approver
    alice = resource_server.caller("create:timesheets", "read:timesheets")
    bob = resource_server.caller("create:timesheets", "read:timesheets")
    approver = resource_server.caller("read:timesheets", "approve:timesheets")
    alices = create_timesheet(http, alice, date="2026-03-02")
    bobs = create_timesheet(http, bob, date="2026-03-03")
    # when each lists
    seen = {
        name: [t["id"] for t in http.get(TIMESHEETS_PATH, headers=who.headers).json()]
        for name, who in {"alice": alice, "bob": bob, "approver": approver}.items()
    }
    # then each sees their own, the approver sees both (newest date first)
    assert seen == {"alice": [alices["id"]], "bob": [bobs["id"]], "approver": [bobs["id"], alices["id"]]}


def test_someone_elses_timesheet_is_not_found(http, resource_server):
    # given bob's timesheet
    bob = resource_server.caller("create:timesheets")
    timesheet = create_timesheet(http, bob)
    alice = resource_server.caller("read:timesheets", "delete:timesheets")
    # when alice reads or deletes it
    read = http.get(detail_path(timesheet["id"]), headers=alice.headers)
    deleted = http.delete(detail_path(timesheet["id"]), headers=alice.headers)
    # then it does not exist for her, and is untouched
    assert read.status_code == deleted.status_code == HTTPStatus.NOT_FOUND
    assert Timesheet.objects.filter(pk=timesheet["id"]).exists()


def test_own_timesheet_can_be_read(http, resource_server):
    # given a caller's timesheet
    caller = resource_server.caller("create:timesheets", "read:timesheets")
    timesheet = create_timesheet(http, caller)
    # when it reads it back
    response = http.get(detail_path(timesheet["id"]), headers=caller.headers)
    # then it gets the same representation
    assert response.status_code == HTTPStatus.OK
    assert response.json() == timesheet


# --- Delete ---------------------------------------------------------------------------------------


def test_delete_with_delete_scope(http, resource_server):
    # given a caller's timesheet and a token with delete:timesheets
    caller = resource_server.caller("create:timesheets", "delete:timesheets")
    timesheet = create_timesheet(http, caller)
    # when it deletes it
    response = http.delete(detail_path(timesheet["id"]), headers=caller.headers)
    # then it is gone
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not Timesheet.objects.filter(pk=timesheet["id"]).exists()


@pytest.mark.parametrize("timesheet_id", ["999999", "abc"])
def test_unknown_timesheet_is_a_json_404(http, resource_server, timesheet_id):
    # given a caller allowed to read, delete and approve
    caller = resource_server.caller("read:timesheets", "delete:timesheets", "approve:timesheets")
    # when it names a timesheet that does not exist
    responses = [
        http.get(detail_path(timesheet_id), headers=caller.headers),
        http.delete(detail_path(timesheet_id), headers=caller.headers),
        http.post(approve_path(timesheet_id), headers=caller.headers),
    ]
    # then each answer is a JSON 404
    for response in responses:
        assert response.status_code == HTTPStatus.NOT_FOUND, response.content
        assert response.headers["Content-Type"] == "application/json"
        assert "detail" in response.json()


# --- Approve --------------------------------------------------------------------------------------


def test_approve_with_approve_scope(http, resource_server):
    # given someone's timesheet and an approver's token
    owner = resource_server.caller("create:timesheets")
    timesheet = create_timesheet(http, owner)
    approver = resource_server.caller("approve:timesheets")
    # when the approver approves it
    response = http.post(approve_path(timesheet["id"]), headers=approver.headers)
    # then it is approved by the approver's subject
    assert response.status_code == HTTPStatus.OK, response.content
    assert response.json()["approved"] is True
    assert response.json()["approved_by"] == approver.sub
    stored = Timesheet.objects.get(pk=timesheet["id"])
    assert (stored.approved, stored.approved_by) == (True, approver.sub)


def test_approving_twice_keeps_the_first_approver(http, resource_server):
    # given a timesheet approved once
    owner = resource_server.caller("create:timesheets")
    timesheet = create_timesheet(http, owner)
    first = resource_server.caller("approve:timesheets")
    second = resource_server.caller("approve:timesheets")
    http.post(approve_path(timesheet["id"]), headers=first.headers)
    # when another approver approves it again
    response = http.post(approve_path(timesheet["id"]), headers=second.headers)
    # then nothing changes
    assert response.status_code == HTTPStatus.OK
    assert response.json()["approved_by"] == first.sub
