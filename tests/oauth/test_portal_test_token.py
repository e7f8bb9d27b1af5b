"""Test tokens minted from the portal (``api_test_token_issue``): the token endpoint's rules and minting,
without the client's secret; logged like a real token and audited with the admin who asked."""

from __future__ import annotations

from http import HTTPStatus

import jwt
import pytest
from django.core.exceptions import ValidationError

from apps.accounts.models import User
from apps.apis.services import api_signing_secret, api_update
from apps.applications.models import Application
from apps.applications.services import AuthMethod, GrantType
from apps.audit.models import AuditEvent, TokenEvent
from apps.oauth import errors
from apps.oauth.portal_tokens import MSG_CROSS_TENANT, api_test_token_issue
from tests.factories import ApplicationFactory, ClientGrantFactory

ISSUER = "https://portal.example.com/t/{slug}/"

VOLATILE = {"iat", "exp", "jti"}


@pytest.fixture
def admin(db) -> User:
    return User.objects.create_user(username="ada", password="not used here", is_staff=True)


def _issue(m2m, admin, **overrides):
    options = {
        "api": m2m.api,
        "application": m2m.application,
        "issuer": ISSUER.format(slug=m2m.tenant.slug),
        "actor": admin,
        "ip": "203.0.113.9",
    }
    return api_test_token_issue(**(options | overrides))


def test_a_test_token_is_the_token_the_endpoint_issues(http, live_server, m2m, admin):
    # given an M2M client granted read and write, and the same client's token from the token endpoint
    real = http.post(m2m.token_path(), data=m2m.form()).json()
    issuer = f"{live_server.url}/t/{m2m.tenant.slug}/"
    # when an admin mints a test token for it, as the portal on that host would
    minted = _issue(m2m, admin, issuer=issuer)
    # then both carry the same claims (but the per-token ones) and headers, and the same response fields
    real_claims = jwt.decode(real["access_token"], options={"verify_signature": False})
    assert {k: v for k, v in minted.claims.items() if k not in VOLATILE} == {
        k: v for k, v in real_claims.items() if k not in VOLATILE
    }
    assert minted.header == jwt.get_unverified_header(real["access_token"])
    assert (minted.token_type, minted.expires_in, minted.scope) == (
        real["token_type"],
        real["expires_in"],
        real["scope"],
    )
    # and the test token is accepted where the real one is: the tenant's introspection says active
    introspected = http.post(
        f"/t/{m2m.tenant.slug}/oauth/introspect",
        data={"token": minted.access_token},
        auth=(m2m.client_id, m2m.client_secret),
    )
    assert introspected.status_code == HTTPStatus.OK
    assert introspected.json()["active"] is True


def test_a_test_token_is_logged_and_audited(m2m, admin):
    # when an admin mints a test token
    minted = _issue(m2m, admin)
    # then the token log has it as an issued client-credentials token, from the admin's address
    logged = TokenEvent.objects.get(jti=minted.claims["jti"])
    assert (logged.type, logged.client_id, logged.audience, logged.scope, logged.ip) == (
        TokenEvent.Type.SUCCESS_CLIENT_CREDENTIALS,
        m2m.client_id,
        m2m.api.identifier,
        "read:things write:things",
        "203.0.113.9",
    )
    # and an audit event names the admin, the API, the client and the token
    event = AuditEvent.objects.get(type=AuditEvent.Type.API_TEST_TOKEN_ISSUED)
    assert (event.tenant, event.actor, event.target) == (m2m.tenant, admin, m2m.api.identifier)
    assert event.data == {
        "client_id": m2m.client_id,
        "scope": "read:things write:things",
        "jti": minted.claims["jti"],
    }


def test_an_hs256_apis_test_token_is_signed_with_the_apis_secret(m2m, admin):
    # given an API that signs with its own HS256 secret
    api_update(api=m2m.api, signing_alg="HS256")
    # when a test token is minted
    minted = _issue(m2m, admin)
    # then it verifies with that secret, as the API's own verification would
    claims = jwt.decode(
        minted.access_token,
        api_signing_secret(api=m2m.api),
        algorithms=["HS256"],
        audience=m2m.api.identifier,
    )
    assert minted.header["alg"] == "HS256"
    assert claims["scope"] == "read:things write:things"


def test_an_rbac_apis_test_token_has_the_permissions_claim(m2m, admin):
    api_update(api=m2m.api, rbac_enabled=True, add_permissions_in_token=True)
    minted = _issue(m2m, admin)
    assert minted.claims["permissions"] == ["read:things", "write:things"]


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        pytest.param({"is_active": False}, "invalid_client", errors.MSG_CLIENT_AUTH_FAILED, id="inactive"),
        pytest.param(
            {"token_endpoint_auth_method": AuthMethod.NONE, "client_type": "public"},
            "invalid_client",
            errors.MSG_CLIENT_AUTH_FAILED,
            id="public-client",
        ),
        pytest.param(
            {"grant_types": [GrantType.AUTHORIZATION_CODE]},
            "unauthorized_client",
            errors.MSG_GRANT_TYPE_NOT_ALLOWED.format(grant_type="client_credentials"),
            id="grant-type-off",
        ),
    ],
)
def test_a_client_the_endpoint_would_refuse_gets_no_test_token(m2m, admin, change, error, description):
    # given a granted client the token endpoint would refuse (stored as rows saved before the
    # application rules refused such combinations)
    Application.objects.filter(pk=m2m.application.pk).update(**change)
    m2m.application.refresh_from_db()
    # when a test token is asked for it
    with pytest.raises(errors.OAuthError) as refused:
        _issue(m2m, admin)
    # then the refusal is the endpoint's, in the token log, and nothing is audited as minted
    assert refused.value.as_dict() == {"error": error, "error_description": description}
    logged = TokenEvent.objects.get(client_id=m2m.client_id)
    assert (logged.type, logged.error, logged.error_description) == (
        TokenEvent.Type.FAILED_CLIENT_CREDENTIALS,
        error,
        description,
    )
    assert not AuditEvent.objects.filter(type=AuditEvent.Type.API_TEST_TOKEN_ISSUED).exists()


def test_an_application_without_a_grant_gets_no_test_token(m2m, admin):
    # given an application of the tenant without a grant for the API
    other = ApplicationFactory(tenant=m2m.tenant)
    # when a test token is asked for it
    with pytest.raises(errors.AccessDenied) as refused:
        _issue(m2m, admin, application=other)
    # then it is Auth0's "no client grant" refusal
    assert refused.value.description == errors.MSG_NO_CLIENT_GRANT.format(audience=m2m.api.identifier)


def test_another_tenants_application_is_refused(m2m, admin):
    foreign = ClientGrantFactory()  # another tenant's application, granted its own API
    with pytest.raises(ValidationError) as refused:
        _issue(m2m, admin, application=foreign.application)
    assert refused.value.code == "cross_tenant"
    assert refused.value.messages == [MSG_CROSS_TENANT]
    assert not TokenEvent.objects.exists()
