"""The deny list: revoking JWT access tokens (RFC 7009), the admin, userinfo, and the feed resource servers poll."""

from __future__ import annotations

import time
from datetime import timedelta
from http import HTTPStatus

import jwt
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.grants.models import DeniedToken
from apps.grants.selectors import token_is_denied
from apps.grants.services import token_deny
from apps.oauth.views.deny_list import MSG_AUDIENCE_REQUIRED, MSG_UNKNOWN_AUDIENCE
from tests.conftest import make_m2m_setup
from tests.factories import ApplicationFactory
from tests.oauth.test_introspection import active_claims, inactive, introspect, m2m_token
from tests.oauth.test_refresh_and_revocation import tokens_for
from tests.oauth.user_flow import web  # noqa: F401


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def revoke(http, setup, token: str, *, client=None, **extra):
    client = client or setup.application
    return http.post(
        f"/t/{setup.tenant.slug}/oauth/revoke",
        data={"token": token, **extra},
        auth=(client.client_id, client.plaintext_secret),
    )


# --- RFC 7009 for JWT access tokens -----------------------------------------------------------------


def test_a_client_revokes_its_m2m_access_token_and_it_is_deny_listed(http, m2m):
    # given an M2M token, and a resource server that introspects
    token = m2m_token(http, m2m)
    api_client = ApplicationFactory(tenant=m2m.tenant)
    assert active_claims(introspect(http, m2m.tenant, api_client, token))
    # when its client revokes it
    response = revoke(http, m2m, token, token_type_hint="access_token")
    # then 200, the token is deny-listed until its own expiry, and introspection says inactive
    assert response.status_code == HTTPStatus.OK
    claims = claims_of(token)
    entry = DeniedToken.objects.get(jti=claims["jti"])
    assert (entry.tenant_id, entry.audience) == (m2m.tenant.pk, m2m.api.identifier)
    assert int(entry.expires_at.timestamp()) == claims["exp"]
    assert inactive(introspect(http, m2m.tenant, api_client, token))


def test_another_client_cannot_revoke_a_token_it_was_not_issued(http, m2m):
    # given a token of m2m's client, and another client of the tenant
    token = m2m_token(http, m2m)
    other = ApplicationFactory(tenant=m2m.tenant)
    # when the other client revokes it
    response = revoke(http, m2m, token, client=other)
    # then the answer is 200 (RFC 7009 2.2) but nothing changed
    assert response.status_code == HTTPStatus.OK
    assert not DeniedToken.objects.exists()
    assert active_claims(introspect(http, m2m.tenant, other, token))


