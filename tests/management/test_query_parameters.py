"""Auth0's query parameters that many GETs share, over real HTTP: ``fields``/``include_fields`` (which
properties are answered) and checkpoint paging (``from``/``take``), each implemented once in
``ManagementView`` and ``pagination`` and declared per endpoint where Auth0's reference has it."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from apps.applications.models import Application
from apps.grants.models import ClientGrant
from apps.management.api.pagination import MSG_FROM, MSG_TAKE
from apps.oauth.claims import user_subject
from tests.factories import (
    ApiFactory,
    ApplicationFactory,
    AuditEventFactory,
    ClientGrantFactory,
    RoleFactory,
    UserFactory,
)
from tests.management.test_users import assert_error


def _objects(mgmt) -> dict[str, str]:
    """One of each kind an endpoint below answers, in ``mgmt``'s tenant; their paths by name."""
    application = ApplicationFactory(tenant=mgmt.tenant, name="Worker")
    api = ApiFactory(tenant=mgmt.tenant, name="Things")
    user = UserFactory(tenant=mgmt.tenant, email="ada@example.com")
    AuditEventFactory(tenant=mgmt.tenant, type="user.login", target="ada@example.com")
    return {
        "client": f"clients/{application.client_id}",
        "resource_server": f"resource-servers/{api.pk}",
        "user": f"users/{user_subject(user)}",
    }


# (path, key of the items in the envelope or None for one object, a property it answers, a property
# Auth0 has that we do not answer, whether Auth0 refuses names it does not know)
ENDPOINTS = [
    ("clients", "clients", "name", "logo_uri", True),
    ("{client}", None, "name", "logo_uri", True),
    ("users", "users", "email", "picture", False),
    ("{user}", None, "email", "picture", True),
    ("resource-servers", "resource_servers", "identifier", "signing_secret", False),
    ("{resource_server}", None, "identifier", "signing_secret", False),
    ("logs", "logs", "type", "user_agent", True),
]


def _items(body, key: str | None) -> list[dict]:
    return body if key is None and isinstance(body, list) else [body] if key is None else body


@pytest.mark.parametrize(("path", "key", "name", "unanswered", "strict"), ENDPOINTS)
def test_fields_keep_or_drop_the_named_properties(mgmt, path, key, name, unanswered, strict):
    # given
    path = path.format(**_objects(mgmt))
    whole = mgmt.call("GET", path).json()
    # when
    kept = mgmt.call("GET", path, params={"fields": f"{name},{unanswered}"})
    dropped = mgmt.call("GET", path, params={"fields": name, "include_fields": "false"})
    # then: only the named property (and a log's log_id, which a reader always needs), or all but it
    assert kept.status_code == dropped.status_code == HTTPStatus.OK, (kept.text, dropped.text)
    always = {"log_id"} if path == "logs" else set()
    for full, only, without in zip(
        _items(whole, key), _items(kept.json(), key), _items(dropped.json(), key), strict=True
    ):
        assert set(only) == {name} | always and only[name] == full[name]
        assert without == {prop: value for prop, value in full.items() if prop != name}
    assert len(_items(kept.json(), key)) >= 1


@pytest.mark.parametrize(("path", "key", "name", "unanswered", "strict"), ENDPOINTS)
def test_a_field_auth0_does_not_know_is_refused_where_auth0_refuses_it_else_ignored(
    mgmt, path, key, name, unanswered, strict
):
    # given
    path = path.format(**_objects(mgmt))
    whole = mgmt.call("GET", path).json()
    # when
    response = mgmt.call("GET", path, params={"fields": "no_such_field"})
    # then
    if strict:
        assert_error(
            response, HTTPStatus.BAD_REQUEST, "invalid_query_string", "'fields' may not name no_such_field"
        )
    else:
        assert response.status_code == HTTPStatus.OK and response.json() == whole


def test_fields_cut_the_items_of_the_paging_envelope_not_the_envelope(mgmt):
    # given
    ApplicationFactory(tenant=mgmt.tenant, name="Worker")
    # when
    response = mgmt.call(
        "GET", "clients", params={"fields": "client_id", "include_totals": "true", "per_page": 1}
    )
    # then
    body = response.json()
    assert {k: body[k] for k in ("start", "limit", "length", "total")} == {
        "start": 0,
        "limit": 1,
        "length": 1,
        "total": 2,
    }
    assert [set(client) for client in body["clients"]] == [{"client_id"}]


def test_fields_apply_to_reads_only(mgmt):
    # when a client is created with fields in the query
    response = mgmt.call(
        "POST", "clients", params={"fields": "name"}, json={"name": "Cron", "app_type": "non_interactive"}
    )
    # then the whole client is answered, secret included
    assert response.status_code == HTTPStatus.CREATED, response.text
    assert {"name", "client_id", "client_secret", "app_type"} <= set(response.json())


@pytest.mark.parametrize("value", ["yes", "1", "maybe"])
def test_include_fields_must_be_true_or_false(mgmt, value):
    response = mgmt.call("GET", "clients", params={"fields": "name", "include_fields": value})
    assert_error(
        response, HTTPStatus.BAD_REQUEST, "invalid_query_string", "'include_fields' must be true or false"
    )


