"""Applications in the admin: the client secret is shown once, rotation, updates through the service.

The pages themselves (create by type, tabs, Quickstart...): ``test_application_pages.py``.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.auth.hashers import check_password

from apps.applications.models import Application
from apps.audit.models import AuditEvent
from tests.dashboard.conftest import admin_url, shown_secret


def _add_form(tenant, **overrides) -> dict:
    data = {"tenant": tenant.pk, "name": "Nightly export", "app_type": Application.AppType.MACHINE_TO_MACHINE}
    return data | overrides


def _pages_after(client, application: Application) -> list[str]:
    """Every admin page that shows the application (or could, if it leaked the secret)."""
    urls = [
        admin_url("applications_application_change", application.pk),
        admin_url("applications_application_changelist"),
        admin_url("applications_application_history", application.pk),
        admin_url("applications_application_rotate_secret", application.pk),
        admin_url("applications_application_quickstart", application.pk),
        admin_url("audit_auditevent_changelist"),
    ]
    pages = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK, url
        pages.append(response.content.decode())
    return pages


def test_create_shows_the_secret_once_and_stores_only_a_hash(portal_client, portal_admin, alpha):
    # given a portal admin of alpha
    # when they create an M2M application
    response = portal_client.post(admin_url("applications_application_add"), _add_form(alpha.tenant))
    # then the response shows the secret, uncached
    assert response.status_code == HTTPStatus.OK
    secret = shown_secret(response.content.decode())
    assert "no-store" in response["Cache-Control"]
    application = Application.objects.get(tenant=alpha.tenant, name="Nightly export")
    assert application.client_id in response.content.decode()
    # and only its keyed hash is stored
    assert application.client_secret.startswith("hmac_sha256$")
    assert check_password(secret, application.client_secret)
    # and no later page shows the secret or its hash
    for html in _pages_after(portal_client, application):
        assert secret not in html
        assert application.client_secret.split("$")[-1] not in html
    # and the audit trail names the admin
    event = AuditEvent.objects.get(type=AuditEvent.Type.APPLICATION_CREATED, target=application.client_id)
    assert event.actor == portal_admin


def test_create_with_the_save_and_continue_button_still_shows_the_secret_page(portal_client, alpha):
    # given a portal admin
    # when they create an application with "Save and continue editing"
    response = portal_client.post(
        admin_url("applications_application_add"), _add_form(alpha.tenant, _continue="1")
    )
    # then they still get the secret page (not a redirect that would lose the secret)
    assert response.status_code == HTTPStatus.OK
    assert shown_secret(response.content.decode())


def test_rotate_shows_a_new_secret_once_and_the_old_one_stops_working(portal_client, portal_admin, alpha):
    # given an application whose secret is known
    application = alpha.application
    old_secret = application.plaintext_secret
    # when the admin confirms "Rotate secret"
    url = admin_url("applications_application_rotate_secret", application.pk)
    assert (
        "Rotate secret"
        in portal_client.get(admin_url("applications_application_change", application.pk)).content.decode()
    )
    confirm = portal_client.get(url)
    assert confirm.status_code == HTTPStatus.OK
    response = portal_client.post(url)
    # then the new secret is shown, the new one works and the old one does not
    assert response.status_code == HTTPStatus.OK
    assert "no-store" in response["Cache-Control"]
    new_secret = shown_secret(response.content.decode())
    application.refresh_from_db()
    assert new_secret != old_secret
    assert check_password(new_secret, application.client_secret)
    assert not check_password(old_secret, application.client_secret)
    # and it is never shown again
    for html in _pages_after(portal_client, application):
        assert new_secret not in html
    assert AuditEvent.objects.filter(
        type=AuditEvent.Type.APPLICATION_SECRET_ROTATED, target=application.client_id, actor=portal_admin
    ).exists()


def test_change_goes_through_the_service(portal_client, portal_admin, alpha):
    # given an application
    application = alpha.application
    # when the admin renames and deactivates it
    response = portal_client.post(
        admin_url("applications_application_change", application.pk),
        {
            "name": "Renamed",
            "description": "",
            "is_first_party": "on",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
            "redirect_uris": "",
            "allowed_origins": "",
        },
    )
    # then it is changed, audited with the admin and the changed fields
    assert response.status_code == HTTPStatus.FOUND
    application.refresh_from_db()
    assert (application.name, application.is_active) == ("Renamed", False)
    event = AuditEvent.objects.get(type=AuditEvent.Type.APPLICATION_UPDATED, target=application.client_id)
    assert event.actor == portal_admin
    assert event.data["changed"] == ["is_active", "name"]


def test_delete_goes_through_the_service(portal_client, portal_admin, alpha):
    # given an application
    application = alpha.application
    # when the admin deletes it
    response = portal_client.post(
        admin_url("applications_application_delete", application.pk), {"post": "yes"}
    )
    # then it is gone, with an audit event naming the admin
    assert response.status_code == HTTPStatus.FOUND
    assert not Application.objects.filter(pk=application.pk).exists()
    assert AuditEvent.objects.filter(
        type=AuditEvent.Type.APPLICATION_DELETED, target=application.client_id, actor=portal_admin
    ).exists()


@pytest.mark.parametrize("page", ["change", "changelist"])
def test_no_form_or_list_has_a_client_secret_field(portal_client, alpha, page):
    # given an application
    application = alpha.application
    # when its change page or the list is shown
    url = (
        admin_url("applications_application_change", application.pk)
        if page == "change"
        else admin_url("applications_application_changelist")
    )
    html = portal_client.get(url).content.decode()
    # then there is no client secret, field or value
    assert 'name="client_secret"' not in html
    assert application.client_secret not in html
    assert application.plaintext_secret not in html
