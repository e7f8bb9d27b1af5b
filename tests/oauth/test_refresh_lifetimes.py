"""Refresh-token lifetimes (Auth0's rotation settings): absolute from the family's start, inactivity
from the presented token's creation; over HTTP, with time moved in the database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauthlib.common import Request

from apps.audit.models import AuditEvent
from apps.oauth import errors
from apps.oauth.context import OAuthContext, bound
from apps.oauth.models import Grant, RefreshToken, checksum
from apps.oauth.refresh_lifetimes import token_family_new, token_family_started_at
from apps.oauth.validators import PortcullisValidator
from apps.tenants import services as tenant_services
from apps.tenants.models import Tenant
from apps.tenants.selectors import (
    RefreshTokenLifetimes,
    refresh_token_lifetimes_of,
    refresh_token_lifetimes_overridden,
    tenant_refresh_token_lifetimes,
)
from apps.tenants.services import tenant_refresh_token_lifetimes_set
from tests.conftest import LiveSession
from tests.factories import TenantFactory
from tests.oauth.test_refresh_and_revocation import refresh, tokens_for
from tests.oauth.user_flow import make_user_setup, web  # noqa: F401

DAY = 86_400
EXPIRED = {"error": "invalid_grant", "error_description": errors.MSG_REFRESH_TOKEN_EXPIRED}


def row_of(refresh_token: str) -> RefreshToken:
    return RefreshToken.objects.get(token_checksum=checksum(refresh_token))


def age_token(refresh_token: str, *, seconds: float) -> None:
    """Move the token's creation ``seconds`` into the past (the inactivity clock)."""
    RefreshToken.objects.filter(token_checksum=checksum(refresh_token)).update(
        created=timezone.now() - timedelta(seconds=seconds)
    )


def age_family(refresh_token: str, *, seconds: float) -> None:
    """Move the start of the token's family ``seconds`` into the past (the absolute clock): the
    family id is re-stamped, as it would have been by a sign-in that long ago."""
    family = row_of(refresh_token).token_family
    aged = token_family_new(at=timezone.now() - timedelta(seconds=seconds))
    RefreshToken.objects.filter(token_family=family).update(token_family=aged)
    Grant.objects.filter(issued_family=family).update(issued_family=aged)


def tenant_with_settings(stored: dict):
    tenant = TenantFactory()
    Tenant.objects.filter(pk=tenant.pk).update(settings=stored)
    tenant.refresh_from_db()
    return tenant


# --- the family id carries its start ---------------------------------------------------------------
def test_a_family_id_is_a_uuid7_stamped_with_its_start():
    # given
    at = datetime(2026, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)
    # when
    family = token_family_new(at=at)
    # then
    assert family.version == 7
    assert family.variant == uuid.RFC_4122
    assert token_family_started_at(family) == at
    assert token_family_new(at=at) != family  # random bits below the time


def test_a_random_family_id_has_no_start():
    assert token_family_started_at(uuid.uuid4()) is None
    assert token_family_started_at(None) is None


def test_a_sign_in_starts_a_uuid7_family_that_rotation_keeps(http, web):  # noqa: F811
    # given
    before = timezone.now() - timedelta(seconds=1)
    first = tokens_for(http, web)
    # when
    rotated = refresh(http, web, first["refresh_token"]).json()["refresh_token"]
    # then
    family = row_of(first["refresh_token"]).token_family
    assert row_of(rotated).token_family == family
    assert before <= token_family_started_at(family) <= timezone.now()


# --- inactivity lifetime ------------------------------------------------------------------------
def test_a_refresh_token_idle_past_the_inactivity_lifetime_is_refused(http, web, settings):  # noqa: F811
    # given a token not used for the default inactivity lifetime (15 days) and a second
    settings.REFRESH_TOKEN_INACTIVITY_LIFETIME_SECONDS = 15 * DAY
    token = tokens_for(http, web)["refresh_token"]
    age_token(token, seconds=15 * DAY + 1)
    # when
    response = refresh(http, web, token)
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == EXPIRED
    assert row_of(token).revoked is None  # refused, not a reuse: nothing revoked


