"""The rows a user token response writes (one statement: ``apps.oauth.token_rows``), linked and bound."""

from __future__ import annotations

import uuid
from http import HTTPStatus

import jwt
import pytest
from django.utils import timezone

from apps.grants.models import UserGrant
from apps.oauth.models import AccessToken, Grant, IDToken, RefreshToken, checksum
from apps.oauth.token_reads import code_grant_read, refresh_token_read
from apps.oauth.token_rows import _write_with_the_orm, token_rows_write
from tests.oauth.test_refresh_and_revocation import refresh, tokens_for
from tests.oauth.user_flow import web  # noqa: F401


@pytest.fixture
def http(http_both_paths):
    """Every test here runs through Django's full stack and through the lean path (tests/conftest.py)."""
    return http_both_paths


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def assert_bound(row, setup) -> None:
    assert row.tenant_id == setup.tenant.pk
    assert row.user_id == setup.user.pk
    assert row.application_id == setup.application.pk
    assert row.user_grant_id == UserGrant.objects.get().pk


def test_a_code_exchange_writes_linked_rows_bound_to_tenant_user_grant_and_audience(http, web):  # noqa: F811
    # when
    body = tokens_for(http, web)
    # then
    access = AccessToken.objects.get(jti=claims_of(body["access_token"])["jti"])
    id_token = IDToken.objects.get(jti=claims_of(body["id_token"])["jti"])
    refresh_row = RefreshToken.objects.get(token_checksum=checksum(body["refresh_token"]))
    assert access.id_token_id == id_token.pk
    assert access.source_refresh_token_id is None
    assert refresh_row.access_token_id == access.pk
    assert access.audience == refresh_row.audience == web.api.identifier
    for row in (access, id_token, refresh_row):
        assert_bound(row, web)


def test_a_refresh_retires_the_token_and_links_the_new_rows_in_its_family(http, web):  # noqa: F811
    # given
    first = tokens_for(http, web)
    presented = RefreshToken.objects.get(token_checksum=checksum(first["refresh_token"]))
    # when
    response = refresh(http, web, first["refresh_token"])
    # then
    assert response.status_code == HTTPStatus.OK, response.text
    body = response.json()
    presented.refresh_from_db()
    assert presented.revoked is not None
    access = AccessToken.objects.get(jti=claims_of(body["access_token"])["jti"])
    id_token = IDToken.objects.get(jti=claims_of(body["id_token"])["jti"])
    rotated = RefreshToken.objects.get(token_checksum=checksum(body["refresh_token"]))
    assert access.source_refresh_token_id == presented.pk
    assert access.id_token_id == id_token.pk
    assert rotated.access_token_id == access.pk
    assert rotated.token_family == presented.token_family
    assert rotated.revoked is None
    assert access.scope == presented.access_token.scope
    for row in (access, id_token, rotated):
        assert_bound(row, web)


def test_a_refresh_without_openid_writes_no_id_token(http, web):  # noqa: F811
    first = tokens_for(http, web, scope="read:things offline_access")
    before = IDToken.objects.count()
    response = refresh(http, web, first["refresh_token"])
    assert response.status_code == HTTPStatus.OK, response.text
    assert "id_token" not in response.json()
    assert IDToken.objects.count() == before
    assert AccessToken.objects.get(jti=claims_of(response.json()["access_token"])["jti"]).id_token_id is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "write", [token_rows_write, _write_with_the_orm], ids=["one-statement", "orm-sqlite"]
)
def test_the_write_does_nothing_when_the_presented_token_was_retired_meanwhile(web, write):  # noqa: F811
    # given a refresh token that a concurrent request retired after this one read it
    presented = RefreshToken.objects.create(
        tenant=web.tenant, user=web.user, application=web.application, token_checksum=checksum("rt")
    )
    RefreshToken.objects.filter(pk=presented.pk).update(revoked=timezone.now())
    counts = (AccessToken.objects.count(), IDToken.objects.count(), RefreshToken.objects.count())
    common = {"tenant": web.tenant, "user": web.user, "application": web.application}
    # when
    written = write(
        retire=presented,
        retired_at=timezone.now(),
        id_token=IDToken(**common, jti=uuid.uuid4(), expires=timezone.now()),
        access_token=AccessToken(
            **common, jti="at-jti", token_checksum=checksum("at"), expires=timezone.now()
        ),
        refresh_token=RefreshToken(
            **common, token_checksum=checksum("rt2"), token_family=presented.token_family
        ),
    )
    # then nothing was written
    assert written is False
    assert (AccessToken.objects.count(), IDToken.objects.count(), RefreshToken.objects.count()) == counts


