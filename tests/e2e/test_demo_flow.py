"""The README's tour, end to end over real HTTP: demo credentials -> token -> Timesheets API."""

from __future__ import annotations

import io
import json
from http import HTTPStatus

import jwt
import pytest
from django.core.management import call_command
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt

from apps.resource_kit.jwks import clear_jwks_cache


@pytest.fixture
def demo(http, live_server, settings, tmp_path, transactional_db) -> dict:
    """The demo tenant, bootstrapped as `make run` does, served by the live server."""
    settings.PUBLIC_URL = live_server.url
    settings.TIMESHEETS_RESOURCE_SERVER = {
        "ISSUER": f"{live_server.url}/t/demo/",
        "AUDIENCE": "https://timesheets.example.com",
        "ALGORITHMS": ["RS256", "ES256"],
    }
    clear_jwks_cache()
    output = tmp_path / "demo.json"
    call_command("bootstrap_demo", "--output", str(output), stdout=io.StringIO())
    yield json.loads(output.read_text())
    clear_jwks_cache()


def get_token(http, demo: dict) -> str:
    metadata = http.get(f"{demo['issuer']}.well-known/openid-configuration").json()
    response = http.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "client_credentials",
            "client_id": demo["m2m"]["client_id"],
            "client_secret": demo["m2m"]["client_secret"],
            "audience": demo["m2m"]["audience"],
        },
    )
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json()["scope"] == "read:timesheets"
    assert response.json()["expires_in"] == 86400
    return response.json()["access_token"]


def test_demo_token_reads_timesheets_and_cannot_create_them(http, demo):
    # given a token obtained with the printed M2M credentials
    token = get_token(http, demo)
    auth = {"Authorization": f"Bearer {token}"}
    # when it reads timesheets
    listed = http.get(demo["timesheets_url"], headers=auth)
    # then
    assert listed.status_code == HTTPStatus.OK, listed.text
    assert isinstance(listed.json(), list)
    # when it tries to create one
    created = http.post(
        demo["timesheets_url"], json={"date": "2026-11-23", "hours": "7.5", "project": "Gate"}, headers=auth
    )
    # then it is refused for lack of scope, the RFC 6750 way
    assert created.status_code == HTTPStatus.FORBIDDEN
    assert created.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in created.headers["WWW-Authenticate"]


def test_demo_token_verifies_with_two_independent_jwt_libraries(http, demo):
    # given
    token = get_token(http, demo)
    metadata = http.get(f"{demo['issuer']}.well-known/openid-configuration").json()
    # then PyJWT verifies it through JWKS
    key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token, key.key, algorithms=["RS256"], audience=demo["m2m"]["audience"], issuer=demo["issuer"]
    )
    assert claims["sub"] == f"{demo['m2m']['client_id']}@clients"
    # and so does jwcrypto, from the same JWKS document
    keyset = jwcrypto_jwk.JWKSet.from_json(http.get(metadata["jwks_uri"]).text)
    verified = jwcrypto_jwt.JWT(
        jwt=token,
        key=keyset,
        expected_type="JWS",
        check_claims={"iss": demo["issuer"], "aud": demo["m2m"]["audience"], "exp": None},
    )
    assert json.loads(verified.claims)["jti"] == claims["jti"]


def test_timesheets_api_refuses_requests_without_a_token(http, demo):
    response = http.get(demo["timesheets_url"])
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