def test_the_openapi_document_lists_the_parameters_where_the_endpoints_take_them(mgmt):
    # when
    paths = mgmt.http.get(f"{mgmt.base}openapi.json").json()["paths"]

    def names(path: str) -> set[str]:
        return {parameter["name"] for parameter in paths[path]["get"].get("parameters", [])}

    # then
    for path in ("/clients", "/clients/{client_id}", "/users", "/users/{id}", "/resource-servers", "/logs"):
        assert {"fields", "include_fields"} <= names(path), path
    for path in ("/clients", "/client-grants", "/roles/{id}/users", "/logs"):
        assert {"from", "take"} <= names(path), path
    assert not {"fields", "from"} & names("/roles")
    assert "sort" in names("/users")


# --- checkpoint paging ------------------------------------------------------------------------------------
def _clients(mgmt, count: int) -> list[str]:
    for number in range(count):
        ApplicationFactory(tenant=mgmt.tenant, name=f"App {number}")
    return list(
        Application.objects.filter(tenant=mgmt.tenant).order_by("pk").values_list("client_id", flat=True)
    )


def _client_grants(mgmt, count: int) -> tuple[str, str, list[str]]:
    api = ApiFactory(tenant=mgmt.tenant)
    for _ in range(count):
        ClientGrantFactory(application=ApplicationFactory(tenant=mgmt.tenant), api=api)
    ids = sorted(ClientGrant.objects.filter(tenant=mgmt.tenant).values_list("pk", flat=True))
    return "client-grants", "id", [str(pk) for pk in ids]


def _role_users(mgmt, count: int) -> tuple[str, str, list[str]]:
    role = RoleFactory(tenant=mgmt.tenant)
    users = [UserFactory(tenant=mgmt.tenant) for _ in range(count)]
    user_roles_assign_all = mgmt.call(
        "POST", f"roles/rol_{role.pk}/users", json={"users": [user_subject(user) for user in users]}
    )
    assert user_roles_assign_all.status_code == HTTPStatus.OK
    return f"roles/rol_{role.pk}/users", "user_id", [user_subject(user) for user in users]


# endpoint -> (a setup making ``n`` objects: (path, id property, the ids in order), the items' key)
CHECKPOINTED = {
    "clients": (lambda mgmt, n: ("clients", "client_id", _clients(mgmt, n)), "clients"),
    "client-grants": (_client_grants, "client_grants"),
    "roles/{id}/users": (_role_users, "users"),
}


@pytest.mark.parametrize("endpoint", sorted(CHECKPOINTED))
def test_checkpoints_read_everything_once_in_pages_of_take(mgmt, endpoint):
    # given five objects (more in the tenant for clients and grants: its management client and grant)
    setup, key = CHECKPOINTED[endpoint]
    path, id_name, expected = setup(mgmt, 5)
    # when read two at a time, following "next"
    pages, params = [], {"take": 2}
    while True:
        response = mgmt.call("GET", path, params=params)
        assert response.status_code == HTTPStatus.OK, response.text
        body = response.json()
        assert set(body) <= {key, "next"}
        pages.append([item[id_name] for item in body[key]])
        if "next" not in body:
            break
        params = {"from": body["next"], "take": 2}
    # then every object came once, in order, two per page, and the last page says there is no more
    assert [item for page in pages for item in page] == expected
    assert [len(page) for page in pages[:-1]] == [2] * (len(pages) - 1) and 1 <= len(pages[-1]) <= 2


def test_a_checkpoint_survives_changes_between_pages(mgmt):
    # given the first page of clients
    ids = _clients(mgmt, 3)
    first = mgmt.call("GET", "clients", params={"take": 2}).json()
    assert [client["client_id"] for client in first["clients"]] == ids[:2]
    # when the last client read is deleted and one is added
    mgmt.call("DELETE", f"clients/{ids[1]}")
    added = ApplicationFactory(tenant=mgmt.tenant, name="Late")
    rest = mgmt.call("GET", "clients", params={"from": first["next"]}).json()
    # then the next page goes on where the first stopped, with the new one at the end
    assert [client["client_id"] for client in rest["clients"]] == [*ids[2:], added.client_id]
    assert "next" not in rest


def test_without_from_or_take_a_list_pages_by_offset(mgmt):
    _clients(mgmt, 2)
    body = mgmt.call("GET", "clients", params={"per_page": 1, "include_totals": "true"}).json()
    assert body["total"] == 3 and body["limit"] == 1 and "next" not in body


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"take": "0"}, MSG_TAKE),
        ({"take": "101"}, MSG_TAKE),
        ({"take": "two"}, MSG_TAKE),
        ({"take": "²"}, MSG_TAKE),  # a digit int() cannot read
        ({"from": "not-a-checkpoint"}, MSG_FROM),
        ({"from": "cGs6eA"}, MSG_FROM),  # "pk:x"
    ],
)
@pytest.mark.parametrize("path", ["clients", "client-grants"])
def test_bad_checkpoint_parameters_are_refused_in_auth0_shape(mgmt, path, params, message):
    assert_error(
        mgmt.call("GET", path, params=params), HTTPStatus.BAD_REQUEST, "invalid_query_string", message
    )
