"""The sample web app (``/sample/``) as a relying party, against a fake authorization server.

The fake server answers the sample app's HTTP calls (discovery, token, JWKS, userinfo, the
Timesheets API) in-process, so these tests pin down the relying party's own duties — PKCE,
state, nonce, issuer and ID-token checks, refresh, logout — whatever the real endpoints do.
``test_sample_web_live.py`` runs the app against this project's real server.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
from django.test import Client
from joserfc import jwt
from joserfc.jwk import RSAKey
from requests.adapters import HTTPAdapter

from apps.timesheets.models import SampleWebSession
from apps.timesheets.webapp import errors
from apps.timesheets.webapp.store import COOKIE_NAME

ISSUER = "https://idp.example/t/demo/"
API_URL = "https://api.example/sample/timesheets/"
CLIENT_ID = "sample-web-client"
CLIENT_SECRET = "sample-web-secret"
REDIRECT_URI = "http://testserver/sample/callback"
HOME_URI = "http://testserver/sample/"
AUDIENCE = "https://timesheets.example.com"
SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "fake-key"}, private=True)
JANE = {"sub": "auth0|jane", "name": "Jane Doe", "email": "jane@example.com"}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class FakeAuthorizationServer:
    """Answers the sample app's outgoing HTTP requests the way a correct OIDC provider would."""

    def __init__(self) -> None:
        self.metadata: dict[str, Any] = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}authorize",
            "token_endpoint": f"{ISSUER}oauth/token",
            "userinfo_endpoint": f"{ISSUER}userinfo",
            "end_session_endpoint": f"{ISSUER}oidc/logout",
            "jwks_uri": f"{ISSUER}.well-known/jwks.json",
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        }
        self.requests: list[requests.PreparedRequest] = []
        self.codes: dict[str, dict[str, str]] = {}
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.id_token_overrides: dict[str, Any] = {}
        self.unreachable = False
        self.signing_key = SIGNING_KEY

    # -- what the browser would do at the authorization endpoint ---------------------------
    def authorize(self, authorization_url: str) -> dict[str, str]:
        """Sign Jane in and consent; returns the callback's query parameters."""
        params = dict(parse_qsl(urlsplit(authorization_url).query))
        code = secrets.token_urlsafe(16)
        self.codes[code] = params
        return {"code": code, "state": params["state"], "iss": ISSUER}

    # -- HTTP -------------------------------------------------------------------------------
    def send(self, request: requests.PreparedRequest) -> requests.Response:
        if self.unreachable:
            raise requests.ConnectionError("connection refused")
        self.requests.append(request)
        url = request.url.split("?")[0]
        routes = {
            f"{ISSUER}.well-known/openid-configuration": lambda: (HTTPStatus.OK, self.metadata),
            self.metadata.get("jwks_uri"): lambda: (
                HTTPStatus.OK,
                {"keys": [SIGNING_KEY.as_dict(private=False)]},
            ),
            self.metadata.get("token_endpoint"): lambda: self.token(request),
            self.metadata.get("userinfo_endpoint"): lambda: self.bearer(request, JANE | {"nickname": "jane"}),
            API_URL: lambda: self.bearer(
                request, [{"date": "2026-11-23", "project": "Gate", "hours": "7.50"}]
            ),
        }
        status, body = routes.get(url, lambda: (HTTPStatus.NOT_FOUND, {"error": "not_found"}))()
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = request.url
        response.request = request
        return response

    def bearer(self, request: requests.PreparedRequest, body: Any) -> tuple[int, Any]:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.access_tokens:
            return HTTPStatus.UNAUTHORIZED, {"error": "invalid_token"}
        return HTTPStatus.OK, body

    def token(self, request: requests.PreparedRequest) -> tuple[int, dict]:
        form = {key: values[0] for key, values in parse_qs(request.body).items()}
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return HTTPStatus.UNAUTHORIZED, {"error": "invalid_client"}
        if form["grant_type"] == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return HTTPStatus.BAD_REQUEST, {
                    "error": "invalid_grant",
                    "error_description": "Unknown token",
                }
            self.refresh_tokens.discard(form["refresh_token"])
            return HTTPStatus.OK, self.issue(
                nonce=None, scope="openid profile read:timesheets offline_access"
            )
        authorization = self.codes.pop(form.get("code", ""), None)
        if (
            authorization is None
            or form.get("redirect_uri") != authorization["redirect_uri"]
            or s256(form.get("code_verifier", "")) != authorization["code_challenge"]
        ):
            return HTTPStatus.BAD_REQUEST, {"error": "invalid_grant"}
        return HTTPStatus.OK, self.issue(nonce=authorization["nonce"], scope=authorization["scope"])

    def issue(self, *, nonce: str | None, scope: str) -> dict[str, Any]:
        access_token, refresh_token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.access_tokens.add(access_token)
        self.refresh_tokens.add(refresh_token)
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": CLIENT_ID, "iat": now, "exp": now + 300, **JANE}
        if nonce is not None:
            claims["nonce"] = nonce
        claims |= self.id_token_overrides
        id_token = jwt.encode({"alg": "RS256", "kid": "fake-key"}, claims, self.signing_key)
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": refresh_token,
            "id_token": id_token,
            "scope": scope,
        }

    def token_requests(self) -> list[dict[str, str]]:
        return [
            {key: values[0] for key, values in parse_qs(request.body).items()}
            for request in self.requests
            if request.url == self.metadata["token_endpoint"]
        ]


