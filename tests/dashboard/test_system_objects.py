"""The Management API and its client are Portcullis's own: read-only and undeletable in the admin."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from apps.apis.models import Api
from apps.applications.models import Application
from apps.management.services import management_api_provision
from tests.dashboard.conftest import admin_url


@pytest.fixture
def system_objects(alpha) -> dict[str, object]:
    management_api_provision(tenant=alpha.tenant)
    return {
        "apis_api": Api.objects.get(tenant=alpha.tenant, is_system=True),
        "applications_application": Application.objects.get(tenant=alpha.tenant, is_system=True),
    }


@pytest.mark.parametrize("client_fixture", ["portal_client", "superuser_client"])
@pytest.mark.parametrize("url_name", ["apis_api", "applications_application"])
def test_system_api_and_client_cannot_be_deleted(request, system_objects, client_fixture, url_name):
    # given the tenant's Management API and management client
    client = request.getfixturevalue(client_fixture)
    obj = system_objects[url_name]
    # when an admin tries the delete page, and the "delete selected" action
    page = client.get(admin_url(f"{url_name}_delete", obj.pk))
    confirmed = client.post(admin_url(f"{url_name}_delete", obj.pk), {"post": "yes"})
    action = client.post(
        admin_url(f"{url_name}_changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [obj.pk], "post": "yes"},
    )
    # then each is refused and the object is still there
    assert page.status_code == HTTPStatus.FORBIDDEN
    assert confirmed.status_code == HTTPStatus.FORBIDDEN
    assert action.status_code == HTTPStatus.FORBIDDEN
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("url_name", ["apis_api", "applications_application"])
def test_system_objects_are_read_only(portal_client, system_objects, url_name):
    # given the Management API and its client
    obj = system_objects[url_name]
    # when the admin opens and posts their change page
    page = portal_client.get(admin_url(f"{url_name}_change", obj.pk))
    posted = portal_client.post(admin_url(f"{url_name}_change", obj.pk), {"name": "Hijacked"})
    # then the page is view-only and the change is refused
    assert page.status_code == HTTPStatus.OK
    assert 'name="_save"' not in page.content.decode()
    assert posted.status_code == HTTPStatus.FORBIDDEN
    obj.refresh_from_db()
    assert obj.name != "Hijacked"


def test_ordinary_objects_can_be_deleted_in_bulk(portal_client, alpha, system_objects):
    # given an ordinary API next to the system one
    # when the admin deletes the ordinary one with the bulk action
    response = portal_client.post(
        admin_url("apis_api_changelist"),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [alpha.api.pk], "post": "yes"},
    )
    # then it is gone (through the service: its grants cascade) and the system API stays
    assert response.status_code == HTTPStatus.FOUND
    assert not Api.objects.filter(pk=alpha.api.pk).exists()
    assert Api.objects.filter(pk=system_objects["apis_api"].pk).exists()
