"""Authorization code + PKCE, consent and the code exchange, over real HTTP (RFC 6749 4.1, RFC 7636)."""

from __future__ import annotations

import threading
from datetime import timedelta
from http import HTTPStatus

import jwt
import requests
from django.utils import timezone

from apps.apis.services import api_update
from apps.grants.models import UserGrant
from apps.oauth import errors
from apps.oauth.models import AccessToken, Grant, IDToken, RefreshToken
from tests.oauth.helpers import verify_with_jwks
from tests.oauth.user_flow import CALLBACK, authorize, exchange, location_params, web  # noqa: F401


def test_code_flow_issues_access_id_and_refresh_tokens(http, live_server, web):  # noqa: F811
    # when the user signs in, consents and the client exchanges the code
    response = authorize(http, web)
    assert response.status_code == HTTPStatus.FOUND, response.text
    assert response.headers["Location"].startswith(CALLBACK + "?")
    params = location_params(response)
    issuer = f"{live_server.url}/t/{web.tenant.slug}/"
    assert params["iss"] == issuer  # RFC 9207
    assert params["state"].startswith("st-")
    tokens = exchange(http, web, params["code"])
    # then
    assert tokens.status_code == HTTPStatus.OK, tokens.text
    body = tokens.json()
    assert {"access_token", "id_token", "refresh_token", "expires_in", "token_type", "scope"} <= set(body)
    access = verify_with_jwks(
        http, body["access_token"], tenant_slug=web.tenant.slug, audience=web.api.identifier
    )
    assert access["sub"] == f"auth0|{web.user.pk}"
    assert access["aud"] == [web.api.identifier, f"{issuer}userinfo"]
    assert access["azp"] == web.application.client_id
    assert "gty" not in access
    assert set(access["scope"].split()) == {"openid", "profile", "email", "read:things", "offline_access"}
    id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert id_claims["aud"] == web.application.client_id
    assert id_claims["iss"] == issuer
    assert id_claims["sub"] == access["sub"]
    assert id_claims["nonce"].startswith("n-")
    assert id_claims["name"] == "Jane Doe" and id_claims["email"] == "jane@example.com"
    assert "at_hash" in id_claims and "auth_time" in id_claims
    verify_with_jwks(http, body["id_token"], tenant_slug=web.tenant.slug, audience=web.application.client_id)


def test_a_replayed_code_is_refused_and_revokes_what_it_issued(http, web):  # noqa: F811
    # given a code exchanged once
    code = location_params(authorize(http, web))["code"]
    first = exchange(http, web, code)
    assert first.status_code == HTTPStatus.OK, first.text
    # when it is presented again
    replay = exchange(http, web, code)
    # then the replay fails and the refresh token of the first exchange is dead
    assert replay.status_code == HTTPStatus.BAD_REQUEST
    assert replay.json() == {"error": "invalid_grant", "error_description": errors.MSG_CODE_REPLAYED}
    refresh = http.post(
        f"/t/{web.tenant.slug}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
            "client_id": web.application.client_id,
            "client_secret": web.application.plaintext_secret,
        },
    )
    assert refresh.status_code == HTTPStatus.BAD_REQUEST
    assert refresh.json()["error"] == "invalid_grant"


def test_the_code_is_bound_to_the_pkce_verifier(http, web):  # noqa: F811
    code = location_params(authorize(http, web))["code"]
    response = exchange(http, web, code, code_verifier="x" * 50)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "invalid_grant"


def test_the_code_is_bound_to_the_redirect_uri(http, web):  # noqa: F811
    code = location_params(authorize(http, web))["code"]
    response = exchange(http, web, code, redirect_uri="https://app.example.com/other")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] in {"invalid_grant", "invalid_request"}


def test_deny_sends_access_denied_to_the_client(http, web):  # noqa: F811
    # given an API whose consent first-party applications may not skip
    api_update(api=web.api, skip_consent_for_first_party=False)
    # when the user clicks Deny
    response = authorize(http, web, decision="deny")
    # then
    assert response.status_code == HTTPStatus.FOUND
    params = location_params(response)
    assert params["error"] == "access_denied"
    assert params["state"].startswith("st-")


def test_an_expired_code_is_refused(http, web):  # noqa: F811
    # given a code older than its 60 seconds
    code = location_params(authorize(http, web))["code"]
    Grant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    # when / then
    response = exchange(http, web, code)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "invalid_grant"


def test_the_code_lives_sixty_seconds(http, web):  # noqa: F811
    location_params(authorize(http, web))
    grant = Grant.objects.get()
    assert 55 <= (grant.expires - grant.created).total_seconds() <= 60


def test_every_row_carries_the_tenant_the_audience_and_the_user_grant(http, web):  # noqa: F811
    # when a code is exchanged for access, ID and refresh tokens
    code = location_params(authorize(http, web))["code"]
    response = exchange(http, web, code)
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    # then every row DOT wrote is bound to the tenant and to the consent it came from
    user_grant = UserGrant.objects.get()
    for model in (Grant, AccessToken, RefreshToken, IDToken):
        row = model.objects.get()
        assert row.tenant_id == web.tenant.pk, model
        assert row.user_grant_id == user_grant.pk, model
    for model in (Grant, AccessToken, RefreshToken):
        assert model.objects.get().audience == web.api.identifier, model
    access_claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert AccessToken.objects.get().jti == access_claims["jti"]
    assert body["refresh_token"].count(".") == 0 and len(body["refresh_token"]) >= 43  # opaque, not a JWT


def test_two_exchanges_of_one_code_at_once_issue_one_set_of_tokens(http, web):  # noqa: F811
    # given a code
    code = location_params(authorize(http, web))["code"]
    barrier, statuses = threading.Barrier(2), []

    def exchange_it():
        session = requests.Session()
        barrier.wait()
        statuses.append(
            session.post(
                f"{http.base_url}/t/{web.tenant.slug}/oauth/token", data=web.token_form(code), timeout=10
            ).status_code
        )
        session.close()

    # when two requests present it at the same moment
    threads = [threading.Thread(target=exchange_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then the code's row lock lets one through; the other finds the code used (a replay)
    assert sorted(statuses) == [HTTPStatus.OK, HTTPStatus.BAD_REQUEST], statuses