@pytest.fixture
def idp(monkeypatch, settings, db) -> FakeAuthorizationServer:
    settings.SAMPLE_WEB = {
        "ISSUER": ISSUER,
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URI": REDIRECT_URI,
        "POST_LOGOUT_REDIRECT_URI": HOME_URI,
        "AUDIENCE": AUDIENCE,
        "SCOPE": "openid profile email read:timesheets offline_access",
        "TIMESHEETS_URL": API_URL,
    }
    server = FakeAuthorizationServer()
    monkeypatch.setattr(HTTPAdapter, "send", lambda adapter, request, **kwargs: server.send(request))
    return server


def text(response) -> str:
    """The page as a person reads it (entities such as &#x27; decoded)."""
    return html.unescape(response.content.decode())


def start_login(client: Client) -> str:
    response = client.get("/sample/login")
    assert response.status_code == HTTPStatus.FOUND, response.content
    return response["Location"]


def sign_in(client: Client, idp: FakeAuthorizationServer) -> None:
    callback = idp.authorize(start_login(client))
    response = client.get("/sample/callback", callback)
    assert response.status_code == HTTPStatus.FOUND, response.content
    assert response["Location"] == "/sample/"


def test_login_redirects_to_the_discovered_authorization_endpoint_with_pkce_state_and_nonce(client, idp):
    # when
    location = start_login(client)
    # then the browser goes to the endpoint discovery named, with a complete code+PKCE request
    assert location.startswith(f"{ISSUER}authorize?")
    params = parse_qs(urlsplit(location).query)
    assert {
        key: values[0] for key, values in params.items() if key not in {"state", "nonce", "code_challenge"}
    } == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email read:timesheets offline_access",
        "audience": AUDIENCE,
        "code_challenge_method": "S256",
    }
    assert len(params["state"][0]) >= 32 and len(params["nonce"][0]) >= 32
    # and the challenge is S256 of a verifier the app kept, not the verifier itself
    assert len(params["code_challenge"][0]) == 43
    assert idp.token_requests() == []


def test_each_sign_in_gets_its_own_state_and_nonce(client, idp):
    first = parse_qs(urlsplit(start_login(client)).query)
    second = parse_qs(urlsplit(start_login(client)).query)
    assert first["state"] != second["state"]
    assert first["nonce"] != second["nonce"]
    assert first["code_challenge"] != second["code_challenge"]


def test_sign_in_shows_the_user_their_timesheets_and_scopes(client, idp):
    # when Jane signs in
    sign_in(client, idp)
    page = client.get("/sample/")
    # then the code was exchanged with the secret, the PKCE verifier and the same redirect URI
    [exchange] = idp.token_requests()
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["client_secret"] == CLIENT_SECRET
    assert exchange["redirect_uri"] == REDIRECT_URI
    assert "code_verifier" in exchange
    # and the page shows her name, her timesheets from the API and what was granted
    assert page.status_code == HTTPStatus.OK
    page_text = text(page)
    assert "Jane Doe" in page_text and "jane@example.com" in page_text
    assert "Gate" in page_text and "7.50" in page_text
    for scope in ("read:timesheets", "offline_access"):
        assert f'<code class="scope">{scope}</code>' in page_text
    assert "Refresh tokens" in page_text and "Sign out" in page_text
    assert f"{ISSUER}account/applications" in page_text


def test_sign_in_uses_its_own_cookie_not_the_django_session(client, idp, settings):
    # when
    sign_in(client, idp)
    # then
    assert COOKIE_NAME in client.cookies
    assert client.cookies[COOKIE_NAME]["path"] == "/sample/"
    assert client.cookies[COOKIE_NAME]["httponly"]
    assert settings.SESSION_COOKIE_NAME not in client.cookies


