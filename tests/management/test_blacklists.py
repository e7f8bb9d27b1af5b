"""The Management API's ``blacklists/tokens`` (the deny list) over real HTTP."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import jwt
import pytest
from django.utils import timezone

from apps.apis.models import DEFAULT_TOKEN_LIFETIME
from apps.audit.models import AuditEvent
from apps.grants.models import DeniedToken
from apps.grants.services import token_deny
from apps.management.services import MANAGEMENT_SCOPES
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory
from tests.management.test_users import assert_error


def test_a_token_is_deny_listed_and_listed_back(mgmt):
    # when
    response = mgmt.call(
        "POST", "blacklists/tokens", json={"aud": "https://api.example.com", "jti": "abc123"}
    )
    # then 201, kept as long as any token of the tenant can live, audited with the client as actor
    assert response.status_code == HTTPStatus.CREATED, response.text
    entry = DeniedToken.objects.get(tenant=mgmt.tenant, jti="abc123")
    assert entry.audience == "https://api.example.com"
    assert entry.expires_at > timezone.now() + timedelta(seconds=DEFAULT_TOKEN_LIFETIME - 60)
    event = AuditEvent.objects.get(type=AuditEvent.Type.TOKEN_DENIED)
    assert event.actor_label == f"client {mgmt.client_id}"
    # and it is listed, filtered by aud
    token_deny(tenant=mgmt.tenant, jti="other", audience="https://other.example.com")
    assert sorted(mgmt.call("GET", "blacklists/tokens").json(), key=lambda e: e["jti"]) == [
        {"aud": "https://api.example.com", "jti": "abc123"},
        {"aud": "https://other.example.com", "jti": "other"},
    ]
    listed = mgmt.call("GET", "blacklists/tokens", params={"aud": "https://api.example.com"}).json()
    assert listed == [{"aud": "https://api.example.com", "jti": "abc123"}]


def test_a_deny_listed_m2m_token_is_refused_by_introspection(http, mgmt):
    # given an M2M token for an API of the tenant
    api = ApiFactory(tenant=mgmt.tenant)
    app = ApplicationFactory(tenant=mgmt.tenant)
    ClientGrantFactory(application=app, api=api)
    form = {
        "grant_type": "client_credentials",
        "client_id": app.client_id,
        "client_secret": app.plaintext_secret,
        "audience": api.identifier,
    }
    token = http.post(f"/t/{mgmt.tenant.slug}/oauth/token", data=form).json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})

    def active() -> bool:
        response = http.post(
            f"/t/{mgmt.tenant.slug}/oauth/introspect",
            data={"token": token},
            auth=(app.client_id, app.plaintext_secret),
        )
        assert response.status_code == HTTPStatus.OK, response.text
        return response.json()["active"]

    assert active()
    # when its jti is deny-listed through the API
    response = mgmt.call("POST", "blacklists/tokens", json={"aud": api.identifier, "jti": claims["jti"]})
    assert response.status_code == HTTPStatus.CREATED, response.text
    # then
    assert not active()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"aud": "x"}, "jti:"),
        ({"jti": 12}, "Expected type string."),
        ({"jti": "x" * 65}, "jti:"),
        ({"jti": "abc", "exp": 1}, "Additional properties not allowed: exp"),
        ({"jti": "  "}, "jti: This field may not be blank."),
    ],
)
def test_bad_bodies_are_refused(mgmt, body, message):
    response = mgmt.call("POST", "blacklists/tokens", json=body)
    assert_error(response, HTTPStatus.BAD_REQUEST, "invalid_body", message)
    assert not DeniedToken.objects.exists()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_both_methods_need_blacklist_tokens(mgmt, method):
    token = mgmt.token([s for s in MANAGEMENT_SCOPES if s != "blacklist:tokens"])
    response = mgmt.call(method, "blacklists/tokens", token=token, json={"jti": "abc"})
    assert_error(response, HTTPStatus.FORBIDDEN, "insufficient_scope", "blacklist:tokens")
    assert not DeniedToken.objects.exists()


def test_another_tenants_deny_list_is_out_of_reach(mgmt, other_mgmt):
    token_deny(tenant=other_mgmt.tenant, jti="theirs", audience="https://x.example.com")
    assert_error(
        mgmt.call("GET", "blacklists/tokens", token=other_mgmt.token()),
        HTTPStatus.UNAUTHORIZED,
        "invalid_token",
    )
    assert mgmt.call("GET", "blacklists/tokens").json() == []
