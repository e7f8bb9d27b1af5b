"""``clients`` refuses what the portal refuses, in the same words: the rules live in the services
(``apps.applications.rules`` and ``apps.applications.uris``), not in either surface."""

from __future__ import annotations

from http import HTTPStatus

from apps.applications import rules, uris
from apps.applications.models import Application
from tests.factories import ApplicationFactory


def test_create_refuses_a_bad_callback_and_a_grant_type_the_type_cannot_use(mgmt):
    # when a SPA is created with client credentials and a callback with a fragment
    response = mgmt.call(
        "POST",
        "clients",
        json={
            "name": "Misfit",
            "app_type": "spa",
            "grant_types": ["authorization_code", "client_credentials"],
            "callbacks": ["https://spa.example.com/cb", "https://spa.example.com/cb#top"],
        },
    )
    # then both are named, in Auth0's field names, and nothing is created
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.text
    body = response.json()
    assert body["errorCode"] == "invalid_body"
    assert body["message"] == "; ".join(
        [
            "callbacks: " + uris.MSG_FRAGMENT.format(uri="https://spa.example.com/cb#top"),
            "grant_types: "
            + rules.MSG_GRANT_TYPE_NOT_FOR_APP_TYPE.format(
                grant_type="Client credentials",
                app_type="single-page application",
                reason="it is a public client, which cannot keep the secret that client credentials need",
            ),
        ]
    )
    assert not Application.objects.filter(name="Misfit").exists()


def test_patch_refuses_a_logout_url_with_a_wildcard(mgmt):
    # given a regular web application
    application = ApplicationFactory(tenant=mgmt.tenant, app_type="regular_web")
    # when its logout URLs are set with a wildcard
    response = mgmt.call(
        "PATCH", f"clients/{application.client_id}", json={"allowed_logout_urls": ["https://*.example.com/"]}
    )
    # then it is refused in the portal's words, under Auth0's name for the list
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.text
    assert response.json()["message"] == "allowed_logout_urls: " + uris.MSG_WILDCARD.format(
        uri="https://*.example.com/"
    )
    application.refresh_from_db()
    assert application.post_logout_redirect_uris == ""
