"""``client-grants`` over real HTTP: Auth0's shapes, 409 on a second grant, filters, scopes,
tenancy, bad input, audit; a grant takes effect on the token endpoint at once."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from apps.audit.models import AuditEvent
from apps.grants.models import ClientGrant
from apps.management.api.client_grants import MSG_GRANT_EXISTS, MSG_SYSTEM_GRANT
from apps.management.api.payload import MSG_ADDITIONAL_PROPERTIES
from apps.management.services import MANAGEMENT_SCOPES
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory


def _error(response, status: HTTPStatus, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "error", "message", "errorCode"}
    assert body["statusCode"] == status and body["error"] == status.phrase and body["errorCode"] == code
    return body


def _token(mgmt, application, api, **extra):
    form = {
        "grant_type": "client_credentials",
        "client_id": application.client_id,
        "client_secret": application.plaintext_secret,
        "audience": api.identifier,
        **extra,
    }
    return mgmt.http.post(f"/t/{mgmt.tenant.slug}/oauth/token", data=form)


def test_create_grant_then_the_client_gets_exactly_its_scopes(mgmt):
    # given
    api = ApiFactory(tenant=mgmt.tenant)
    application = ApplicationFactory(tenant=mgmt.tenant)
    assert _token(mgmt, application, api).status_code == HTTPStatus.FORBIDDEN

    # when
    response = mgmt.call(
        "POST",
        "client-grants",
        json={"client_id": application.client_id, "audience": api.identifier, "scope": ["read:things"]},
    )

    # then
    assert response.status_code == HTTPStatus.CREATED, response.text
    body = response.json()
    assert body == {
        "id": body["id"],
        "client_id": application.client_id,
        "audience": api.identifier,
        "scope": ["read:things"],
    }
    token = _token(mgmt, application, api)
    assert token.status_code == HTTPStatus.OK and token.json()["scope"] == "read:things"
    event = AuditEvent.objects.get(
        type=AuditEvent.Type.CLIENT_GRANT_CREATED, data__client_id=application.client_id
    )
    assert event.actor_label == f"client {mgmt.client_id}"


def test_second_grant_for_client_and_audience_is_409(mgmt):
    # given
    grant = ClientGrantFactory(application=ApplicationFactory(tenant=mgmt.tenant))

    # when
    response = mgmt.call(
        "POST",
        "client-grants",
        json={"client_id": grant.application.client_id, "audience": grant.api.identifier, "scope": []},
    )

    # then
    assert _error(response, HTTPStatus.CONFLICT, "conflict")["message"] == MSG_GRANT_EXISTS
    assert ClientGrant.objects.filter(application=grant.application).count() == 1


def test_list_filters_by_client_and_audience_and_pages(mgmt):
    # given: the management client's grant and three more
    one = ApplicationFactory(tenant=mgmt.tenant)
    two = ApplicationFactory(tenant=mgmt.tenant)
    api = ApiFactory(tenant=mgmt.tenant)
    other_api = ApiFactory(tenant=mgmt.tenant)
    a = ClientGrantFactory(application=one, api=api)
    b = ClientGrantFactory(application=one, api=other_api)
    c = ClientGrantFactory(application=two, api=api)

    # when
    by_client = mgmt.call("GET", "client-grants", params={"client_id": one.client_id}).json()
    by_audience = mgmt.call("GET", "client-grants", params={"audience": api.identifier}).json()
    both = mgmt.call(
        "GET", "client-grants", params={"audience": api.identifier, "client_id": two.client_id}
    ).json()
    page = mgmt.call(
        "GET", "client-grants", params={"per_page": 2, "page": 1, "include_totals": "true"}
    ).json()

    # then
    assert [row["id"] for row in by_client] == [str(a.pk), str(b.pk)]
    assert [row["id"] for row in by_audience] == [str(a.pk), str(c.pk)]
    assert [row["id"] for row in both] == [str(c.pk)]
    assert {key: page[key] for key in ("start", "limit", "length", "total")} == {
        "start": 2,
        "limit": 2,
        "length": 2,
        "total": 4,
    }
    assert [row["id"] for row in page["client_grants"]] == [str(b.pk), str(c.pk)]


def test_patch_changes_scopes_and_delete_removes(mgmt):
    # given
    grant = ClientGrantFactory(application=ApplicationFactory(tenant=mgmt.tenant), scopes=["read:things"])

    # when
    patched = mgmt.call(
        "PATCH", f"client-grants/{grant.pk}", json={"scope": ["write:things", "delete:things"]}
    )

    # then
    assert patched.status_code == HTTPStatus.OK, patched.text
    assert patched.json()["scope"] == ["write:things", "delete:things"]
    token = _token(mgmt, grant.application, grant.api)
    assert sorted(token.json()["scope"].split()) == ["delete:things", "write:things"]

    # when
    deleted = mgmt.call("DELETE", f"client-grants/{grant.pk}")

    # then
    assert deleted.status_code == HTTPStatus.NO_CONTENT
    assert not ClientGrant.objects.filter(pk=grant.pk).exists()
    assert _token(mgmt, grant.application, grant.api).status_code == HTTPStatus.FORBIDDEN
    for type_ in (AuditEvent.Type.CLIENT_GRANT_UPDATED, AuditEvent.Type.CLIENT_GRANT_DELETED):
        assert (
            AuditEvent.objects.get(type=type_, tenant=mgmt.tenant).actor_label == f"client {mgmt.client_id}"
        )


def test_management_clients_own_grant_is_protected(mgmt):
    # given
    system = ClientGrant.objects.get(application__client_id=mgmt.client_id)

    # when
    patched = mgmt.call("PATCH", f"client-grants/{system.pk}", json={"scope": ["read:clients"]})
    deleted = mgmt.call("DELETE", f"client-grants/{system.pk}")

    # then
    assert _error(patched, HTTPStatus.FORBIDDEN, "operation_not_supported")["message"] == MSG_SYSTEM_GRANT
    _error(deleted, HTTPStatus.FORBIDDEN, "operation_not_supported")
    system.refresh_from_db()
    assert sorted(system.scopes) == sorted(MANAGEMENT_SCOPES)


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "client-grants", "read:client_grants"),
        ("POST", "client-grants", "create:client_grants"),
        ("GET", "client-grants/{id}", "read:client_grants"),
        ("PATCH", "client-grants/{id}", "update:client_grants"),
        ("DELETE", "client-grants/{id}", "delete:client_grants"),
    ],
)
def test_each_endpoint_needs_its_scope(mgmt, method, path, scope):
    # given
    grant = ClientGrantFactory(application=ApplicationFactory(tenant=mgmt.tenant))
    fresh = ApplicationFactory(tenant=mgmt.tenant)
    without = mgmt.token([s for s in MANAGEMENT_SCOPES if s != scope])
    with_scope = mgmt.token([scope])
    body = {"scope": ["read:things"]}
    if method == "POST":
        body |= {"client_id": fresh.client_id, "audience": grant.api.identifier}

    # when
    refused = mgmt.call(method, path.format(id=grant.pk), token=without, json=body)
    allowed = mgmt.call(method, path.format(id=grant.pk), token=with_scope, json=body)

    # then
    assert scope in _error(refused, HTTPStatus.FORBIDDEN, "insufficient_scope")["message"]
    assert allowed.status_code < 300, allowed.text


def test_other_tenants_token_is_refused(mgmt, other_mgmt):
    # when
    response = mgmt.call("GET", "client-grants", token=other_mgmt.token())

    # then
    _error(response, HTTPStatus.UNAUTHORIZED, "invalid_token")


def test_other_tenants_grant_client_and_api_are_not_found(mgmt, other_mgmt):
    # given
    theirs = ClientGrantFactory(
        application=ApplicationFactory(tenant=other_mgmt.tenant), scopes=["read:things"]
    )
    mine_app = ApplicationFactory(tenant=mgmt.tenant)
    mine_api = ApiFactory(tenant=mgmt.tenant)

    # when
    reads = [
        mgmt.call(method, f"client-grants/{theirs.pk}", json={"scope": []})
        for method in ("GET", "PATCH", "DELETE")
    ]
    their_client = mgmt.call(
        "POST",
        "client-grants",
        json={"client_id": theirs.application.client_id, "audience": mine_api.identifier, "scope": []},
    )
    their_api = mgmt.call(
        "POST",
        "client-grants",
        json={"client_id": mine_app.client_id, "audience": theirs.api.identifier, "scope": []},
    )
    listed = mgmt.call("GET", "client-grants", params={"client_id": theirs.application.client_id}).json()

    # then
    for response in reads:
        _error(response, HTTPStatus.NOT_FOUND, "inexistent_client_grant")
    _error(their_client, HTTPStatus.NOT_FOUND, "inexistent_client")
    _error(their_api, HTTPStatus.NOT_FOUND, "inexistent_resource_server")
    assert listed == []
    theirs.refresh_from_db()
    assert theirs.scopes == ["read:things"]


@pytest.mark.parametrize(
    ("body", "needle", "code"),
    [
        (
            {"client_id": "c", "audience": "a", "scope": [], "organization_usage": "deny"},
            MSG_ADDITIONAL_PROPERTIES.format(names="organization_usage"),
            "invalid_body",
        ),
        ({"audience": "a", "scope": []}, "client_id", "invalid_body"),
        ({"client_id": "c", "scope": []}, "audience", "invalid_body"),
        ({"client_id": 1, "audience": "a", "scope": []}, "client_id", "invalid_body"),
        ({"client_id": "c", "audience": "a", "scope": "read:things"}, "scope", "invalid_body"),
        ({"client_id": "c", "audience": "a", "scope": [1]}, "scope", "invalid_body"),
    ],
)
def test_bad_bodies_are_400_in_auth0_shape(mgmt, body, needle, code):
    # when
    response = mgmt.call("POST", "client-grants", json=body)

    # then
    assert needle in _error(response, HTTPStatus.BAD_REQUEST, code)["message"]


def test_undefined_scope_is_400(mgmt):
    # given
    api = ApiFactory(tenant=mgmt.tenant)
    application = ApplicationFactory(tenant=mgmt.tenant)

    # when
    response = mgmt.call(
        "POST",
        "client-grants",
        json={"client_id": application.client_id, "audience": api.identifier, "scope": ["fly:things"]},
    )

    # then
    assert "fly:things" in _error(response, HTTPStatus.BAD_REQUEST, "invalid_body")["message"]
    assert not ClientGrant.objects.filter(application=application).exists()


def test_unknown_grant_id_is_404(mgmt):
    # when / then
    for key in ("999999", "abc", "9" * 40):
        _error(mgmt.call("GET", f"client-grants/{key}"), HTTPStatus.NOT_FOUND, "inexistent_client_grant")
