"""The client_credentials grant: what a machine-to-machine client gets, and in which shape."""

from __future__ import annotations

import base64
from http import HTTPStatus

import jwt
import pytest

from apps.apis.services import api_scopes_set, api_signing_secret, api_update
from apps.applications.services import AuthMethod, application_update
from apps.tenants.services import tenant_create
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory
from tests.oauth.helpers import verify_with_jwks


@pytest.fixture
def http(http_both_paths):
    """Every test here runs through Django's full stack and through the lean path (tests/conftest.py)."""
    return http_both_paths


def test_token_response_has_rfc6749_shape(http, m2m):
    # when
    response = http.post(m2m.token_path(), data=m2m.form())
    # then
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Type"].startswith("application/json")


def test_access_token_is_an_rfc9068_jwt_that_verifies_through_jwks(http, m2m):
    # when
    token = http.post(m2m.token_path(), data=m2m.form()).json()["access_token"]
    # then
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert header["kid"]
    claims = verify_with_jwks(http, token, tenant_slug=m2m.tenant.slug, audience=m2m.api.identifier)
    assert claims["iss"] == f"{http.base_url}/t/{m2m.tenant.slug}/"  # the server that issued it
    assert claims["sub"] == f"{m2m.client_id}@clients"
    assert claims["aud"] == m2m.api.identifier
    assert claims["client_id"] == claims["azp"] == m2m.client_id
    assert claims["gty"] == "client-credentials"
    assert claims["scope"] == "read:things write:things"
    assert claims["exp"] - claims["iat"] == 86400
    assert "permissions" not in claims


def test_each_token_has_a_unique_jti(http, m2m):
    tokens = [http.post(m2m.token_path(), data=m2m.form()).json()["access_token"] for _ in range(3)]
    jtis = {jwt.decode(token, options={"verify_signature": False})["jti"] for token in tokens}
    assert len(jtis) == 3


def test_requested_scopes_narrow_the_token(http, m2m):
    response = http.post(m2m.token_path(), data=m2m.form(scope="write:things"))
    assert response.status_code == HTTPStatus.OK
    assert response.json()["scope"] == "write:things"


def test_json_body_with_explicit_nulls_is_accepted(http, m2m):
    # given the body Auth0's SDKs send
    body = m2m.form() | {"scope": None, "resource": None, "organization": None}
    # when
    response = http.post(m2m.token_path(), json=body)
    # then
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json()["scope"] == "read:things write:things"


def test_resource_indicator_names_the_api(http, m2m):
    response = http.post(m2m.token_path(), data=m2m.form(audience=None, resource=m2m.api.identifier))
    assert response.status_code == HTTPStatus.OK, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["aud"] == m2m.api.identifier


def test_same_audience_and_resource_are_accepted(http, m2m):
    response = http.post(m2m.token_path(), data=m2m.form(resource=m2m.api.identifier))
    assert response.status_code == HTTPStatus.OK, response.text


def test_tenant_default_audience_applies_when_none_is_sent(http, m2m):
    # given
    m2m.tenant.default_audience = m2m.api.identifier
    m2m.tenant.save()
    # when
    response = http.post(m2m.token_path(), data=m2m.form(audience=None))
    # then
    assert response.status_code == HTTPStatus.OK, response.text


def test_client_secret_basic(http, m2m):
    # given a client registered for HTTP Basic authentication
    application_update(application=m2m.application, token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC)
    credentials = base64.b64encode(f"{m2m.client_id}:{m2m.client_secret}".encode()).decode()
    # when
    response = http.post(
        m2m.token_path(),
        data=m2m.form(client_id=None, client_secret=None),
        headers={"Authorization": f"Basic {credentials}"},
    )
    # then
    assert response.status_code == HTTPStatus.OK, response.text


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_api_signing_algorithm_is_honoured(http, m2m, algorithm):
    api_update(api=m2m.api, signing_alg=algorithm)
    token = http.post(m2m.token_path(), data=m2m.form()).json()["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    verify_with_jwks(http, token, tenant_slug=m2m.tenant.slug, audience=m2m.api.identifier)


def test_hs256_api_signs_with_its_own_secret(http, m2m):
    # given
    api_update(api=m2m.api, signing_alg="HS256")
    secret = api_signing_secret(api=m2m.api)
    # when
    token = http.post(m2m.token_path(), data=m2m.form()).json()["access_token"]
    # then it verifies with the API's secret and with nothing public
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256" and "kid" not in header
    claims = jwt.decode(token, secret, algorithms=["HS256"], audience=m2m.api.identifier)
    assert claims["sub"] == f"{m2m.client_id}@clients"


def test_api_token_lifetime_is_honoured(http, m2m):
    api_update(api=m2m.api, token_lifetime=600)
    response = http.post(m2m.token_path(), data=m2m.form())
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert response.json()["expires_in"] == 600
    assert claims["exp"] - claims["iat"] == 600


def test_rbac_with_permissions_in_token_adds_permissions_claim(http, m2m):
    api_update(api=m2m.api, rbac_enabled=True, add_permissions_in_token=True)
    claims = jwt.decode(
        http.post(m2m.token_path(), data=m2m.form()).json()["access_token"],
        options={"verify_signature": False},
    )
    assert claims["permissions"] == ["read:things", "write:things"]


def test_scope_removed_from_the_api_is_no_longer_issued(http, m2m):
    # given the API stops defining a granted scope
    api_scopes_set(api=m2m.api, scopes={"read:things": "", "delete:things": ""})
    # when
    response = http.post(m2m.token_path(), data=m2m.form())
    # then
    assert response.json()["scope"] == "read:things"


def test_grant_with_no_scopes_gets_a_token_with_no_scope(http, db):
    # given
    grant = ClientGrantFactory(scopes=[])
    application = grant.application
    # when
    response = http.post(
        f"/t/{application.tenant.slug}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": application.client_id,
            "client_secret": application.plaintext_secret,
            "audience": grant.api.identifier,
        },
    )
    # then
    assert response.status_code == HTTPStatus.OK
    assert response.json()["scope"] == ""


def test_new_tenant_issues_tokens_for_its_own_apis(http, db):
    # given a tenant created through the service, with an API, app and grant
    tenant = tenant_create(slug="acme")
    api = ApiFactory(tenant=tenant)
    application = ApplicationFactory(tenant=tenant)
    ClientGrantFactory(application=application, api=api, scopes=["read:things"])
    # when
    response = http.post(
        "/t/acme/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": application.client_id,
            "client_secret": application.plaintext_secret,
            "audience": api.identifier,
        },
    )
    # then
    assert response.status_code == HTTPStatus.OK
    assert response.json()["scope"] == "read:things"
