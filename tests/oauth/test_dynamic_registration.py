"""RFC 7591 dynamic client registration at /t/<tenant>/oidc/register, over HTTP."""

from __future__ import annotations

import base64
from http import HTTPStatus

import pytest
from django.contrib.auth.hashers import check_password
from django.core.cache import cache

from apps.apis.services import api_update
from apps.applications.models import Application
from apps.audit.models import AuditEvent
from apps.grants.models import ClientGrant
from apps.oauth import errors as token_errors
from apps.oauth.registration import errors
from apps.oauth.registration.metadata import DEFAULT_CLIENT_NAME, MAX_REDIRECT_URIS
from apps.tenants.services import tenant_dynamic_registration_set
from tests.factories import ApiFactory, TenantFactory
from tests.oauth.helpers import discover
from tests.oauth.user_flow import CALLBACK, authorize, exchange, location_params, make_user_setup

REGISTERED_MEMBERS = {
    "client_id",
    "client_id_issued_at",
    "client_name",
    "redirect_uris",
    "grant_types",
    "response_types",
    "token_endpoint_auth_method",
    "application_type",
}
SECRET_MEMBERS = {"client_secret", "client_secret_expires_at"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Counters start empty: in the database (without ``REDIS_URL``) rows are rolled back or flushed
    after each test; in a shared cache (with it) they would outlive the test, so it is emptied."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tenant(db):
    """A tenant that allows dynamic client registration."""
    tenant = TenantFactory()
    tenant_dynamic_registration_set(tenant=tenant, enabled=True)
    return tenant


def register(http, tenant, body, **kwargs):
    return http.post(f"/t/{tenant.slug}/oidc/register", json=body, **kwargs)


def basic(client_id: str, client_secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()}


# --- the tenant switch -------------------------------------------------------------------------
def test_registration_is_off_by_default_and_not_in_discovery(http, db):
    # given a tenant that never enabled registration
    tenant = TenantFactory()
    # when a client tries to register
    response = register(http, tenant, {"redirect_uris": [CALLBACK]})
    # then it is refused by policy, and nothing is created
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {
        "error": "access_denied",
        "error_description": errors.MSG_REGISTRATION_DISABLED,
    }
    assert not Application.objects.for_tenant(tenant).exists()
    # and discovery does not offer the endpoint
    assert "registration_endpoint" not in discover(http, tenant.slug)


def test_discovery_lists_the_endpoint_only_while_enabled(http, live_server, tenant):
    # given a tenant that enabled registration
    # when a client reads discovery, then it finds the registration endpoint
    issuer = f"{live_server.url}/t/{tenant.slug}/"
    assert discover(http, tenant.slug)["registration_endpoint"] == f"{issuer}oidc/register"
    # when the tenant turns it off again
    tenant_dynamic_registration_set(tenant=tenant, enabled=False)
    # then discovery no longer lists it and the endpoint refuses at once
    assert "registration_endpoint" not in discover(http, tenant.slug)
    assert register(http, tenant, {"redirect_uris": [CALLBACK]}).status_code == HTTPStatus.FORBIDDEN


def test_registration_in_one_tenant_does_not_open_another(http, tenant):
    # given tenant A allows registration and tenant B does not
    other = TenantFactory()
    # when a client registers in A and then tries B
    registered = register(http, tenant, {"client_name": "Partner", "redirect_uris": [CALLBACK]})
    refused = register(http, other, {"client_name": "Partner", "redirect_uris": [CALLBACK]})
    # then A registered it, in A only; B refused
    assert registered.status_code == HTTPStatus.CREATED
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert refused.json()["error"] == "access_denied"
    assert Application.objects.get(client_id=registered.json()["client_id"]).tenant_id == tenant.pk
    assert not Application.objects.for_tenant(other).exists()
    assert "registration_endpoint" not in discover(http, other.slug)
    # and the client's credentials are unknown at B's token endpoint
    body = registered.json()
    response = http.post(
        f"/t/{other.slug}/oauth/token",
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": CALLBACK},
        headers=basic(body["client_id"], body["client_secret"]),
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error"] == "invalid_client"


# --- successful registrations ------------------------------------------------------------------
def test_confidential_client_gets_a_secret_shown_once_and_is_third_party(http, tenant):
    # when a regular web application registers with the RFC defaults
    response = register(http, tenant, {"client_name": "Partner Portal", "redirect_uris": [CALLBACK]})
    # then it is created, with exactly the RFC 7591 3.2.1 members, never cached
    assert response.status_code == HTTPStatus.CREATED
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == REGISTERED_MEMBERS | SECRET_MEMBERS
    application = Application.objects.get(client_id=body["client_id"])
    assert body == {
        "client_id": application.client_id,
        "client_secret": body["client_secret"],
        "client_secret_expires_at": 0,
        "client_id_issued_at": int(application.created.timestamp()),
        "client_name": "Partner Portal",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
        "application_type": "web",
    }
    # and the application is third-party, marked as registered dynamically, with no client grant
    assert application.tenant_id == tenant.pk
    assert (application.is_first_party, application.is_dynamically_registered) == (False, True)
    assert application.app_type == Application.AppType.REGULAR_WEB
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    assert application.grant_types == ["authorization_code"]
    assert application.redirect_uris == CALLBACK
    assert not ClientGrant.objects.filter(application=application).exists()
    # and only the keyed hash of the secret is stored
    assert application.client_secret.startswith("hmac_sha256$")
    assert check_password(body["client_secret"], application.client_secret)
    # and the registration is audited with the caller's address
    event = AuditEvent.objects.get(type=AuditEvent.Type.APPLICATION_CREATED, target=application.client_id)
    assert event.actor is None
    assert event.data == {
        "name": "Partner Portal",
        "app_type": "regular_web",
        "dynamically_registered": True,
        "ip": "127.0.0.1",
    }


@pytest.mark.parametrize(
    ("metadata", "app_type", "registered"),
    [
        pytest.param(
            {"token_endpoint_auth_method": "none", "redirect_uris": ["https://spa.example.com/cb"]},
            Application.AppType.SPA,
            {"application_type": "web", "grant_types": ["authorization_code"], "response_types": ["code"]},
            id="single-page app",
        ),
        pytest.param(
            {
                "application_type": "native",
                "token_endpoint_auth_method": "none",
                "redirect_uris": ["http://127.0.0.1:53682/callback"],
                "grant_types": ["authorization_code", "refresh_token"],
            },
            Application.AppType.NATIVE,
            {
                "application_type": "native",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
            },
            id="native app on a loopback redirect",
        ),
    ],
)
def test_public_client_gets_no_secret(http, tenant, metadata, app_type, registered):
    # when a public client registers
    response = register(http, tenant, metadata)
    # then it has no secret, and its type follows from the metadata
    assert response.status_code == HTTPStatus.CREATED, response.text
    body = response.json()
    assert set(body) == REGISTERED_MEMBERS
    assert {key: body[key] for key in registered} == registered
    assert body["token_endpoint_auth_method"] == "none"
    application = Application.objects.get(client_id=body["client_id"])
    assert (application.app_type, application.client_type) == (app_type, Application.CLIENT_PUBLIC)
    assert application.is_dynamically_registered and not application.is_first_party


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost:3000/callback",
        "http://app.localhost/callback",
        "http://127.0.0.1:53682/",
        "http://[::1]:8080/callback",
        "https://partner.example.com/callback?tenant=a",
        "https://bücher.example/callback",
    ],
)
def test_https_anywhere_and_http_only_on_this_machine(http, tenant, uri):
    response = register(http, tenant, {"token_endpoint_auth_method": "none", "redirect_uris": [uri]})
    assert response.status_code == HTTPStatus.CREATED, response.text
    assert response.json()["redirect_uris"] == [uri]
    assert Application.objects.get(client_id=response.json()["client_id"]).redirect_uris == uri


