"""Client grants in the admin: pickers within the tenant, scopes checked by the service, errors on the form."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from apps.audit.models import AuditEvent
from apps.grants.models import ClientGrant
from tests.dashboard.conftest import admin_url
from tests.factories import ApiFactory, ApplicationFactory


@pytest.fixture
def reports(alpha):
    """A second API of alpha's, with its own scopes, and an application without grants."""
    api = ApiFactory(tenant=alpha.tenant, scopes={"read:reports": "Read reports"})
    return api, ApplicationFactory(tenant=alpha.tenant)


def test_create_client_grant(portal_client, portal_admin, alpha, reports):
    # given an API and an application of alpha's
    api, application = reports
    # when the admin grants the application one scope of the API
    response = portal_client.post(
        admin_url("grants_clientgrant_add"),
        {"application": application.pk, "api": api.pk, "scopes": ["read:reports"]},
    )
    # then the grant exists, created through the service with the admin as actor
    assert response.status_code == HTTPStatus.FOUND
    grant = ClientGrant.objects.get(application=application, api=api)
    assert grant.scopes == ["read:reports"]
    assert AuditEvent.objects.get(type=AuditEvent.Type.CLIENT_GRANT_CREATED, actor=portal_admin)


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        pytest.param("read:things", "Not defined by the API", id="another-apis-scope"),
        pytest.param("nope:nope", "Select a valid choice", id="unknown-scope"),
    ],
)
def test_scope_not_defined_by_the_api_is_a_form_error(portal_client, alpha, reports, scope, message):
    # given the reports API, which does not define read:things (alpha's other API does)
    api, application = reports
    # when the admin grants it anyway
    response = portal_client.post(
        admin_url("grants_clientgrant_add"), {"application": application.pk, "api": api.pk, "scopes": [scope]}
    )
    # then the form shows the error (no 500) and no grant is created
    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()
    assert not ClientGrant.objects.filter(application=application).exists()


def test_second_grant_for_the_same_pair_is_a_form_error(portal_client, alpha):
    # given alpha's application already granted alpha's API
    # when the admin adds the same pair again
    response = portal_client.post(
        admin_url("grants_clientgrant_add"),
        {"application": alpha.application.pk, "api": alpha.api.pk, "scopes": ["read:things"]},
    )
    # then the service's refusal is on the form
    assert response.status_code == HTTPStatus.OK
    assert "already has a client grant" in response.content.decode()


def test_application_and_api_of_different_tenants_is_a_form_error(superuser_client, alpha, bravo):
    # given a superuser, who may pick from every tenant
    application = ApplicationFactory(tenant=alpha.tenant)
    # when they grant alpha's application bravo's API
    response = superuser_client.post(
        admin_url("grants_clientgrant_add"),
        {"application": application.pk, "api": bravo.api.pk, "scopes": ["read:things"]},
    )
    # then the service refuses it onto the form
    assert response.status_code == HTTPStatus.OK
    assert "must belong to this tenant" in response.content.decode()
    assert not ClientGrant.objects.filter(application=application).exists()


def test_change_scopes_and_delete(portal_client, portal_admin, alpha):
    # given a grant of read and write
    grant = alpha.grant
    # when the admin narrows it to read, then deletes it
    changed = portal_client.post(
        admin_url("grants_clientgrant_change", grant.pk), {"scopes": ["read:things"]}
    )
    grant.refresh_from_db()
    scopes = grant.scopes
    deleted = portal_client.post(admin_url("grants_clientgrant_delete", grant.pk), {"post": "yes"})
    # then both went through the service, audited with the admin
    assert (changed.status_code, deleted.status_code) == (HTTPStatus.FOUND, HTTPStatus.FOUND)
    assert scopes == ["read:things"]
    assert not ClientGrant.objects.filter(pk=grant.pk).exists()
    types = set(AuditEvent.objects.filter(actor=portal_admin).values_list("type", flat=True))
    assert types == {AuditEvent.Type.CLIENT_GRANT_UPDATED, AuditEvent.Type.CLIENT_GRANT_DELETED}


def test_change_form_offers_only_the_grants_api_scopes(portal_client, alpha, reports):
    # given a grant for alpha's first API, and another API with other scopes
    # when the admin opens the grant
    html = portal_client.get(admin_url("grants_clientgrant_change", alpha.grant.pk)).content.decode()
    # then the scopes on offer are that API's
    assert 'value="read:things"' in html
    assert 'value="read:reports"' not in html