def test_tokens_at_rest_are_encrypted(client, idp):
    # given
    sign_in(client, idp)
    # when the app's table is read without the browser's cookie
    stored = b"".join(bytes(row.data) for row in SampleWebSession.objects.all())
    # then no token can be read from it
    assert stored
    for token in idp.access_tokens | idp.refresh_tokens:
        assert token.encode() not in stored


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({"code": "abc"}, id="no-state"),
        pytest.param({"code": "abc", "state": "never-issued"}, id="unknown-state"),
        pytest.param({"error": "access_denied", "state": "never-issued"}, id="error-with-unknown-state"),
    ],
)
def test_callback_with_a_state_this_app_did_not_issue_is_refused(client, idp, query):
    # given a sign-in in progress
    start_login(client)
    # when a response arrives that does not belong to it
    response = client.get("/sample/callback", query)
    # then it is refused readably, and no code is exchanged
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert errors.MSG_UNKNOWN_STATE in text(response)
    assert idp.token_requests() == []


def test_callback_meant_for_another_browser_is_refused(client, idp):
    # given a sign-in started in another browser
    callback = idp.authorize(start_login(Client()))
    # when its response is replayed in this one
    response = client.get("/sample/callback", callback)
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert idp.token_requests() == []


def test_replayed_callback_is_refused(client, idp):
    # given a completed sign-in
    callback = idp.authorize(start_login(client))
    assert client.get("/sample/callback", callback).status_code == HTTPStatus.FOUND
    # when the same response comes again
    response = client.get("/sample/callback", callback)
    # then its state is already consumed: refused, and the code is not exchanged twice
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert errors.MSG_UNKNOWN_STATE in text(response)
    assert len(idp.token_requests()) == 1


def test_denied_consent_is_shown_readably(client, idp):
    # given
    state = parse_qs(urlsplit(start_login(client)).query)["state"][0]
    # when the user clicked Deny
    response = client.get(
        "/sample/callback",
        {"error": "access_denied", "error_description": "The user denied access.", "state": state},
    )
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    page_text = text(response)
    assert "You did not allow access" in page_text
    assert "access_denied: The user denied access." in page_text
    assert idp.token_requests() == []


def test_response_from_another_issuer_is_refused(client, idp):
    # given
    callback = idp.authorize(start_login(client)) | {"iss": "https://evil.example/"}
    # when
    response = client.get("/sample/callback", callback)
    # then RFC 9207 mix-up protection refuses it before the code is used
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "evil.example" in text(response)
    assert idp.token_requests() == []


def test_missing_iss_is_refused_when_the_server_promises_it(client, idp):
    # given
    idp.metadata["authorization_response_iss_parameter_supported"] = True
    callback = idp.authorize(start_login(client))
    del callback["iss"]
    # when
    response = client.get("/sample/callback", callback)
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert errors.MSG_ISSUER_MISSING in text(response)


@pytest.mark.parametrize(
    "override",
    [
        pytest.param({"nonce": "another-nonce"}, id="nonce"),
        pytest.param({"aud": "another-client"}, id="aud"),
        pytest.param({"iss": "https://evil.example/"}, id="iss"),
        pytest.param({"exp": int(time.time()) - 3600}, id="exp"),
    ],
)
def test_id_token_that_does_not_validate_signs_nobody_in(client, idp, override):
    # given a server that returns a bad ID token
    idp.id_token_overrides = override
    # when
    response = client.get("/sample/callback", idp.authorize(start_login(client)))
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "The ID token did not validate" in text(response)
    assert "Jane Doe" not in text(client.get("/sample/"))


def test_id_token_signed_by_another_key_is_refused(client, idp):
    # given a server that signs with a key its JWKS does not publish (same kid)
    idp.signing_key = RSAKey.generate_key(2048, parameters={"kid": "fake-key"}, private=True)
    # when
    response = client.get("/sample/callback", idp.authorize(start_login(client)))
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "The ID token did not validate" in text(response)


def test_refused_code_exchange_is_shown_readably(client, idp):
    # given a code the server no longer knows
    callback = idp.authorize(start_login(client))
    idp.codes.clear()
    # when
    response = client.get("/sample/callback", callback)
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "invalid_grant" in text(response)


def test_refresh_uses_the_refresh_token_and_shows_the_new_expiry(client, idp):
    # given
    sign_in(client, idp)
    [first_refresh_token] = idp.refresh_tokens
    # when
    response = client.post("/sample/refresh")
    # then the refresh token was used once, and the page says when the new access token expires
    assert response.status_code == HTTPStatus.FOUND
    refresh = idp.token_requests()[-1]
    assert refresh["grant_type"] == "refresh_token"
    assert refresh["refresh_token"] == first_refresh_token
    assert "scope" not in refresh  # keeps what was granted
    page = text(client.get("/sample/"))
    assert "Tokens refreshed. The new access token expires at" in page
    assert "Gate" in page  # the new access token works at the API
    # and the rotated refresh token is the one used next
    client.post("/sample/refresh")
    assert idp.token_requests()[-1]["refresh_token"] != first_refresh_token


