"""APIs and scopes in the admin, written through apps.apis.services; the HS256 secret only on request."""

from __future__ import annotations

from http import HTTPStatus

from apps.apis.models import Api
from apps.apis.services import api_signing_secret
from apps.audit.models import AuditEvent
from tests.dashboard.conftest import admin_url, shown_secret
from tests.factories import ApiFactory


def _api_form(**overrides) -> dict:
    data = {
        "name": "Reports API",
        "signing_alg": "RS256",
        "token_lifetime": 3600,
        "skip_consent_for_first_party": "on",
        "scopes-TOTAL_FORMS": 0,
        "scopes-INITIAL_FORMS": 0,
        "scopes-MIN_NUM_FORMS": 0,
        "scopes-MAX_NUM_FORMS": 1000,
    }
    return data | overrides


def _scope_rows(api: Api | None, rows: list[tuple[str, str, bool]]) -> dict:
    """Inline data: existing scopes first (with their ids), then new rows; (value, description, delete)."""
    existing = list(api.scopes.order_by("value")) if api else []
    data = {"scopes-TOTAL_FORMS": len(rows), "scopes-INITIAL_FORMS": len(existing)}
    for index, (value, description, delete) in enumerate(rows):
        data[f"scopes-{index}-value"] = value
        data[f"scopes-{index}-description"] = description
        if index < len(existing):
            data[f"scopes-{index}-id"] = existing[index].pk
            data[f"scopes-{index}-api"] = api.pk
        if delete:
            data[f"scopes-{index}-DELETE"] = "on"
    return data


def test_create_api_with_scopes(portal_client, portal_admin, alpha):
    # given a portal admin
    # when they create an API with two scopes in the inline
    response = portal_client.post(
        admin_url("apis_api_add"),
        _api_form(
            tenant=alpha.tenant.pk,
            identifier="https://reports.example.com",
            **_scope_rows(None, [("read:reports", "Read reports", False), ("write:reports", "", False)]),
        ),
    )
    # then the API exists with its scopes, created once and audited with the admin
    assert response.status_code == HTTPStatus.FOUND
    api = Api.objects.get(tenant=alpha.tenant, identifier="https://reports.example.com")
    assert sorted(api.scopes.values_list("value", flat=True)) == ["read:reports", "write:reports"]
    events = AuditEvent.objects.filter(target=api.identifier)
    assert [(event.type, event.actor) for event in events] == [(AuditEvent.Type.API_CREATED, portal_admin)]


def test_duplicate_identifier_from_the_service_is_a_form_error(portal_client, alpha):
    # given an API
    # when the admin creates another with the same identifier
    response = portal_client.post(
        admin_url("apis_api_add"), _api_form(tenant=alpha.tenant.pk, identifier=alpha.api.identifier)
    )
    # then the form says so (no 500) and there is still one
    assert response.status_code == HTTPStatus.OK
    assert "already exists" in response.content.decode()
    assert Api.objects.filter(tenant=alpha.tenant, identifier=alpha.api.identifier).count() == 1


def test_change_api_settings(portal_client, portal_admin, alpha):
    # given an API (its scopes are edited on the Permissions tab: tests/dashboard/test_api_tabs.py)
    api = alpha.api
    # when the admin changes its lifetime and tries to change the identifier
    response = portal_client.post(
        admin_url("apis_api_change", api.pk),
        _api_form(name=api.name, identifier="https://changed.example.com", token_lifetime=600),
    )
    # then the settings change, the identifier does not, and the change is audited with the admin
    assert response.status_code == HTTPStatus.FOUND
    api.refresh_from_db()
    assert api.token_lifetime == 600
    assert api.identifier != "https://changed.example.com"
    event = AuditEvent.objects.get(type=AuditEvent.Type.API_UPDATED, actor=portal_admin)
    assert event.data == {"changed": ["token_lifetime"]}


def test_hs256_secret_is_revealed_only_on_request(portal_client, alpha):
    # given an HS256 API
    api = ApiFactory(tenant=alpha.tenant, signing_alg=Api.SigningAlgorithm.HS256)
    secret = api_signing_secret(api=api)
    change = portal_client.get(admin_url("apis_api_change", api.pk)).content.decode()
    changelist = portal_client.get(admin_url("apis_api_changelist")).content.decode()
    url = admin_url("apis_api_signing_secret", api.pk)
    # when the admin opens the reveal page and then confirms
    confirm = portal_client.get(url)
    revealed = portal_client.post(url)
    # then only the confirmed response shows the secret
    assert url in change
    for html in (change, changelist, confirm.content.decode()):
        assert secret not in html
    assert revealed.status_code == HTTPStatus.OK
    assert shown_secret(revealed.content.decode()) == secret
    assert "no-store" in revealed["Cache-Control"]


def test_rs256_api_has_no_secret_to_reveal(portal_client, alpha):
    # given an RS256 API
    # when the admin asks for its signing secret
    response = portal_client.post(admin_url("apis_api_signing_secret", alpha.api.pk))
    # then there is none
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_signing_secret_of_another_tenant_is_not_found(portal_client, bravo):
    # given bravo's HS256 API
    api = ApiFactory(tenant=bravo.tenant, signing_alg=Api.SigningAlgorithm.HS256)
    # when alpha's admin asks for its secret
    response = portal_client.post(admin_url("apis_api_signing_secret", api.pk))
    # then it is not found
    assert response.status_code == HTTPStatus.NOT_FOUND