def test_a_refresh_token_used_within_the_inactivity_lifetime_works_and_the_next_one_starts_afresh(
    http,
    web,  # noqa: F811
):
    # given a token used just before it would idle out
    token = tokens_for(http, web)["refresh_token"]
    age_token(token, seconds=15 * DAY - 60)
    # when
    response = refresh(http, web, token)
    # then
    assert response.status_code == HTTPStatus.OK, response.text
    rotated = response.json()["refresh_token"]
    assert timezone.now() - row_of(rotated).created < timedelta(minutes=1)
    assert refresh(http, web, rotated).status_code == HTTPStatus.OK


# --- absolute lifetime --------------------------------------------------------------------------
def test_rotation_does_not_extend_the_absolute_lifetime(http, web):  # noqa: F811
    # given a session rotated just now, whose sign-in was 30 days and a second ago
    first = tokens_for(http, web)
    latest = refresh(http, web, first["refresh_token"]).json()["refresh_token"]
    age_family(latest, seconds=30 * DAY + 1)
    # when the freshly rotated token is presented
    response = refresh(http, web, latest)
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == EXPIRED


def test_a_family_within_its_absolute_lifetime_refreshes(http, web):  # noqa: F811
    token = tokens_for(http, web)["refresh_token"]
    age_family(token, seconds=30 * DAY - 60)
    assert refresh(http, web, token).status_code == HTTPStatus.OK


def test_a_reused_token_of_an_expired_family_still_revokes_the_family(http, web):  # noqa: F811
    # given
    first = tokens_for(http, web)
    latest = refresh(http, web, first["refresh_token"]).json()["refresh_token"]
    age_family(latest, seconds=30 * DAY + 1)
    # when the rotated-out token is replayed
    response = refresh(http, web, first["refresh_token"])
    # then reuse is what is reported, and the family is revoked (RFC 9700 4.14.2)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"error": "invalid_grant"}
    assert row_of(latest).revoked is not None


def test_a_family_from_before_uuid7_counts_from_its_first_row(http, web):  # noqa: F811
    # given a family with a random id whose first token is 30 days and a second old
    first = tokens_for(http, web)
    latest = refresh(http, web, first["refresh_token"]).json()["refresh_token"]
    legacy = uuid.uuid4()
    RefreshToken.objects.filter(token_family=row_of(latest).token_family).update(token_family=legacy)
    age_token(first["refresh_token"], seconds=30 * DAY + 1)
    # when / then
    response = refresh(http, web, latest)
    assert response.json() == EXPIRED
    # and with its first row inside the lifetime, it refreshes
    age_token(first["refresh_token"], seconds=30 * DAY - 60)
    assert refresh(http, web, latest).status_code == HTTPStatus.OK


# --- tenant-level settings -----------------------------------------------------------------------
def test_a_tenants_own_lifetimes_apply_to_its_tokens_only(http, web):  # noqa: F811
    # given a tenant with one hour absolute, ten minutes inactivity; another tenant with the defaults
    tenant_refresh_token_lifetimes_set(tenant=web.tenant, absolute_seconds=3600, inactivity_seconds=600)
    other = make_user_setup()
    idle = tokens_for(http, web)["refresh_token"]
    old = tokens_for(http, web)["refresh_token"]
    other_browser = LiveSession(http.base_url)  # the other tenant's user signs in elsewhere
    other_token = tokens_for(other_browser, other)["refresh_token"]
    age_token(idle, seconds=601)
    age_family(old, seconds=3601)
    age_token(other_token, seconds=601)
    age_family(other_token, seconds=3601)
    # when / then
    assert refresh(http, web, idle).json() == EXPIRED
    assert refresh(http, web, old).json() == EXPIRED
    assert refresh(other_browser, other, other_token).status_code == HTTPStatus.OK


def test_the_settings_defaults_apply_to_tenants_without_their_own(http, web, settings):  # noqa: F811
    settings.REFRESH_TOKEN_INACTIVITY_LIFETIME_SECONDS = 300
    token = tokens_for(http, web)["refresh_token"]
    age_token(token, seconds=301)
    assert refresh(http, web, token).json() == EXPIRED