def test_machine_to_machine_client_authenticates_but_has_no_api_access(http, tenant):
    # given an API in the tenant
    api = ApiFactory(tenant=tenant)
    # when a confidential client registers for client_credentials only (no redirect URIs needed)
    response = register(
        http,
        tenant,
        {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"},
    )
    # then it is a machine-to-machine application without response types
    assert response.status_code == HTTPStatus.CREATED, response.text
    body = response.json()
    assert (body["grant_types"], body["response_types"], body["redirect_uris"]) == (
        ["client_credentials"],
        [],
        [],
    )
    assert body["client_name"] == DEFAULT_CLIENT_NAME
    application = Application.objects.get(client_id=body["client_id"])
    assert application.app_type == Application.AppType.MACHINE_TO_MACHINE
    # and its secret authenticates at the token endpoint, where it has no client grant for the API
    form = {"grant_type": "client_credentials", "audience": api.identifier, "client_id": body["client_id"]}
    token = http.post(f"/t/{tenant.slug}/oauth/token", data=form | {"client_secret": body["client_secret"]})
    assert token.status_code == HTTPStatus.FORBIDDEN
    assert token.json() == {
        "error": "access_denied",
        "error_description": token_errors.MSG_NO_CLIENT_GRANT.format(audience=api.identifier),
    }
    # while a wrong secret is refused as such
    wrong = http.post(f"/t/{tenant.slug}/oauth/token", data=form | {"client_secret": "wrong"})
    assert wrong.status_code == HTTPStatus.UNAUTHORIZED


def test_grant_types_follow_response_types_and_back(http, tenant):
    # when a client sends only response types, or only grant types
    implicit = register(http, tenant, {"response_types": ["token id_token"], "redirect_uris": [CALLBACK]})
    both = register(
        http, tenant, {"grant_types": ["implicit", "authorization_code"], "redirect_uris": [CALLBACK]}
    )
    # then the other list is derived consistently (RFC 7591 2.1); response types are normalised
    assert (implicit.json()["grant_types"], implicit.json()["response_types"]) == (
        ["implicit"],
        ["id_token token"],
    )
    assert both.json()["grant_types"] == ["implicit", "authorization_code"]
    assert both.json()["response_types"] == ["code", "token", "id_token token", "id_token"]


def test_unknown_and_unused_members_are_ignored_and_nulls_are_absent(http, tenant):
    # when a client sends metadata Portcullis does not register, and explicit nulls
    response = register(
        http,
        tenant,
        {
            "client_name": "Partner",
            "redirect_uris": [CALLBACK],
            "client_uri": "https://partner.example.com",
            "logo_uri": "https://partner.example.com/logo.png",
            "scope": "openid read:things",
            "contacts": ["ops@partner.example.com"],
            "client_name#ja-Jpan-JP": "パートナー",
            "software_statement": {"not": "a JWT"},
            "x-custom": [1, 2, 3],
            "grant_types": None,
            "token_endpoint_auth_method": None,
        },
    )
    # then it registers, and the response lists only what was registered
    assert response.status_code == HTTPStatus.CREATED, response.text
    body = response.json()
    assert set(body) == REGISTERED_MEMBERS | SECRET_MEMBERS
    assert body["token_endpoint_auth_method"] == "client_secret_basic"


def test_registered_web_client_completes_the_code_flow_and_always_gets_the_consent_page(http, db):
    # given a tenant with an API that lets first-party applications skip consent, and a user
    setup = make_user_setup()
    api_update(api=setup.api, skip_consent_for_first_party=True)
    tenant_dynamic_registration_set(tenant=setup.tenant, enabled=True)
    first_party = setup.application
    # and a third party that registered a web application
    body = register(http, setup.tenant, {"client_name": "Partner Portal", "redirect_uris": [CALLBACK]}).json()
    registered = Application.objects.get(client_id=body["client_id"])
    registered.plaintext_secret = body["client_secret"]
    setup.application = registered
    # when the user signs in through it
    page = authorize(http, setup, decision=None)
    # then the consent page is shown, naming it as a third-party application
    assert page.status_code == HTTPStatus.OK and 'name="decision"' in page.text
    assert "Partner Portal</strong> (a third-party application)" in page.text
    # while the tenant's own application with the same request skips it (the control)
    setup.application = first_party
    assert "code" in location_params(authorize(http, setup, decision=None))
    # when the user allows the registered application
    setup.application = registered
    allowed = authorize(http, setup, decision="allow")
    # then the code it gets exchanges for tokens with the registered secret
    tokens = exchange(http, setup, location_params(allowed)["code"])
    assert tokens.status_code == HTTPStatus.OK, tokens.text
    assert tokens.json()["token_type"] == "Bearer"
    # and, as for every third-party application (Auth0), the approval is remembered until revoked
    assert "code" in location_params(authorize(http, setup, decision=None))


# --- refusals ----------------------------------------------------------------------------------
BAD_METADATA = [
    pytest.param({}, "invalid_redirect_uri", errors.MSG_REDIRECT_URIS_REQUIRED, id="no redirect_uris"),
    pytest.param(
        {"redirect_uris": CALLBACK}, "invalid_redirect_uri", errors.MSG_REDIRECT_URIS_TYPE, id="not an array"
    ),
    pytest.param(
        {"redirect_uris": []}, "invalid_redirect_uri", errors.MSG_REDIRECT_URIS_TYPE, id="empty array"
    ),
    pytest.param(
        {"redirect_uris": [CALLBACK, 7]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URIS_TYPE,
        id="not a string",
    ),
    pytest.param(
        {"redirect_uris": ["http://partner.example.com/cb"]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_NOT_HTTPS.format(uri="http://partner.example.com/cb"),
        id="http on a public host",
    ),
    pytest.param(
        {"redirect_uris": ["http://localhost.partner.example.com/cb"]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_NOT_HTTPS.format(uri="http://localhost.partner.example.com/cb"),
        id="http on a host that only starts like localhost",
    ),
    pytest.param(
        {"redirect_uris": ["http://127.0.0.1.nip.io/cb"]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_NOT_HTTPS.format(uri="http://127.0.0.1.nip.io/cb"),
        id="http on a name that resolves to loopback",
    ),
    pytest.param(
        {"redirect_uris": ["https://partner.example.com/cb#frag"]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_FRAGMENT.format(uri="https://partner.example.com/cb#frag"),
        id="fragment",
    ),
    pytest.param(
        {"redirect_uris": ["https://partner.example.com/cb#"]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_FRAGMENT.format(uri="https://partner.example.com/cb#"),
        id="empty fragment",
    ),
    pytest.param(
        {"redirect_uris": ["/callback"]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_NOT_ABSOLUTE.format(uri="/callback"),
        id="relative",
    ),
    pytest.param(
        {"redirect_uris": ["com.example.app:/callback"]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_NOT_ABSOLUTE.format(uri="com.example.app:/callback"),
        id="private-use scheme",
    ),
    pytest.param(
        {"redirect_uris": ["javascript://partner.example.com/%0aalert(1)"]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_NOT_ABSOLUTE.format(uri="javascript://partner.example.com/%0aalert(1)"),
        id="javascript scheme",
    ),
    pytest.param(
        {"redirect_uris": ["https://*.example.com/cb"]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_MALFORMED.format(uri="https://*.example.com/cb"),
        id="wildcard host",
    ),
    pytest.param(
        {"redirect_uris": ["https://partner..example.com/cb"]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_MALFORMED.format(uri="https://partner..example.com/cb"),
        id="bad host",
    ),
    pytest.param(
        {"redirect_uris": ["https://partner.example.com/a b"]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_MALFORMED.format(uri="https://partner.example.com/a b"),
        id="space (stored URIs are space-separated)",
    ),
    pytest.param(
        {"redirect_uris": ["https://partner.example.com:99999/cb"]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_NOT_ABSOLUTE.format(uri="https://partner.example.com:99999/cb"),
        id="port out of range",
    ),
    pytest.param(
        {"redirect_uris": ["https://user:pw@partner.example.com/cb"]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_CREDENTIALS.format(uri="https://user:pw@partner.example.com/cb"),
        id="credentials in the URI",
    ),
    pytest.param(
        {"redirect_uris": ["https://partner.example.com/\x00"]},
        "invalid_redirect_uri",
        errors.MSG_CONTROL_CHARACTERS.format(name="redirect_uris"),
        id="control character",
    ),
    pytest.param(
        {"redirect_uris": [f"https://partner.example.com/{n}" for n in range(MAX_REDIRECT_URIS + 1)]},
        "invalid_redirect_uri",
        errors.MSG_TOO_MANY_REDIRECT_URIS.format(limit=MAX_REDIRECT_URIS),
        id="too many",
    ),
    pytest.param(
        {"redirect_uris": ["https://partner.example.com/" + "a" * 2000]},
        "invalid_redirect_uri",
        errors.MSG_REDIRECT_URI_TOO_LONG.format(limit=2000),
        id="too long",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "private_key_jwt"},
        "invalid_client_metadata",
        errors.MSG_AUTH_METHOD_UNSUPPORTED.format(value="private_key_jwt"),
        id="unsupported auth method",
    ),
    pytest.param(
        {"token_endpoint_auth_method": ""},
        "invalid_client_metadata",
        errors.MSG_AUTH_METHOD_UNSUPPORTED.format(value=""),
        id="empty auth method",
    ),
    pytest.param(
        {"token_endpoint_auth_method": ["none"]},
        "invalid_client_metadata",
        errors.MSG_NOT_A_STRING.format(name="token_endpoint_auth_method"),
        id="auth method not a string",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]},
        "invalid_client_metadata",
        errors.MSG_PUBLIC_CLIENT_CREDENTIALS,
        id="public client with client_credentials",
    ),
    pytest.param(
        {"grant_types": ["urn:ietf:params:oauth:grant-type:device_code"]},
        "invalid_client_metadata",
        errors.MSG_GRANT_TYPE_UNSUPPORTED.format(value="urn:ietf:params:oauth:grant-type:device_code"),
        id="unknown grant type",
    ),
    pytest.param(
        {"grant_types": ["password"]},
        "invalid_client_metadata",
        errors.MSG_GRANT_TYPE_UNSUPPORTED.format(value="password"),
        id="password grant",
    ),
    pytest.param(
        {"grant_types": []}, "invalid_client_metadata", errors.MSG_GRANT_TYPES_EMPTY, id="no grant types"
    ),
    pytest.param(
        {"grant_types": "authorization_code"},
        "invalid_client_metadata",
        errors.MSG_NOT_A_STRING_LIST.format(name="grant_types"),
        id="grant_types not an array",
    ),
    pytest.param(
        {"grant_types": ["authorization_code"], "response_types": ["token"]},
        "invalid_client_metadata",
        errors.MSG_RESPONSE_TYPE_WITHOUT_GRANT.format(response_type="token", grant_type="implicit"),
        id="response type without its grant type",
    ),
    pytest.param(
        {"grant_types": ["authorization_code"], "response_types": []},
        "invalid_client_metadata",
        errors.MSG_GRANT_WITHOUT_RESPONSE_TYPE.format(
            grant_type="authorization_code", response_types="'code'"
        ),
        id="grant type without its response type",
    ),
    pytest.param(
        {"response_types": ["code id_token"]},
        "invalid_client_metadata",
        errors.MSG_RESPONSE_TYPE_UNSUPPORTED.format(value="code id_token"),
        id="hybrid response type",
    ),
    pytest.param(
        {"grant_types": ["refresh_token"]},
        "invalid_client_metadata",
        errors.MSG_REFRESH_WITHOUT_CODE,
        id="refresh_token alone",
    ),
    pytest.param(
        {"application_type": "desktop"},
        "invalid_client_metadata",
        errors.MSG_APPLICATION_TYPE_UNSUPPORTED.format(value="desktop"),
        id="unknown application type",
    ),
    pytest.param(
        {"application_type": "native", "token_endpoint_auth_method": "client_secret_post"},
        "invalid_client_metadata",
        errors.MSG_NATIVE_WITH_SECRET,
        id="native app with a secret",
    ),
    pytest.param(
        {"client_name": 42},
        "invalid_client_metadata",
        errors.MSG_NOT_A_STRING.format(name="client_name"),
        id="name",
    ),
    pytest.param(
        {"client_name": "  "},
        "invalid_client_metadata",
        errors.MSG_CLIENT_NAME_LENGTH.format(limit=255),
        id="blank name",
    ),
    pytest.param(
        {"client_name": "x" * 256},
        "invalid_client_metadata",
        errors.MSG_CLIENT_NAME_LENGTH.format(limit=255),
        id="long name",
    ),
    pytest.param(
        {"client_name": "Evil\x00Corp"},
        "invalid_client_metadata",
        errors.MSG_CONTROL_CHARACTERS.format(name="client_name"),
        id="NUL in name",
    ),
]


@pytest.mark.parametrize(("overrides", "error", "description"), BAD_METADATA)
def test_bad_metadata_gets_an_rfc7591_error(http, tenant, overrides, error, description):
    # given otherwise valid metadata (redirect_uris present unless the case is about them)
    body = ({"redirect_uris": [CALLBACK]} if error != "invalid_redirect_uri" else {}) | overrides
    # when a client registers with it
    response = register(http, tenant, body)
    # then it gets the RFC 7591 error, and nothing is created
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"error": error, "error_description": description}
    assert response.headers["Cache-Control"] == "no-store"
    assert not Application.objects.for_tenant(tenant).exists()


@pytest.mark.parametrize(
    ("content_type", "data", "description"),
    [
        pytest.param("application/x-www-form-urlencoded", b"redirect_uris=x", errors.MSG_NOT_JSON, id="form"),
        pytest.param("text/plain", b'{"redirect_uris": []}', errors.MSG_NOT_JSON, id="text"),
        pytest.param("application/json", b"{not json", errors.MSG_BAD_JSON, id="not JSON"),
        pytest.param("application/json", b'["https://a.example.com"]', errors.MSG_BAD_JSON, id="array"),
        pytest.param("application/json", b'"text"', errors.MSG_BAD_JSON, id="string"),
        pytest.param("application/json", b"\xff\xfe", errors.MSG_BAD_JSON, id="not UTF-8"),
        pytest.param("application/json", b"", errors.MSG_BAD_JSON, id="empty"),
    ],
)
def test_body_that_is_not_a_json_object_is_refused(http, tenant, content_type, data, description):
    response = http.post(f"/t/{tenant.slug}/oidc/register", data=data, headers={"Content-Type": content_type})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"error": "invalid_client_metadata", "error_description": description}


def test_oversized_body_is_refused(http, tenant):
    body = {"redirect_uris": [CALLBACK], "padding": "x" * 70_000}
    response = register(http, tenant, body)
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {
        "error": "invalid_client_metadata",
        "error_description": errors.MSG_BODY_TOO_LARGE,
    }


def test_only_post_is_accepted(http, tenant):
    response = http.get(f"/t/{tenant.slug}/oidc/register")
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.headers["Allow"] == "POST"
    assert response.json() == {"error": "invalid_request", "error_description": errors.MSG_METHOD_NOT_ALLOWED}


# --- rate limit --------------------------------------------------------------------------------
def test_registrations_are_rate_limited_per_ip_and_tenant(http, settings, tenant):
    # given a limit of two registrations per window
    settings.DCR_RATE_LIMIT = 2
    settings.DCR_RATE_LIMIT_WINDOW_SECONDS = 600
    # when one address sends a valid and an invalid request, then a third
    assert register(http, tenant, {"redirect_uris": [CALLBACK]}).status_code == HTTPStatus.CREATED
    assert register(http, tenant, {}).status_code == HTTPStatus.BAD_REQUEST
    response = register(http, tenant, {"redirect_uris": [CALLBACK]})
    # then the third is refused until the window ends, and nothing more is created
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 600
    assert response.json() == {
        "error": "temporarily_unavailable",
        "error_description": errors.MSG_RATE_LIMITED.format(seconds=retry_after),
    }
    assert Application.objects.for_tenant(tenant).count() == 1
    # and another tenant's limit is its own
    other = TenantFactory()
    tenant_dynamic_registration_set(tenant=other, enabled=True)
    assert register(http, other, {"redirect_uris": [CALLBACK]}).status_code == HTTPStatus.CREATED


def test_refusals_of_a_closed_tenant_do_not_use_up_the_limit(http, settings, db):
    # given a limit of one, and a tenant that is closed
    settings.DCR_RATE_LIMIT = 1
    tenant = TenantFactory()
    assert register(http, tenant, {"redirect_uris": [CALLBACK]}).status_code == HTTPStatus.FORBIDDEN
    # when the tenant opens registration
    tenant_dynamic_registration_set(tenant=tenant, enabled=True)
    # then the first registration is still allowed
    assert register(http, tenant, {"redirect_uris": [CALLBACK]}).status_code == HTTPStatus.CREATED