def test_refused_refresh_signs_out_locally(client, idp):
    # given tokens the server has since revoked
    sign_in(client, idp)
    idp.refresh_tokens.clear()
    # when
    client.post("/sample/refresh")
    page = text(client.get("/sample/"))
    # then
    assert "invalid_grant" in page
    assert 'id="sign-in"' in page


def test_sign_out_forgets_the_tokens_and_ends_the_server_session(client, idp):
    # given
    sign_in(client, idp)
    # when
    response = client.post("/sample/logout")
    # then the browser goes to the end-session endpoint with the RP-initiated logout parameters
    assert response.status_code == HTTPStatus.FOUND
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ISSUER}oidc/logout"
    params = {key: values[0] for key, values in parse_qs(location.query).items()}
    assert params["client_id"] == CLIENT_ID
    assert params["post_logout_redirect_uri"] == HOME_URI
    assert len(params["state"]) >= 24
    assert jwt.decode(params["id_token_hint"], SIGNING_KEY).claims["sub"] == JANE["sub"]
    # and the app no longer holds the user's tokens; coming back with the state says so
    page = text(client.get("/sample/", {"state": params["state"]}))
    assert "You are signed out of Timesheets and of the authorization server." in page
    assert 'id="sign-in"' in page
    assert "Jane Doe" not in page


def test_sign_out_without_an_end_session_endpoint_signs_out_locally(client, idp):
    # given
    sign_in(client, idp)
    del idp.metadata["end_session_endpoint"]
    # when
    response = client.post("/sample/logout")
    # then
    assert response["Location"] == "/sample/"
    page = text(client.get("/sample/"))
    assert "You are signed out of Timesheets" in page
    assert 'id="sign-in"' in page


@pytest.mark.parametrize("path", ["/sample/refresh", "/sample/logout"])
def test_state_changing_pages_need_post(client, idp, path):
    assert client.get(path).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_home_offers_sign_in(client, idp):
    # when
    response = client.get("/sample/")
    # then
    assert response.status_code == HTTPStatus.OK
    assert 'href="/sample/login"' in text(response)
    assert idp.requests == []  # a visitor who is not signed in costs the server nothing


def test_login_moves_to_the_host_of_the_redirect_uri_first(client, idp):
    # when the app is opened as localhost while it is registered as testserver
    response = client.get("/sample/login", HTTP_HOST="localhost")
    # then the browser is sent to the same page on the registered host, where the cookie will be read
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "http://testserver/sample/login"


def test_unreachable_server_is_a_readable_page(client, idp):
    # given
    idp.unreachable = True
    # when
    response = client.get("/sample/login")
    # then
    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert "Could not reach the authorization server" in text(response)


def test_server_without_an_authorization_endpoint_is_a_readable_page(client, idp):
    # given
    del idp.metadata["authorization_endpoint"]
    # when
    response = client.get("/sample/login")
    # then
    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert "does not advertise authorization_endpoint" in text(response)


def test_discovery_for_another_issuer_is_refused(client, idp):
    # given
    idp.metadata["issuer"] = "https://evil.example/"
    # when
    response = client.get("/sample/login")
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Unexpected discovery document" in text(response)


def test_without_configuration_the_app_says_to_run_make_run(client, db, settings, tmp_path):
    # given no SAMPLE_WEB and no var/demo.json
    settings.SAMPLE_WEB = None
    settings.VAR_DIR = tmp_path
    for path in ("/sample/", "/sample/login", "/sample/callback?state=x&code=y"):
        # when
        response = client.get(path)
        # then
        assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        assert "Run <code>make run</code>" in text(response)


def test_configuration_is_read_from_demo_json(client, idp, settings, tmp_path):
    # given the file bootstrap_demo writes, and no SAMPLE_WEB
    settings.SAMPLE_WEB = None
    settings.VAR_DIR = tmp_path
    demo = {
        "issuer": ISSUER,
        "m2m": {"audience": AUDIENCE},
        "web": {
            "client_id": "from-demo-json",
            "client_secret": "s",
            "redirect_uri": REDIRECT_URI,
            "post_logout_redirect_uri": HOME_URI,
        },
        "timesheets_url": API_URL,
        "sample_url": HOME_URI,
    }
    (tmp_path / "demo.json").write_text(json.dumps(demo))
    # when
    location = start_login(client)
    # then
    assert parse_qs(urlsplit(location).query)["client_id"] == ["from-demo-json"]


def test_stylesheet_is_a_file_of_its_own(client, db):
    response = client.get("/sample/style.css")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/css")