@pytest.mark.django_db
def test_the_lifetimes_selector_reads_settings_with_defaults(settings):
    # given
    settings.REFRESH_TOKEN_ABSOLUTE_LIFETIME_SECONDS = 2_592_000
    settings.REFRESH_TOKEN_INACTIVITY_LIFETIME_SECONDS = 1_296_000
    default = RefreshTokenLifetimes(absolute_seconds=2_592_000, inactivity_seconds=1_296_000)
    tenant = TenantFactory()
    # then
    assert tenant_refresh_token_lifetimes(tenant=tenant) == default
    assert refresh_token_lifetimes_overridden() == {}
    # when
    tenant_refresh_token_lifetimes_set(tenant=tenant, absolute_seconds=7200, inactivity_seconds=60)
    # then
    expected = RefreshTokenLifetimes(absolute_seconds=7200, inactivity_seconds=60)
    assert tenant_refresh_token_lifetimes(tenant=tenant) == expected
    assert refresh_token_lifetimes_overridden() == {tenant.pk: expected}


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ({}, (100, 50)),
        ({"refresh_token": "junk"}, (100, 50)),
        ({"refresh_token": {"token_lifetime": 70}}, (70, 50)),
        ({"refresh_token": {"idle_token_lifetime": 7}}, (100, 7)),
        ({"refresh_token": {"token_lifetime": -1, "idle_token_lifetime": "9"}}, (100, 50)),
        ({"refresh_token": {"token_lifetime": True, "idle_token_lifetime": 0}}, (100, 50)),
        ([], (100, 50)),
    ],
)
def test_stored_values_that_are_not_positive_integers_mean_the_default(settings, stored, expected):
    settings.REFRESH_TOKEN_ABSOLUTE_LIFETIME_SECONDS = 100
    settings.REFRESH_TOKEN_INACTIVITY_LIFETIME_SECONDS = 50
    lifetimes = refresh_token_lifetimes_of(stored)
    assert (lifetimes.absolute_seconds, lifetimes.inactivity_seconds) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("absolute", "inactivity", "code", "message"),
    [
        (0, 10, "not_positive", tenant_services.MSG_REFRESH_LIFETIME_NOT_POSITIVE),
        (100, -5, "not_positive", tenant_services.MSG_REFRESH_LIFETIME_NOT_POSITIVE),
        ("100", 10, "not_positive", tenant_services.MSG_REFRESH_LIFETIME_NOT_POSITIVE),
        (31_557_601, 10, "too_long", tenant_services.MSG_REFRESH_LIFETIME_TOO_LONG),
        (100, 101, "inactivity_above_absolute", tenant_services.MSG_REFRESH_INACTIVITY_ABOVE_ABSOLUTE),
    ],
)
def test_bad_lifetimes_are_refused_and_nothing_is_written(absolute, inactivity, code, message):
    # given
    tenant = tenant_with_settings({"keep": "me"})
    # when
    with pytest.raises(ValidationError) as refused:
        tenant_refresh_token_lifetimes_set(
            tenant=tenant, absolute_seconds=absolute, inactivity_seconds=inactivity
        )
    # then
    assert refused.value.code == code
    assert refused.value.messages == [message]
    tenant.refresh_from_db()
    assert tenant.settings == {"keep": "me"}


@pytest.mark.django_db
def test_setting_lifetimes_keeps_the_other_settings_and_is_audited():
    # given
    tenant = tenant_with_settings({"keep": "me", "refresh_token": {"rotation_type": "rotating"}})
    # when
    tenant_refresh_token_lifetimes_set(tenant=tenant, absolute_seconds=3600, inactivity_seconds=3600)
    # then
    tenant.refresh_from_db()
    assert tenant.settings == {
        "keep": "me",
        "refresh_token": {"rotation_type": "rotating", "token_lifetime": 3600, "idle_token_lifetime": 3600},
    }
    event = AuditEvent.objects.get(tenant=tenant, type=AuditEvent.Type.TENANT_UPDATED)
    assert event.data["changed"] == ["refresh_token"]


# --- cost: the refresh path still reads one row ----------------------------------------------------
def _validate(setup, token: str) -> bool:
    request = Request("https://testserver/token", http_method="POST")
    request.grant_type = "refresh_token"
    with bound(OAuthContext(tenant=setup.tenant, issuer="https://testserver/")):
        return PortcullisValidator().validate_refresh_token(token, setup.application, request)


def test_validating_a_refresh_token_is_one_query(http, web):  # noqa: F811
    # given (the API lookup is served from the config cache after the first call)
    token = tokens_for(http, web)["refresh_token"]
    assert _validate(web, token)
    # when
    with CaptureQueriesContext(connection) as queries:
        valid = _validate(web, token)
    # then
    assert valid
    assert len(queries) == 1, [query["sql"] for query in queries]
