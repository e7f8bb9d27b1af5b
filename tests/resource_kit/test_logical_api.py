"""One logical API for several services (Auth0's pattern), end to end: tokens from the token
endpoint over HTTP, two services that verify the same audience through the kit, each checking its
own scope (the services: ``logical_api_services.py``)."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from apps.resource_kit import errors
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory, TenantFactory
from tests.resource_kit.logical_api_services import CALENDAR_PATH, CONTACTS_PATH
from tests.resource_kit.support import ASYMMETRIC_ALGORITHMS, ResourceServer, assert_invalid_token, bearer

pytestmark = pytest.mark.urls("tests.resource_kit.logical_api_services")

ORGANIZER_SCOPES = {
    "read:calendar": "Read calendar events",
    "write:calendar": "Create and change calendar events",
    "read:contacts": "Read contacts",
    "write:contacts": "Create and change contacts",
}


@pytest.fixture
def organizer(transactional_db, live_server, settings, http) -> ResourceServer:
    """The logical API "Organizer" with both services' scopes; both services trust its audience."""
    tenant = TenantFactory()
    api = ApiFactory(
        tenant=tenant, name="Organizer", identifier="https://organizer.example.com", scopes=ORGANIZER_SCOPES
    )
    server = ResourceServer(tenant=tenant, api=api, base_url=live_server.url, http=http, settings=settings)
    trust = {"ISSUER": server.issuer, "AUDIENCE": api.identifier, "ALGORITHMS": list(ASYMMETRIC_ALGORITHMS)}
    settings.CALENDAR_RESOURCE_SERVER = dict(trust)
    settings.CONTACTS_RESOURCE_SERVER = dict(trust)
    return server


def token_for(http, tenant, api, *, granted: list[str], scope: str | None = None) -> str:
    """An M2M application granted ``granted`` of ``api``; its token (``scope`` as requested), over HTTP."""
    application = ApplicationFactory(tenant=tenant)
    ClientGrantFactory(application=application, api=api, scopes=granted)
    form = {
        "grant_type": "client_credentials",
        "client_id": application.client_id,
        "client_secret": application.plaintext_secret,
        "audience": api.identifier,
    }
    if scope is not None:
        form["scope"] = scope
    response = http.post(f"/t/{tenant.slug}/oauth/token", data=form)
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()["access_token"]


def assert_insufficient_scope(response, scope: str) -> None:
    assert response.status_code == HTTPStatus.FORBIDDEN, response.content
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": errors.MSG_INSUFFICIENT_SCOPE.format(scope=scope),
        "scope": scope,
    }


def test_each_service_accepts_only_tokens_of_the_logical_api_that_carry_its_scope(organizer, http):
    # given applications granted one service's scopes, or both, of the one logical API
    tenant, api = organizer.tenant, organizer.api
    calendar_app = token_for(http, tenant, api, granted=["read:calendar", "write:calendar"])
    contacts_app = token_for(http, tenant, api, granted=["read:contacts"])
    assistant = token_for(http, tenant, api, granted=["read:calendar", "read:contacts"])
    # when / then: the calendar app's token opens the calendar service only
    calendar = http.get(CALENDAR_PATH, headers=bearer(calendar_app))
    assert calendar.status_code == HTTPStatus.OK, calendar.content
    assert calendar.json()["service"] == "calendar"
    assert_insufficient_scope(http.get(CONTACTS_PATH, headers=bearer(calendar_app)), "read:contacts")
    # the contacts app's token opens the contacts service only
    contacts = http.get(CONTACTS_PATH, headers=bearer(contacts_app))
    assert contacts.status_code == HTTPStatus.OK, contacts.content
    assert contacts.json()["service"] == "contacts"
    assert_insufficient_scope(http.get(CALENDAR_PATH, headers=bearer(contacts_app)), "read:calendar")
    # one token (one audience) carrying both scopes opens both
    for path in (CALENDAR_PATH, CONTACTS_PATH):
        assert http.get(path, headers=bearer(assistant)).status_code == HTTPStatus.OK


def test_a_token_requested_with_fewer_scopes_opens_only_those_services(organizer, http):
    # given an application granted both services' scopes, asking for the calendar's alone
    token = token_for(
        http,
        organizer.tenant,
        organizer.api,
        granted=["read:calendar", "read:contacts"],
        scope="read:calendar",
    )
    # when / then
    assert http.get(CALENDAR_PATH, headers=bearer(token)).status_code == HTTPStatus.OK
    assert_insufficient_scope(http.get(CONTACTS_PATH, headers=bearer(token)), "read:contacts")


def test_a_token_for_another_api_of_the_tenant_opens_neither_service(organizer, http):
    # given an API of the same tenant whose scopes are named like the services' own
    other = ApiFactory(
        tenant=organizer.tenant, identifier="https://calendar-v1.example.com", scopes=ORGANIZER_SCOPES
    )
    token = token_for(http, organizer.tenant, other, granted=["read:calendar", "read:contacts"])
    # when / then: the audience is the logical API's, so the scopes don't matter
    for path in (CALENDAR_PATH, CONTACTS_PATH):
        assert_invalid_token(http.get(path, headers=bearer(token)), errors.MSG_AUDIENCE_INVALID)


def test_a_token_of_another_tenants_organizer_api_opens_neither_service(organizer, http):
    # given another tenant with an API of the same identifier (signed with keys the issuer never published)
    elsewhere = TenantFactory()
    twin = ApiFactory(tenant=elsewhere, identifier=organizer.api.identifier, scopes=ORGANIZER_SCOPES)
    token = token_for(http, elsewhere, twin, granted=["read:calendar", "read:contacts"])
    # when / then
    for path in (CALENDAR_PATH, CONTACTS_PATH):
        assert_invalid_token(http.get(path, headers=bearer(token)), errors.MSG_KEY_UNKNOWN)