def test_a_user_access_token_revoked_by_its_client_stops_working_at_userinfo(http, web):  # noqa: F811
    body = tokens_for(http, web)
    assert revoke(http, web, body["access_token"]).status_code == HTTPStatus.OK
    assert DeniedToken.objects.filter(
        jti=claims_of(body["access_token"])["jti"], audience=web.api.identifier
    ).exists()
    response = http.get(
        f"/t/{web.tenant.slug}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_userinfo_refuses_a_deny_listed_token_whose_row_is_still_there(http, web):  # noqa: F811
    # given a user token that an admin deny-lists by jti
    body = tokens_for(http, web)
    token_deny(tenant=web.tenant, jti=claims_of(body["access_token"])["jti"], audience=web.api.identifier)
    # when the application calls userinfo
    response = http.get(
        f"/t/{web.tenant.slug}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    # then
    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_revoking_a_refresh_token_deny_lists_its_access_token(http, web):  # noqa: F811
    body = tokens_for(http, web)
    assert (
        revoke(http, web, body["refresh_token"], token_type_hint="refresh_token").status_code == HTTPStatus.OK
    )
    assert token_is_denied(tenant_id=web.tenant.pk, jti=claims_of(body["access_token"])["jti"])


# --- the service and the admin ----------------------------------------------------------------------


@pytest.mark.django_db
def test_deny_without_expiry_lasts_the_longest_token_lifetime_and_is_audited(m2m):
    entry = token_deny(tenant=m2m.tenant, jti=" abc ", audience=m2m.api.identifier, reason="leaked in a log")
    assert entry.jti == "abc"
    lifetime = (entry.expires_at - timezone.now()).total_seconds()
    assert m2m.api.token_lifetime - 5 <= lifetime <= m2m.api.token_lifetime + 5
    event = AuditEvent.objects.get(type=AuditEvent.Type.TOKEN_DENIED)
    assert event.target == "abc" and event.data["reason"] == "leaked in a log"
    assert token_is_denied(tenant_id=m2m.tenant.pk, jti="abc")
    assert not token_is_denied(tenant_id=make_m2m_setup().tenant.pk, jti="abc")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("jti", "expires_at", "field"),
    [("", None, "jti"), ("   ", None, "jti"), ("abc", timezone.now() - timedelta(seconds=1), "expires_at")],
)
def test_deny_refuses_what_means_nothing(m2m, jti, expires_at, field):
    with pytest.raises(ValidationError) as error:
        token_deny(tenant=m2m.tenant, jti=jti, expires_at=expires_at)
    assert field in error.value.error_dict
    assert not DeniedToken.objects.exists()


@pytest.mark.django_db
def test_denying_twice_keeps_one_row_with_the_later_expiry(m2m):
    soon, later = timezone.now() + timedelta(minutes=5), timezone.now() + timedelta(hours=5)
    token_deny(tenant=m2m.tenant, jti="abc", audience=m2m.api.identifier, expires_at=soon)
    token_deny(tenant=m2m.tenant, jti="abc", audience=m2m.api.identifier, expires_at=later)
    assert DeniedToken.objects.get().expires_at == later


# --- the feed -----------------------------------------------------------------------------------------


def feed(http, setup, audience, **headers):
    return http.get(f"/t/{setup.tenant.slug}/oauth/deny-list", params={"audience": audience}, headers=headers)


def test_the_feed_lists_this_apis_denied_tokens_until_they_expire(http, m2m):
    # given a revoked token of the API, an entry for another audience and one that expired
    token = m2m_token(http, m2m)
    revoke(http, m2m, token)
    token_deny(tenant=m2m.tenant, jti="other-api", audience="https://other.example.com")
    DeniedToken.objects.create(
        tenant=m2m.tenant,
        jti="expired",
        audience=m2m.api.identifier,
        expires_at=timezone.now() - timedelta(1),
    )
    # when the API polls its feed
    response = feed(http, m2m, m2m.api.identifier)
    # then
    assert response.status_code == HTTPStatus.OK
    claims = claims_of(token)
    assert response.json() == {
        "audience": m2m.api.identifier,
        "denied": [{"jti": claims["jti"], "exp": claims["exp"]}],
        "refresh_interval": 30,
    }
    assert response.headers["Cache-Control"] == "public, max-age=30"


def test_the_feed_answers_304_to_its_own_etag(http, m2m):
    first = feed(http, m2m, m2m.api.identifier)
    again = feed(http, m2m, m2m.api.identifier, **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == HTTPStatus.NOT_MODIFIED
    token_deny(tenant=m2m.tenant, jti="new", audience=m2m.api.identifier)
    changed = feed(http, m2m, m2m.api.identifier, **{"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == HTTPStatus.OK
    assert changed.json()["denied"][0]["jti"] == "new"


def test_the_feed_needs_a_known_audience(http, m2m):
    missing = http.get(f"/t/{m2m.tenant.slug}/oauth/deny-list")
    assert missing.status_code == HTTPStatus.BAD_REQUEST
    assert missing.json() == {"error": "invalid_request", "error_description": MSG_AUDIENCE_REQUIRED}
    unknown = feed(http, m2m, "https://nope.example.com")
    assert unknown.status_code == HTTPStatus.NOT_FOUND
    assert unknown.json()["error_description"] == MSG_UNKNOWN_AUDIENCE.format(
        audience="https://nope.example.com"
    )


def test_the_feed_is_per_tenant(http, m2m):
    other = make_m2m_setup()
    token_deny(tenant=other.tenant, jti="theirs", audience=m2m.api.identifier)
    # another tenant's API identifier is unknown here, and their entries never show
    assert feed(http, other, m2m.api.identifier).status_code == HTTPStatus.NOT_FOUND
    assert feed(http, m2m, m2m.api.identifier).json()["denied"] == []


@pytest.mark.django_db
def test_another_process_revocation_is_seen_within_the_deny_list_cache_time(m2m, settings):
    # given a process that cached the (empty) deny list, with config cached far longer
    settings.CONFIG_CACHE_SECONDS, settings.DENY_LIST_CACHE_SECONDS = 60, 0.2
    assert not token_is_denied(tenant_id=m2m.tenant.pk, jti="elsewhere")
    # when another process deny-lists a token (a row written behind this process's back)
    DeniedToken.objects.create(
        tenant=m2m.tenant,
        jti="elsewhere",
        audience=m2m.api.identifier,
        expires_at=timezone.now() + timedelta(1),
    )
    # then this process still answers from its copy, and re-reads it after DENY_LIST_CACHE_SECONDS
    assert not token_is_denied(tenant_id=m2m.tenant.pk, jti="elsewhere")
    time.sleep(0.3)
    assert token_is_denied(tenant_id=m2m.tenant.pk, jti="elsewhere")
