"""Every bad token request gets a specific RFC 6749 error, never a 500 (Auth0's wording)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

import pytest

from apps.applications.services import AppType, AuthMethod, application_secret_rotate, application_update
from apps.audit.models import AuditEvent, TokenEvent
from apps.oauth import errors
from apps.oauth.models import AccessToken
from tests.conftest import M2MSetup
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory


@pytest.fixture
def http(http_both_paths):
    """Every test here runs through Django's full stack and through the lean path (tests/conftest.py)."""
    return http_both_paths


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def form_body(pairs: list[tuple[str, str]]) -> dict:
    from urllib.parse import urlencode

    return {"data": urlencode(pairs), "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


@dataclass(frozen=True)
class Case:
    id: str
    request: Callable[[M2MSetup], dict]
    status: HTTPStatus
    error: str
    description: str | Callable[[M2MSetup], str]


CASES = [
    Case(
        "wrong secret",
        lambda s: {"data": s.form(client_secret="not-the-secret")},
        HTTPStatus.UNAUTHORIZED,
        "invalid_client",
        errors.MSG_CLIENT_AUTH_FAILED,
    ),
    Case(
        "unknown client",
        lambda s: {"data": s.form(client_id="no-such-client")},
        HTTPStatus.UNAUTHORIZED,
        "invalid_client",
        errors.MSG_CLIENT_AUTH_FAILED,
    ),
    Case(
        "NUL byte in client id",
        lambda s: {"data": s.form(client_id="abc\x00def")},
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_CONTROL_CHARACTERS.format(name="client_id"),
    ),
    Case(
        "NUL byte in audience",
        lambda s: {"data": s.form(audience="https://x\x00.example.com")},
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_CONTROL_CHARACTERS.format(name="audience"),
    ),
    Case(
        "newline in client secret (JSON body)",
        lambda s: {"json": s.form(client_secret="abc\ndef")},
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_CONTROL_CHARACTERS.format(name="client_secret"),
    ),
    Case(
        "no credentials",
        lambda s: {"data": s.form(client_id=None, client_secret=None)},
        HTTPStatus.UNAUTHORIZED,
        "invalid_client",
        errors.MSG_CLIENT_AUTH_MISSING,
    ),
    Case(
        "client id without secret",
        lambda s: {"data": s.form(client_secret=None)},
        HTTPStatus.UNAUTHORIZED,
        "invalid_client",
        errors.MSG_CLIENT_AUTH_MISSING,
    ),
    Case(
        "basic and body secret together",
        lambda s: {"data": s.form(), "headers": basic(s.client_id, s.client_secret)},
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_CLIENT_AUTH_MULTIPLE,
    ),
    Case(
        "malformed basic header",
        lambda s: {
            "data": s.form(client_id=None, client_secret=None),
            "headers": {"Authorization": "Basic %%%"},
        },
        HTTPStatus.UNAUTHORIZED,
        "invalid_client",
        errors.MSG_CLIENT_AUTH_MALFORMED,
    ),
    Case(
        "basic header and a different body client_id",
        lambda s: {
            "data": s.form(client_id="someone-else", client_secret=None),
            "headers": basic(s.client_id, "x"),
        },
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_CLIENT_ID_MISMATCH,
    ),
    Case(
        "unknown audience",
        lambda s: {"data": s.form(audience="https://nowhere.example.com")},
        HTTPStatus.FORBIDDEN,
        "access_denied",
        errors.MSG_SERVICE_NOT_FOUND.format(audience="https://nowhere.example.com"),
    ),
    Case(
        "no audience and no default audience",
        lambda s: {"data": s.form(audience=None)},
        HTTPStatus.FORBIDDEN,
        "access_denied",
        errors.MSG_NO_AUDIENCE,
    ),
    Case(
        "scope not granted",
        lambda s: {"data": s.form(scope="read:things delete:things")},
        HTTPStatus.FORBIDDEN,
        "access_denied",
        errors.MSG_SCOPES_NOT_GRANTED.format(scopes="delete:things"),
    ),
    Case(
        "scope the API does not define",
        lambda s: {"data": s.form(scope="launch:rockets")},
        HTTPStatus.FORBIDDEN,
        "access_denied",
        errors.MSG_SCOPES_NOT_GRANTED.format(scopes="launch:rockets"),
    ),
    Case(
        "malformed scope",
        lambda s: {"data": s.form(scope='read:things "quoted"')},
        HTTPStatus.BAD_REQUEST,
        "invalid_scope",
        errors.MSG_MALFORMED_SCOPE,
    ),
    Case(
        "missing grant type",
        lambda s: {"data": s.form(grant_type=None)},
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_MISSING_GRANT_TYPE,
    ),
    Case(
        "unsupported grant type",
        lambda s: {
            "data": s.form(grant_type="urn:ietf:params:oauth:grant-type:device_code", device_code="d")
        },
        HTTPStatus.BAD_REQUEST,
        "unsupported_grant_type",
        errors.MSG_UNSUPPORTED_GRANT_TYPE.format(grant_type="urn:ietf:params:oauth:grant-type:device_code"),
    ),
    Case(
        "unknown grant type",
        lambda s: {"data": s.form(grant_type="urn:example:nonsense")},
        HTTPStatus.BAD_REQUEST,
        "unsupported_grant_type",
        errors.MSG_UNSUPPORTED_GRANT_TYPE.format(grant_type="urn:example:nonsense"),
    ),
    Case(
        "repeated audience",
        lambda s: form_body([*s.form().items(), ("audience", s.api.identifier)]),
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_DUPLICATE_PARAMETER.format(name="audience"),
    ),
    Case(
        "repeated client_secret",
        lambda s: form_body([*s.form().items(), ("client_secret", "other")]),
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_DUPLICATE_PARAMETER.format(name="client_secret"),
    ),
    Case(
        "two resources",
        lambda s: form_body(
            [
                *s.form(audience=None).items(),
                ("resource", "https://a.example.com"),
                ("resource", "https://b.example.com"),
            ]
        ),
        HTTPStatus.BAD_REQUEST,
        "invalid_target",
        errors.MSG_MULTIPLE_RESOURCES,
    ),
    Case(
        "relative resource",
        lambda s: {"data": s.form(audience=None, resource="timesheets")},
        HTTPStatus.BAD_REQUEST,
        "invalid_target",
        errors.MSG_INVALID_RESOURCE.format(resource="timesheets"),
    ),
    Case(
        "audience and resource disagree",
        lambda s: {"data": s.form(resource="https://other.example.com")},
        HTTPStatus.BAD_REQUEST,
        "invalid_target",
        errors.MSG_AUDIENCE_RESOURCE_MISMATCH,
    ),
    Case(
        "plain text body",
        lambda s: {"data": "grant_type=client_credentials", "headers": {"Content-Type": "text/plain"}},
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_BAD_CONTENT_TYPE,
    ),
    Case(
        "multipart body",
        lambda s: {"files": {"grant_type": (None, "client_credentials")}},
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_BAD_CONTENT_TYPE,
    ),
    Case(
        "no body",
        lambda s: {},
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_BAD_CONTENT_TYPE,
    ),
    Case(
        "broken JSON",
        lambda s: {"data": "{not json", "headers": {"Content-Type": "application/json"}},
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_BAD_JSON,
    ),
    Case(
        "JSON array",
        lambda s: {"json": [["grant_type", "client_credentials"]]},
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_BAD_JSON,
    ),
    Case(
        "JSON non-string value",
        lambda s: {"json": s.form() | {"client_secret": 12345}},
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        errors.MSG_NON_STRING_PARAMETER.format(name="client_secret"),
    ),
    Case(
        "form body that is not UTF-8",
        lambda s: {
            "data": b"grant_type=client_credentials&client_id=\xff\xfe",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
        HTTPStatus.BAD_REQUEST,
        "invalid_request",
        "The request body is not valid UTF-8.",
    ),
    Case(
        "oversize body",
        lambda s: {"data": s.form(padding="x" * 70_000)},
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        "invalid_request",
        errors.MSG_BODY_TOO_LARGE,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_request_gets_a_specific_error(http, m2m, case: Case):
    # when
    response = http.post(m2m.token_path(), **case.request(m2m))
    # then
    assert response.status_code == case.status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.json() == {"error": case.error, "error_description": case.description}


def test_invalid_client_carries_a_challenge(http, m2m):
    response = http.post(m2m.token_path(), data=m2m.form(client_secret="nope"))
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_query_string_parameters_are_refused(http, m2m):
    response = http.post(m2m.token_path() + "?client_secret=leaked", data=m2m.form())
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error_description"] == errors.MSG_QUERY_NOT_ALLOWED


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_only_post_is_allowed(http, m2m, method):
    response = http.request(method, m2m.token_path())
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.headers["Allow"] == "POST"
    assert response.json() == {"error": "invalid_request", "error_description": errors.MSG_METHOD_NOT_ALLOWED}


def test_unknown_tenant_is_a_json_404(http, m2m):
    response = http.post("/t/no-such-tenant/oauth/token", data=m2m.form())
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["error"] == "not_found"


def test_application_without_a_client_grant_is_refused(http, m2m):
    # given a second API of the same tenant that the client has no grant for
    other_api = ApiFactory(tenant=m2m.tenant)
    # when
    response = http.post(m2m.token_path(), data=m2m.form(audience=other_api.identifier))
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error_description"] == errors.MSG_NO_CLIENT_GRANT.format(
        audience=other_api.identifier
    )


def test_application_without_the_grant_type_is_refused(http, m2m):
    # given a regular web app whose grant types exclude client_credentials
    application = ApplicationFactory(
        tenant=m2m.tenant, app_type=AppType.REGULAR_WEB, grant_types=["authorization_code"]
    )
    ClientGrantFactory(application=application, api=m2m.api)
    # when
    response = http.post(
        m2m.token_path(),
        data=m2m.form(client_id=application.client_id, client_secret=application.plaintext_secret),
    )
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": errors.MSG_GRANT_TYPE_NOT_ALLOWED.format(grant_type="client_credentials"),
    }


def test_public_client_cannot_use_client_credentials_without_a_secret(http, m2m):
    application = ApplicationFactory(tenant=m2m.tenant, app_type=AppType.SPA)
    response = http.post(m2m.token_path(), data=m2m.form(client_id=application.client_id, client_secret=None))
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error"] == "invalid_client"


def test_rotated_secret_stops_working_at_once(http, m2m):
    # given
    old_secret = m2m.client_secret
    new_secret = application_secret_rotate(application=m2m.application)
    # then
    assert (
        http.post(m2m.token_path(), data=m2m.form(client_secret=old_secret)).status_code
        == HTTPStatus.UNAUTHORIZED
    )
    assert http.post(m2m.token_path(), data=m2m.form(client_secret=new_secret)).status_code == HTTPStatus.OK


def test_inactive_client_is_refused(http, m2m):
    application_update(application=m2m.application, is_active=False)
    response = http.post(m2m.token_path(), data=m2m.form())
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error_description"] == errors.MSG_CLIENT_AUTH_FAILED


@pytest.mark.parametrize("registered", [AuthMethod.CLIENT_SECRET_BASIC, AuthMethod.CLIENT_SECRET_POST])
@pytest.mark.parametrize("used", ["basic", "post"])
def test_a_client_with_a_secret_may_use_either_secret_method(http, m2m, registered, used):
    """RFC 6749 2.3.1: the server MUST support Basic for clients with a password; Auth0 registers post."""
    # given
    application_update(application=m2m.application, token_endpoint_auth_method=registered)
    # when
    if used == "basic":
        response = http.post(
            m2m.token_path(),
            data=m2m.form(client_id=None, client_secret=None),
            headers=basic(m2m.client_id, m2m.client_secret),
        )
    else:
        response = http.post(m2m.token_path(), data=m2m.form())
    # then
    assert response.status_code == HTTPStatus.OK, response.text


def test_a_public_client_that_sends_a_secret_is_refused(http, m2m):
    # given a client registered as public (no secret; a SPA: client credentials need a secret)
    spa = ApplicationFactory(tenant=m2m.tenant, app_type=AppType.SPA)
    assert spa.token_endpoint_auth_method == AuthMethod.NONE
    # when it sends the secret it was once given
    response = http.post(
        m2m.token_path(), data=m2m.form(client_id=spa.client_id, client_secret=spa.plaintext_secret)
    )
    # then
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error_description"] == errors.MSG_PUBLIC_CLIENT_SECRET


def test_token_requests_write_only_the_token_log(http, m2m):
    # given
    events_before = AuditEvent.objects.count()
    # when a good and a bad request are made
    http.post(m2m.token_path(), data=m2m.form())
    http.post(m2m.token_path(), data=m2m.form(client_secret="nope"))
    # then no token rows and no stray writes exist, only one log entry per request
    assert AccessToken.objects.count() == 0
    assert AuditEvent.objects.count() == events_before
    assert TokenEvent.objects.count() == 2
