"""``clients`` and ``clients/{id}/rotate-secret`` over real HTTP: Auth0's shapes, secrets shown
on create and rotation only, scopes, tenancy, bad input, audit."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from apps.applications.models import Application
from apps.audit.models import AuditEvent
from apps.management.api.clients import MSG_SYSTEM_CLIENT_DELETE
from apps.management.api.payload import MSG_ADDITIONAL_PROPERTIES
from apps.management.services import MANAGEMENT_SCOPES
from tests.factories import ApplicationFactory

FIELDS = {
    "client_id",
    "tenant",
    "name",
    "description",
    "app_type",
    "is_first_party",
    "oidc_conformant",
    "global",
    "callbacks",
    "allowed_origins",
    "allowed_logout_urls",
    "grant_types",
    "token_endpoint_auth_method",
    "client_metadata",
    "is_token_endpoint_ip_header_trusted",
}
WEB = {
    "name": "Portal",
    "app_type": "regular_web",
    "description": "Customer portal",
    "callbacks": ["https://portal.example.com/callback"],
    "allowed_origins": ["https://portal.example.com"],
    "allowed_logout_urls": ["https://portal.example.com/bye"],
    "grant_types": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_method": "client_secret_basic",
    "is_first_party": False,
    "client_metadata": {"plan": "gold"},
}


def _error(response, status: HTTPStatus, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "error", "message", "errorCode"}
    assert body["statusCode"] == status and body["error"] == status.phrase and body["errorCode"] == code
    return body


def _token_response(mgmt, client_id: str, secret: str):
    return mgmt.http.post(
        f"/t/{mgmt.tenant.slug}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


def test_create_returns_the_secret_once_and_reads_never(mgmt):
    # when
    created = mgmt.call("POST", "clients", json=WEB)

    # then
    assert created.status_code == HTTPStatus.CREATED, created.text
    body = created.json()
    assert set(body) == FIELDS | {"client_secret"}
    assert {key: body[key] for key in WEB} == WEB
    assert body["tenant"] == mgmt.tenant.slug
    application = Application.objects.get(client_id=body["client_id"])
    assert application.tenant == mgmt.tenant
    assert body["client_secret"] not in application.client_secret  # only a hash is stored
    read = mgmt.call("GET", f"clients/{body['client_id']}").json()
    assert read == {key: value for key, value in body.items() if key != "client_secret"}
    assert all("client_secret" not in row for row in mgmt.call("GET", "clients").json())
    event = AuditEvent.objects.get(type=AuditEvent.Type.APPLICATION_CREATED, target=body["client_id"])
    assert event.actor_label == f"client {mgmt.client_id}"


@pytest.mark.parametrize(
    ("app_type", "grant_types", "auth_method"),
    [
        (
            "regular_web",
            ["authorization_code", "implicit", "refresh_token", "client_credentials"],
            "client_secret_post",
        ),
        ("non_interactive", ["client_credentials"], "client_secret_post"),
        ("spa", ["authorization_code", "implicit", "refresh_token"], "none"),
        ("native", ["authorization_code", "implicit", "refresh_token"], "none"),
    ],
)
def test_create_takes_auth0_defaults_for_the_type(mgmt, app_type, grant_types, auth_method):
    # when
    body = mgmt.call("POST", "clients", json={"name": "App", "app_type": app_type}).json()

    # then
    assert (body["app_type"], body["grant_types"], body["token_endpoint_auth_method"]) == (
        app_type,
        grant_types,
        auth_method,
    )


def test_list_filters_and_pages(mgmt):
    # given: the management client (M2M, first party) and three more
    ApplicationFactory(tenant=mgmt.tenant, name="A spa", app_type="spa")
    ApplicationFactory(tenant=mgmt.tenant, name="B web", app_type="regular_web", is_first_party=False)
    ApplicationFactory(tenant=mgmt.tenant, name="C m2m")

    # when
    m2m = mgmt.call("GET", "clients", params={"app_type": "non_interactive"}).json()
    browsers = mgmt.call("GET", "clients", params={"app_type": "spa,regular_web"}).json()
    third = mgmt.call("GET", "clients", params={"is_first_party": "false"}).json()
    page = mgmt.call("GET", "clients", params={"per_page": 1, "page": 2, "include_totals": "true"}).json()

    # then
    assert [row["name"] for row in m2m] == ["C m2m", "Portcullis Management Client"]
    assert [row["name"] for row in browsers] == ["A spa", "B web"]
    assert [row["name"] for row in third] == ["B web"]
    assert {key: page[key] for key in ("start", "limit", "length", "total")} == {
        "start": 2,
        "limit": 1,
        "length": 1,
        "total": 4,
    }
    assert [row["name"] for row in page["clients"]] == ["C m2m"]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"app_type": "robot"}, "app_type"),
        ({"is_first_party": "yes"}, "is_first_party"),
        ({"per_page": "x"}, "per_page"),
    ],
)
def test_bad_list_queries_are_400(mgmt, params, needle):
    # when
    response = mgmt.call("GET", "clients", params=params)

    # then
    assert needle in _error(response, HTTPStatus.BAD_REQUEST, "invalid_query_string")["message"]


def test_patch_changes_fields(mgmt):
    # given
    client_id = mgmt.call("POST", "clients", json=WEB).json()["client_id"]

    # when
    response = mgmt.call(
        "PATCH",
        f"clients/{client_id}",
        json={"name": "Portal 2", "callbacks": [], "allowed_logout_urls": ["https://portal.example.com/out"]},
    )

    # then
    assert response.status_code == HTTPStatus.OK, response.text
    body = response.json()
    assert (body["name"], body["callbacks"], body["allowed_logout_urls"]) == (
        "Portal 2",
        [],
        ["https://portal.example.com/out"],
    )
    assert "client_secret" not in body
    event = AuditEvent.objects.get(type=AuditEvent.Type.APPLICATION_UPDATED, target=client_id)
    assert event.actor_label == f"client {mgmt.client_id}"


def test_rotate_secret_returns_a_new_secret_and_refuses_the_old(mgmt):
    # given: an M2M application that can get tokens
    application = ApplicationFactory(tenant=mgmt.tenant)
    old = application.plaintext_secret

    # when
    response = mgmt.call("POST", f"clients/{application.client_id}/rotate-secret")

    # then
    assert response.status_code == HTTPStatus.OK, response.text
    new = response.json()["client_secret"]
    assert new and new != old and response.json()["client_id"] == application.client_id
    assert _token_response(mgmt, application.client_id, old).status_code == HTTPStatus.UNAUTHORIZED
    event = AuditEvent.objects.get(
        type=AuditEvent.Type.APPLICATION_SECRET_ROTATED, target=application.client_id
    )
    assert event.actor_label == f"client {mgmt.client_id}"


def test_delete_removes_the_client_but_not_the_system_client(mgmt):
    # given
    application = ApplicationFactory(tenant=mgmt.tenant)

    # when
    deleted = mgmt.call("DELETE", f"clients/{application.client_id}")
    system = mgmt.call("DELETE", f"clients/{mgmt.client_id}")

    # then
    assert deleted.status_code == HTTPStatus.NO_CONTENT
    assert not Application.objects.filter(pk=application.pk).exists()
    assert (
        _error(system, HTTPStatus.FORBIDDEN, "operation_not_supported")["message"] == MSG_SYSTEM_CLIENT_DELETE
    )
    assert Application.objects.filter(client_id=mgmt.client_id).exists()
    _error(mgmt.call("GET", f"clients/{application.client_id}"), HTTPStatus.NOT_FOUND, "inexistent_client")


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "clients", "read:clients"),
        ("POST", "clients", "create:clients"),
        ("GET", "clients/{id}", "read:clients"),
        ("PATCH", "clients/{id}", "update:clients"),
        ("DELETE", "clients/{id}", "delete:clients"),
        ("POST", "clients/{id}/rotate-secret", "update:client_keys"),
    ],
)
def test_each_endpoint_needs_its_scope(mgmt, method, path, scope):
    # given
    application = ApplicationFactory(tenant=mgmt.tenant)
    without = mgmt.token([s for s in MANAGEMENT_SCOPES if s != scope])
    with_scope = mgmt.token([scope])
    url = path.format(id=application.client_id)

    # when
    refused = mgmt.call(method, url, token=without, json={"name": "x"})
    allowed = mgmt.call(method, url, token=with_scope, json={"name": "x"})

    # then
    assert scope in _error(refused, HTTPStatus.FORBIDDEN, "insufficient_scope")["message"]
    assert allowed.status_code < 300, allowed.text


def test_other_tenants_token_is_refused(mgmt, other_mgmt):
    # when
    response = mgmt.call("POST", "clients", token=other_mgmt.token(), json={"name": "x"})

    # then
    _error(response, HTTPStatus.UNAUTHORIZED, "invalid_token")
    assert not Application.objects.filter(tenant=mgmt.tenant, name="x").exists()


def test_other_tenants_client_is_not_found(mgmt, other_mgmt):
    # given
    theirs = ApplicationFactory(tenant=other_mgmt.tenant)
    secret_hash = Application.objects.get(pk=theirs.pk).client_secret

    # when / then
    for method, path in [
        ("GET", "clients/{id}"),
        ("PATCH", "clients/{id}"),
        ("DELETE", "clients/{id}"),
        ("POST", "clients/{id}/rotate-secret"),
    ]:
        response = mgmt.call(method, path.format(id=theirs.client_id), json={"name": "mine"})
        _error(response, HTTPStatus.NOT_FOUND, "inexistent_client")
    theirs.refresh_from_db()
    assert theirs.name != "mine" and theirs.client_secret == secret_hash


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"name": "x", "logo_uri": "https://x"}, MSG_ADDITIONAL_PROPERTIES.format(names="logo_uri")),
        ({"name": 5}, "name"),
        ({"app_type": "spa"}, "name"),
        ({"name": "x", "app_type": "robot"}, "app_type"),
        ({"name": "x", "grant_types": "client_credentials"}, "grant_types"),
        ({"name": "x", "grant_types": ["magic"]}, "grant_types"),
        ({"name": "x", "is_first_party": "true"}, "is_first_party"),
        ({"name": "x", "callbacks": "https://x"}, "callbacks"),
        ({"name": "x", "callbacks": ["not a url"]}, "callbacks: "),
        ({"name": "x", "client_metadata": {"n": 1}}, "client_metadata"),
        ({"name": "x", "client_metadata": {f"k{n}": "v" for n in range(11)}}, "metadata"),
        ({"name": "x", "token_endpoint_auth_method": "private_key_jwt"}, "token_endpoint_auth_method"),
    ],
)
def test_bad_bodies_are_400_in_auth0_shape(mgmt, body, needle):
    # given
    before = Application.objects.filter(tenant=mgmt.tenant).count()

    # when
    response = mgmt.call("POST", "clients", json=body)

    # then
    message = _error(response, HTTPStatus.BAD_REQUEST, "invalid_body")["message"]
    assert needle.lower() in message.lower()
    assert Application.objects.filter(tenant=mgmt.tenant).count() == before


def test_patch_cannot_change_the_type(mgmt):
    # given
    application = ApplicationFactory(tenant=mgmt.tenant)

    # when
    response = mgmt.call("PATCH", f"clients/{application.client_id}", json={"app_type": "spa"})
    same = mgmt.call(
        "PATCH", f"clients/{application.client_id}", json={"app_type": "non_interactive", "name": "Same type"}
    )

    # then
    assert "app_type" in _error(response, HTTPStatus.BAD_REQUEST, "invalid_body")["message"]
    assert same.status_code == HTTPStatus.OK and same.json()["name"] == "Same type"