@pytest.mark.django_db
@pytest.mark.parametrize(
    "write", [token_rows_write, _write_with_the_orm], ids=["one-statement", "orm-sqlite"]
)
def test_both_writers_retire_and_link_the_same_rows(web, write):  # noqa: F811
    """The ORM writer (SQLite, for make run's demo) writes what the one-statement writer writes."""
    common = {"tenant": web.tenant, "user": web.user, "application": web.application}
    presented = RefreshToken.objects.create(**common, token_checksum=checksum("rt"))
    id_token = IDToken(**common, jti=uuid.uuid4(), expires=timezone.now())
    access = AccessToken(**common, jti="at-jti", token_checksum=checksum("at"), expires=timezone.now())
    rotated = RefreshToken(**common, token_checksum=checksum("rt2"), token_family=presented.token_family)
    # when
    assert write(
        retire=presented,
        retired_at=timezone.now(),
        id_token=id_token,
        access_token=access,
        refresh_token=rotated,
    )
    # then
    presented.refresh_from_db()
    assert presented.revoked is not None
    stored = AccessToken.objects.get(pk=access.pk)
    assert (stored.id_token_id, stored.source_refresh_token_id) == (id_token.pk, presented.pk)
    assert RefreshToken.objects.get(pk=rotated.pk).access_token_id == access.pk


@pytest.mark.django_db
def test_the_refresh_read_returns_what_the_orm_would(web):  # noqa: F811
    """``refresh_token_read`` (one cached statement) against the queryset it replaces."""
    common = {"tenant": web.tenant, "user": web.user, "application": web.application}
    access = AccessToken.objects.create(
        **common, jti="j", token_checksum=checksum("at"), expires=timezone.now(), resource=["https://x"]
    )
    RefreshToken.objects.create(**common, token_checksum=checksum("rt"), access_token=access, audience="aud")
    orphan = RefreshToken.objects.create(**common, token_checksum=checksum("orphan"))
    # when
    read = refresh_token_read(tenant_id=web.tenant.pk, token="rt")
    # then every field of the three rows is what the ORM loads, converters applied
    expected = RefreshToken.objects.select_related("access_token", "user").get(token_checksum=checksum("rt"))
    for got, want in (
        (read, expected),
        (read.access_token, expected.access_token),
        (read.user, expected.user),
    ):
        assert type(got) is type(want)
        assert {f.attname: getattr(got, f.attname) for f in want._meta.concrete_fields} == {
            f.attname: getattr(want, f.attname) for f in want._meta.concrete_fields
        }
        assert got._state.adding is False
    assert read.access_token.resource == ["https://x"]
    assert refresh_token_read(tenant_id=web.tenant.pk, token="orphan").access_token is None
    assert refresh_token_read(tenant_id=web.tenant.pk, token="orphan").pk == orphan.pk
    assert refresh_token_read(tenant_id=web.tenant.pk, token="unknown") is None
    assert refresh_token_read(tenant_id=web.tenant.pk + 1000, token="rt") is None


@pytest.mark.django_db
def test_the_code_read_returns_what_the_orm_would(web):  # noqa: F811
    """``code_grant_read`` (one cached statement, the code's row locked) against the queryset it replaces."""
    Grant.objects.create(
        tenant=web.tenant,
        application=web.application,
        user=web.user,
        code="the-code",
        expires=timezone.now(),
        redirect_uri="https://app.example.com/callback",
        scope="openid",
        claims="{}",
    )
    read = code_grant_read(tenant_id=web.tenant.pk, code="the-code")
    expected = Grant.objects.select_related("user").get(code="the-code")
    for got, want in ((read, expected), (read.user, expected.user)):
        assert type(got) is type(want)
        assert {f.attname: getattr(got, f.attname) for f in want._meta.concrete_fields} == {
            f.attname: getattr(want, f.attname) for f in want._meta.concrete_fields
        }
    assert code_grant_read(tenant_id=web.tenant.pk, code="another") is None
    assert code_grant_read(tenant_id=web.tenant.pk + 1000, code="the-code") is None
