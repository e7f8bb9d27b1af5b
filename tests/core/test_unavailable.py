"""A request that needs an unreachable database gets a 503 with Retry-After in its surface's format."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import OperationalError

from apps.core.unavailable import ERROR_TEMPORARILY_UNAVAILABLE, MSG_DATABASE_UNAVAILABLE
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def _unreachable(*args, **kwargs):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')


@pytest.fixture
def down_client(client):
    """The test client, answering errors as a server would (not re-raising them into the test)."""
    client.raise_request_exception = False
    return client


def test_a_tenant_endpoint_answers_rfc6749_json_503_when_a_view_hits_the_outage(
    down_client, monkeypatch, settings
):
    # given a tenant whose discovery document cannot be built without the database
    settings.DATABASE_RETRY_AFTER_SECONDS = 7
    tenant = TenantFactory()
    monkeypatch.setattr("apps.oauth.views.discovery.tenant_discovery_document", _unreachable)

    # when it is asked for
    response = down_client.get(f"/t/{tenant.slug}/.well-known/openid-configuration")

    # then the answer is a retryable 503 in RFC 6749's error format
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "7"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "error": ERROR_TEMPORARILY_UNAVAILABLE,
        "error_description": MSG_DATABASE_UNAVAILABLE,
    }


def test_tenant_resolution_failing_in_middleware_is_a_503_too(down_client, monkeypatch):
    # given tenant resolution (middleware, before any view) that cannot reach the database
    monkeypatch.setattr("apps.tenants.middleware.tenant_get_by_slug", _unreachable)

    # when a token is asked for
    response = down_client.post("/t/any/oauth/token", {"grant_type": "client_credentials"})

    # then it is a 503, not a 500
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["error"] == ERROR_TEMPORARILY_UNAVAILABLE
    assert response["Retry-After"].isdigit()


def test_the_management_api_answers_in_auth0s_error_shape(down_client, monkeypatch):
    monkeypatch.setattr("apps.tenants.middleware.tenant_get_by_slug", _unreachable)

    response = down_client.get("/t/any/api/v2/clients")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json() == {
        "statusCode": 503,
        "error": "Service Unavailable",
        "message": MSG_DATABASE_UNAVAILABLE,
        "errorCode": ERROR_TEMPORARILY_UNAVAILABLE,
    }


def test_a_portal_page_answers_a_readable_html_503(down_client, monkeypatch):
    # given the admin's login view cannot reach the database
    monkeypatch.setattr("django.contrib.auth.views.LoginView.get", _unreachable)

    response = down_client.get("/admin/login/")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Content-Type"].startswith("text/html")
    assert b"Temporarily unavailable" in response.content
    assert response["Retry-After"].isdigit()


def test_other_database_errors_stay_server_errors(down_client, monkeypatch):
    # given a view failing with a bug (not an outage), then it is not disguised as "retry later"
    tenant = TenantFactory()

    def bug(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr("apps.oauth.views.discovery.tenant_discovery_document", bug)
    response = down_client.get(f"/t/{tenant.slug}/.well-known/openid-configuration")
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
