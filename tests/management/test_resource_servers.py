"""``resource-servers`` over real HTTP: Auth0's shapes, scopes, tenancy, bad input, audit."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import quote

import pytest

from apps.apis.models import Api
from apps.audit.models import AuditEvent
from apps.management.api.payload import MSG_ADDITIONAL_PROPERTIES
from apps.management.api.resource_servers import (
    MSG_IDENTIFIER_IMMUTABLE,
    MSG_IDENTIFIER_TAKEN,
    MSG_SYSTEM_API_DELETE,
    MSG_SYSTEM_API_UPDATE,
)
from apps.management.services import MANAGEMENT_SCOPES
from tests.factories import ApiFactory

FIELDS = {
    "id",
    "name",
    "identifier",
    "scopes",
    "signing_alg",
    "token_lifetime",
    "allow_offline_access",
    "skip_consent_for_verifiable_first_party_clients",
    "enforce_policies",
    "token_dialect",
    "is_system",
}
BODY = {
    "name": "Invoices",
    "identifier": "https://invoices.example.com/",
    "scopes": [{"value": "read:invoices", "description": "Read invoices"}, {"value": "pay:invoices"}],
    "signing_alg": "ES256",
    "token_lifetime": 3600,
    "allow_offline_access": True,
    "skip_consent_for_verifiable_first_party_clients": False,
    "enforce_policies": True,
    "token_dialect": "access_token_authz",
}


def _error(response, status: HTTPStatus, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "error", "message", "errorCode"}
    assert body["statusCode"] == status and body["error"] == status.phrase and body["errorCode"] == code
    return body


def test_create_then_get_by_id_and_by_identifier(mgmt):
    # when
    created = mgmt.call("POST", "resource-servers", json=BODY)

    # then
    assert created.status_code == HTTPStatus.CREATED, created.text
    body = created.json()
    assert set(body) == FIELDS
    assert body == {
        "id": body["id"],
        **{key: value for key, value in BODY.items() if key != "scopes"},
        "scopes": [
            {"value": "pay:invoices", "description": ""},
            {"value": "read:invoices", "description": "Read invoices"},
        ],
        "is_system": False,
    }
    api = Api.objects.get(tenant=mgmt.tenant, identifier=BODY["identifier"])
    assert (api.rbac_enabled, api.add_permissions_in_token, api.skip_consent_for_first_party) == (
        True,
        True,
        False,
    )
    assert mgmt.call("GET", f"resource-servers/{body['id']}").json() == body
    assert mgmt.call("GET", f"resource-servers/{quote(BODY['identifier'], safe='')}").json() == body
    event = AuditEvent.objects.get(
        tenant=mgmt.tenant, type=AuditEvent.Type.API_CREATED, target=BODY["identifier"]
    )
    assert event.actor_label == f"client {mgmt.client_id}"


def test_create_with_identifier_only_uses_defaults(mgmt):
    # when
    response = mgmt.call("POST", "resource-servers", json={"identifier": "urn:reports"})

    # then
    assert response.status_code == HTTPStatus.CREATED, response.text
    body = response.json()
    assert (body["name"], body["scopes"], body["signing_alg"], body["token_dialect"]) == (
        "urn:reports",
        [],
        "RS256",
        "access_token",
    )


def test_duplicate_identifier_is_409(mgmt):
    # given
    mgmt.call("POST", "resource-servers", json={"identifier": "urn:dup"})

    # when
    response = mgmt.call("POST", "resource-servers", json={"identifier": "urn:dup"})

    # then
    assert _error(response, HTTPStatus.CONFLICT, "conflict")["message"] == MSG_IDENTIFIER_TAKEN


def test_list_is_paged_with_auth0_envelope(mgmt):
    # given: the Management API and three more
    for n in range(3):
        ApiFactory(tenant=mgmt.tenant, name=f"API {n}")

    # when
    plain = mgmt.call("GET", "resource-servers")
    page = mgmt.call("GET", "resource-servers", params={"page": 1, "per_page": 2, "include_totals": "true"})

    # then
    assert [api["name"] for api in plain.json()] == ["API 0", "API 1", "API 2", "Portcullis Management API"]
    body = page.json()
    assert {key: body[key] for key in ("start", "limit", "length", "total")} == {
        "start": 2,
        "limit": 2,
        "length": 2,
        "total": 4,
    }
    assert [api["name"] for api in body["resource_servers"]] == ["API 2", "Portcullis Management API"]
    system = body["resource_servers"][1]
    assert system["is_system"] is True and system["identifier"] == mgmt.audience


def test_patch_changes_settings_and_scopes(mgmt):
    # given
    api_id = mgmt.call("POST", "resource-servers", json=BODY).json()["id"]

    # when
    response = mgmt.call(
        "PATCH",
        f"resource-servers/{api_id}",
        json={"name": "Bills", "token_dialect": "access_token", "scopes": [{"value": "read:invoices"}]},
    )

    # then
    assert response.status_code == HTTPStatus.OK, response.text
    body = response.json()
    assert (body["name"], body["token_dialect"], body["scopes"]) == (
        "Bills",
        "access_token",
        [{"value": "read:invoices", "description": ""}],
    )
    assert body["token_lifetime"] == BODY["token_lifetime"]


def test_identifier_is_immutable(mgmt):
    # given
    api_id = mgmt.call("POST", "resource-servers", json=BODY).json()["id"]

    # when
    response = mgmt.call("PATCH", f"resource-servers/{api_id}", json={"identifier": "urn:other"})

    # then
    assert _error(response, HTTPStatus.BAD_REQUEST, "invalid_body")["message"] == MSG_IDENTIFIER_IMMUTABLE
    assert Api.objects.filter(pk=api_id, identifier=BODY["identifier"]).exists()


def test_delete_by_identifier(mgmt):
    # given
    mgmt.call("POST", "resource-servers", json=BODY)

    # when
    response = mgmt.call("DELETE", f"resource-servers/{quote(BODY['identifier'], safe='')}")

    # then
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not Api.objects.filter(tenant=mgmt.tenant, identifier=BODY["identifier"]).exists()
    _error(
        mgmt.call("GET", f"resource-servers/{quote(BODY['identifier'], safe='')}"),
        HTTPStatus.NOT_FOUND,
        "inexistent_resource_server",
    )
    event = AuditEvent.objects.get(tenant=mgmt.tenant, type=AuditEvent.Type.API_DELETED)
    assert event.actor_label == f"client {mgmt.client_id}"


def test_system_api_is_readable_but_not_deletable_nor_changeable(mgmt):
    # given
    system = Api.objects.get(tenant=mgmt.tenant, is_system=True)

    # when
    deleted = mgmt.call("DELETE", f"resource-servers/{system.pk}")
    renamed = mgmt.call("PATCH", f"resource-servers/{system.pk}", json={"name": "Mine"})
    rescoped = mgmt.call("PATCH", f"resource-servers/{system.pk}", json={"scopes": []})
    lifetime = mgmt.call("PATCH", f"resource-servers/{system.pk}", json={"token_lifetime": 600})

    # then
    assert (
        _error(deleted, HTTPStatus.FORBIDDEN, "operation_not_supported")["message"] == MSG_SYSTEM_API_DELETE
    )
    assert (
        _error(renamed, HTTPStatus.FORBIDDEN, "operation_not_supported")["message"] == MSG_SYSTEM_API_UPDATE
    )
    _error(rescoped, HTTPStatus.FORBIDDEN, "operation_not_supported")
    assert lifetime.status_code == HTTPStatus.OK and lifetime.json()["token_lifetime"] == 600
    system.refresh_from_db()
    assert system.name == "Portcullis Management API" and system.scopes.count() == len(MANAGEMENT_SCOPES)


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "resource-servers", "read:resource_servers"),
        ("POST", "resource-servers", "create:resource_servers"),
        ("GET", "resource-servers/{id}", "read:resource_servers"),
        ("PATCH", "resource-servers/{id}", "update:resource_servers"),
        ("DELETE", "resource-servers/{id}", "delete:resource_servers"),
    ],
)
def test_each_endpoint_needs_its_scope(mgmt, method, path, scope):
    # given: a token with every scope but this one
    api = ApiFactory(tenant=mgmt.tenant)
    token = mgmt.token([s for s in _all_scopes(mgmt) if s != scope])
    with_scope = mgmt.token([scope])

    # when
    refused = mgmt.call(method, path.format(id=api.pk), token=token, json={"name": "x"})
    body = {"identifier": "urn:x"} if method == "POST" else {"name": "x"}
    allowed = mgmt.call(method, path.format(id=api.pk), token=with_scope, json=body)

    # then
    body = _error(refused, HTTPStatus.FORBIDDEN, "insufficient_scope")
    assert scope in body["message"]
    assert allowed.status_code < 300, allowed.text


def _all_scopes(mgmt) -> list[str]:
    return list(Api.objects.get(tenant=mgmt.tenant, is_system=True).scopes.values_list("value", flat=True))


def test_other_tenants_token_is_refused(mgmt, other_mgmt):
    # when
    response = mgmt.call("GET", "resource-servers", token=other_mgmt.token())

    # then
    _error(response, HTTPStatus.UNAUTHORIZED, "invalid_token")


def test_other_tenants_api_is_not_found(mgmt, other_mgmt):
    # given
    theirs = ApiFactory(tenant=other_mgmt.tenant)

    # when / then
    for method in ("GET", "PATCH", "DELETE"):
        for key in (str(theirs.pk), quote(theirs.identifier, safe="")):
            response = mgmt.call(method, f"resource-servers/{key}", json={"name": "mine"})
            _error(response, HTTPStatus.NOT_FOUND, "inexistent_resource_server")
    assert Api.objects.filter(pk=theirs.pk, name=theirs.name).exists()


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"identifier": "urn:a", "color": "red"}, MSG_ADDITIONAL_PROPERTIES.format(names="color")),
        ({"identifier": 5}, "identifier"),
        ({"identifier": "urn:a", "token_lifetime": "3600"}, "token_lifetime"),
        ({"identifier": "urn:a", "token_lifetime": 10}, "token_lifetime"),
        ({"identifier": "urn:a", "allow_offline_access": "true"}, "allow_offline_access"),
        ({"identifier": "urn:a", "signing_alg": "none"}, "signing_alg"),
        ({"identifier": "urn:a", "token_dialect": "rfc9068_profile"}, "token_dialect"),
        ({"identifier": "urn:a", "scopes": [{"value": "a b"}]}, "scope"),
        ({"identifier": "urn:a", "scopes": [{"value": "x", "colour": 1}]}, "colour"),
        ({"identifier": "urn:a", "scopes": "read:a"}, "scopes"),
        ({"identifier": "urn:a", "scopes": [{"value": "x"}, {"value": "x"}]}, "twice"),
        ({"name": "no identifier"}, "identifier"),
        ([1, 2], "object"),
    ],
)
def test_bad_bodies_are_400_in_auth0_shape(mgmt, body, needle):
    # when
    response = mgmt.call("POST", "resource-servers", json=body)

    # then
    assert needle in _error(response, HTTPStatus.BAD_REQUEST, "invalid_body")["message"]
    assert not Api.objects.filter(tenant=mgmt.tenant, identifier="urn:a").exists()


def test_malformed_json_and_empty_patch_are_400(mgmt):
    # given
    api = ApiFactory(tenant=mgmt.tenant)

    # when
    malformed = mgmt.call(
        "POST", "resource-servers", data="{not json", headers={"Content-Type": "application/json"}
    )
    empty = mgmt.call("PATCH", f"resource-servers/{api.pk}", json={})

    # then
    _error(malformed, HTTPStatus.BAD_REQUEST, "invalid_body")
    _error(empty, HTTPStatus.BAD_REQUEST, "invalid_body")


def test_huge_body_is_413_in_auth0_shape(mgmt, settings):
    # given: a body over DATA_UPLOAD_MAX_MEMORY_SIZE
    scopes = [{"value": f"s{n}", "description": "x" * 400} for n in range(400)]

    # when
    response = mgmt.call("POST", "resource-servers", json={"identifier": "urn:big", "scopes": scopes})

    # then
    assert "limited" in _error(response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload_too_large")["message"]
    assert not Api.objects.filter(tenant=mgmt.tenant, identifier="urn:big").exists()


def test_scope_without_value_is_400(mgmt):
    # when
    response = mgmt.call(
        "POST", "resource-servers", json={"identifier": "urn:a", "scopes": [{"description": "d"}]}
    )

    # then
    assert "value" in _error(response, HTTPStatus.BAD_REQUEST, "invalid_body")["message"]
