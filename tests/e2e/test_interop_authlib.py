"""A standard OAuth 2.0 client library, not ours, against the live server: Authlib's requests client.

Authlib builds the authorization request (PKCE S256), exchanges the code and refreshes the
tokens, authenticating with HTTP Basic (RFC 6749 2.3.1: the server MUST support it) although
the application is registered with ``client_secret_post``. The user agent's part (sign-in, the
redirects) is a plain requests session that keeps the server's cookies, as a browser would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from apps.applications.services import AuthMethod
from tests.oauth.user_flow import CALLBACK, log_in, make_user_setup

SCOPE = "openid profile email read:things offline_access"


def follow_as_user_agent(http, url: str, setup) -> str:
    """Follow the authorization request's redirects, signing in when asked; the URL the server
    finally sends the browser to (the client's callback)."""
    response = http.get(url, allow_redirects=False)
    for _ in range(6):
        assert response.status_code == HTTPStatus.FOUND, response.text[:500]
        location = response.headers["Location"]
        if location.startswith(CALLBACK):
            return location
        if location.startswith(f"{setup.issuer_path}login"):
            next_path = dict(parse_qsl(urlsplit(location).query))["next"]
            response = log_in(http, setup, next_path=next_path)
            continue
        response = http.get(location, allow_redirects=False)
    raise AssertionError(f"no redirect to the client: {response.status_code} {response.text[:500]}")


@pytest.fixture
def oauth_session() -> Iterator[Callable[..., OAuth2Session]]:
    """Authlib's session (a requests.Session), closed afterwards: a pooled keep-alive connection
    would hold a live-server thread, and its database connection, past the test."""
    sessions: list[OAuth2Session] = []

    def make(**kwargs) -> OAuth2Session:
        sessions.append(OAuth2Session(**kwargs))
        return sessions[-1]

    yield make
    for session in sessions:
        session.close()


def test_authlib_does_code_with_pkce_and_refresh_with_basic_auth(
    http, live_server, transactional_db, oauth_session
):
    # given a regular web app (first party, a callback that is not on localhost, registered with
    # client_secret_post), an API that allows offline access, and an end user
    setup = make_user_setup()
    assert setup.application.token_endpoint_auth_method == AuthMethod.CLIENT_SECRET_POST
    issuer = f"{live_server.url}{setup.issuer_path}"
    metadata = http.get(f"{issuer}.well-known/openid-configuration").json()
    client = oauth_session(
        client_id=setup.application.client_id,
        client_secret=setup.application.plaintext_secret,
        token_endpoint_auth_method="client_secret_basic",
        redirect_uri=CALLBACK,
        scope=SCOPE,
        code_challenge_method="S256",
    )
    token_requests = []
    client.hooks["response"].append(lambda response, **kwargs: token_requests.append(response.request))
    code_verifier = generate_token(64)

    # when Authlib builds the authorization URL and the user signs in
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=code_verifier, audience=setup.api.identifier
    )
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    callback = follow_as_user_agent(http, url, setup)

    # and Authlib exchanges the code from the callback URL, with Basic authentication
    token = client.fetch_token(
        metadata["token_endpoint"], authorization_response=callback, state=state, code_verifier=code_verifier
    )

    # then it holds an access token for the API, an ID token and a refresh token
    assert dict(parse_qsl(urlsplit(callback).query))["iss"] == issuer
    assert {"access_token", "id_token", "refresh_token"} <= set(token)
    assert token["token_type"].lower() == "bearer"
    first_refresh_token = token["refresh_token"]

    # when Authlib refreshes
    refreshed = client.refresh_token(metadata["token_endpoint"], refresh_token=first_refresh_token)

    # then both token requests authenticated with HTTP Basic only (never both methods, RFC 6749 2.3)
    assert len(token_requests) == 2
    for request in token_requests:
        assert request.headers["Authorization"].startswith("Basic ")
        assert "client_secret" not in dict(parse_qsl(request.body))
    # and the refresh token was rotated, and the new access token verifies against the JWKS
    # with the API as audience and the user as subject
    assert refreshed["refresh_token"] != first_refresh_token
    assert refreshed["access_token"] != token["access_token"]
    signing_key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(refreshed["access_token"])
    claims = jwt.decode(
        refreshed["access_token"],
        signing_key.key,
        algorithms=["RS256"],
        audience=setup.api.identifier,
        issuer=issuer,
    )
    assert claims["sub"] == f"auth0|{setup.user.pk}"
    assert claims["azp"] == setup.application.client_id
    assert "read:things" in claims["scope"].split()
    # and the rotated-out refresh token is refused (RFC 9700 4.14: rotation)
    replay = http.post(
        metadata["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": first_refresh_token},
        auth=(setup.application.client_id, setup.application.plaintext_secret),
    )
    assert replay.status_code == HTTPStatus.BAD_REQUEST
    assert replay.json()["error"] == "invalid_grant"
