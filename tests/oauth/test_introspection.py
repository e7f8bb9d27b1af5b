"""RFC 7662 introspection at /t/<tenant>/oauth/introspect, over real HTTP."""

from __future__ import annotations

import base64
import json
import time
import uuid
from http import HTTPStatus

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from apps.apis.services import api_update
from apps.applications.services import AppType
from apps.core import ttlcache
from apps.grants.models import UserGrant
from apps.grants.services import token_deny, user_grant_revoke
from apps.tenants.models import SigningKey
from apps.tenants.selectors import signing_key_current
from tests.conftest import make_m2m_setup
from tests.factories import ApplicationFactory
from tests.oauth.test_refresh_and_revocation import refresh, tokens_for
from tests.oauth.user_flow import web  # noqa: F401


@pytest.fixture
def http(http_both_paths):
    """Every test here runs through Django's full stack and through the lean path (tests/conftest.py)."""
    return http_both_paths


INACTIVE = {"active": False}


def m2m_token(http, setup, **form) -> str:
    response = http.post(setup.token_path(), data=setup.form(**form))
    assert response.status_code == HTTPStatus.OK, response.text
    return response.json()["access_token"]


def introspect(http, tenant, application, token: str, **extra):
    return http.post(
        f"/t/{tenant.slug}/oauth/introspect",
        data={"token": token, **extra},
        auth=(application.client_id, application.plaintext_secret),
    )


def active_claims(response) -> dict:
    assert response.status_code == HTTPStatus.OK, response.text
    body = response.json()
    assert body["active"] is True, body
    return body


def inactive(response) -> bool:
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return response.json() == INACTIVE


@pytest.fixture
def resource_server(m2m):
    """A confidential client of the same tenant, calling introspection as an API would."""
    client = ApplicationFactory(tenant=m2m.tenant)
    return client


def test_an_active_m2m_token_returns_its_claims(http, m2m, resource_server):
    # given
    token = m2m_token(http, m2m)
    # when
    body = active_claims(introspect(http, m2m.tenant, resource_server, token))
    # then
    claims = jwt.decode(token, options={"verify_signature": False})
    assert body == {"active": True, "token_type": "Bearer", **claims}
    assert body["client_id"] == m2m.client_id
    assert body["sub"] == f"{m2m.client_id}@clients"


def test_the_token_type_hint_is_only_a_hint(http, m2m, resource_server):
    token = m2m_token(http, m2m)
    response = introspect(http, m2m.tenant, resource_server, token, token_type_hint="refresh_token")
    assert active_claims(response)["jti"]


def test_an_hs256_api_token_is_verified_with_that_api_secret(http, m2m, resource_server):
    api_update(api=m2m.api, signing_alg="HS256")
    token = m2m_token(http, m2m)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert active_claims(introspect(http, m2m.tenant, resource_server, token))["aud"] == m2m.api.identifier


def test_a_deny_listed_token_is_inactive(http, m2m, resource_server):
    # given an active token
    token = m2m_token(http, m2m)
    claims = jwt.decode(token, options={"verify_signature": False})
    # when its jti is deny-listed
    token_deny(tenant=m2m.tenant, jti=claims["jti"], audience=m2m.api.identifier)
    # then
    assert inactive(introspect(http, m2m.tenant, resource_server, token))


# --- exactly {"active": false} for anything we would not honour (RFC 7662 2.2) ------------------


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(m2m, **overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": f"http://testserver/t/{m2m.tenant.slug}/",
        "sub": f"{m2m.client_id}@clients",
        "aud": m2m.api.identifier,
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "client_id": m2m.client_id,
        "scope": "read:things",
    }
    return claims | overrides


def _signed(m2m, claims: dict, **headers) -> str:
    key = signing_key_current(tenant_id=m2m.tenant.pk, algorithm="RS256")
    return jwt.encode(
        claims, key.private_key, algorithm="RS256", headers={"typ": "at+jwt", "kid": key.kid} | headers
    )


def _forged(http, m2m, kind: str) -> str:
    """Tokens an attacker (or an accident) could present; ``kind`` names the case."""
    issuer = f"{http.base_url}/t/{m2m.tenant.slug}/"
    claims = _claims(m2m, iss=issuer)
    genuine = m2m_token(http, m2m)
    header, payload, signature = genuine.split(".")
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    own_key = SigningKey.objects.get(tenant=m2m.tenant, algorithm="RS256", state="current")
    if kind == "alg_none":
        return f"{_b64({'alg': 'none', 'typ': 'at+jwt', 'kid': own_key.kid})}.{_b64(claims)}."
    if kind == "hs256_with_public_key":
        public_pem = jwt.PyJWK(own_key.public_jwk).key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        signing_input = f"{_b64({'alg': 'HS256', 'typ': 'at+jwt', 'kid': own_key.kid})}.{_b64(claims)}"
        import hashlib
        import hmac

        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    if kind == "tampered_payload":
        altered = json.loads(base64.urlsafe_b64decode(payload + "=="))
        altered["scope"] = "read:things delete:everything"
        return f"{header}.{_b64(altered)}.{signature}"
    if kind == "unknown_kid":
        return jwt.encode(claims, attacker, algorithm="RS256", headers={"typ": "at+jwt", "kid": "nope"})
    if kind == "embedded_jwk":
        jwk = RSAAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
        return jwt.encode(claims, attacker, algorithm="RS256", headers={"typ": "at+jwt", "jwk": jwk})
    if kind == "expired":
        return _signed(m2m, claims | {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 60})
    if kind == "wrong_issuer":
        return _signed(m2m, claims | {"iss": "https://evil.example.com/"})
    if kind == "not_an_access_token":  # an ID token (typ JWT) is not accepted as an access token
        return _signed(m2m, claims, typ="JWT")
    if kind == "missing_jti":
        return _signed(m2m, {k: v for k, v in claims.items() if k != "jti"})
    if kind == "another_tenants_token":
        other = make_m2m_setup()
        return m2m_token(http, other)
    if kind == "signed_by_revoked_key":
        token = _signed(m2m, claims)
        SigningKey.objects.filter(pk=own_key.pk).update(state=SigningKey.State.REVOKED)
        ttlcache.clear()
        return token
    if kind == "malformed":
        return "not-a-token"
    if kind == "three_garbage_segments":
        return "a.b.c"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "alg_none",
        "hs256_with_public_key",
        "tampered_payload",
        "unknown_kid",
        "embedded_jwk",
        "expired",
        "wrong_issuer",
        "not_an_access_token",
        "missing_jti",
        "another_tenants_token",
        "signed_by_revoked_key",
        "malformed",
        "three_garbage_segments",
    ],
)
def test_tokens_we_would_not_honour_are_exactly_inactive(http, m2m, resource_server, kind):
    # given
    token = _forged(http, m2m, kind)
    # when / then
    assert inactive(introspect(http, m2m.tenant, resource_server, token))


def test_the_forgery_helper_signs_a_genuine_token_when_nothing_is_wrong(http, m2m, resource_server):
    """The control for the table above: the same construction, unaltered, is active."""
    claims = _claims(m2m, iss=f"{http.base_url}/t/{m2m.tenant.slug}/")
    assert (
        active_claims(introspect(http, m2m.tenant, resource_server, _signed(m2m, claims)))["jti"]
        == claims["jti"]
    )


# --- who may ask ----------------------------------------------------------------------------------


def test_the_caller_must_authenticate(http, m2m):
    token = m2m_token(http, m2m)
    response = http.post(f"/t/{m2m.tenant.slug}/oauth/introspect", data={"token": token})
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error"] == "invalid_client"


def test_a_wrong_secret_is_refused(http, m2m, resource_server):
    token = m2m_token(http, m2m)
    response = http.post(
        f"/t/{m2m.tenant.slug}/oauth/introspect",
        data={"token": token},
        auth=(resource_server.client_id, "wrong"),
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error"] == "invalid_client"


def test_client_secret_post_works_too(http, m2m, resource_server):
    token = m2m_token(http, m2m)
    response = http.post(
        f"/t/{m2m.tenant.slug}/oauth/introspect",
        data={
            "token": token,
            "client_id": resource_server.client_id,
            "client_secret": resource_server.plaintext_secret,
        },
    )
    assert active_claims(response)["jti"]


def test_a_public_client_may_not_introspect(http, m2m):
    spa = ApplicationFactory(tenant=m2m.tenant, app_type=AppType.SPA)
    token = m2m_token(http, m2m)
    response = http.post(
        f"/t/{m2m.tenant.slug}/oauth/introspect", data={"token": token, "client_id": spa.client_id}
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error"] == "invalid_client"


def test_a_client_of_another_tenant_is_unknown_here(http, m2m):
    other = make_m2m_setup()
    token = m2m_token(http, m2m)
    response = introspect(http, m2m.tenant, other.application, token)
    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_the_token_parameter_is_required(http, m2m, resource_server):
    response = http.post(
        f"/t/{m2m.tenant.slug}/oauth/introspect",
        data={},
        auth=(resource_server.client_id, resource_server.plaintext_secret),
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "invalid_request"


def test_only_post_is_accepted(http, m2m):
    assert http.get(f"/t/{m2m.tenant.slug}/oauth/introspect").status_code == HTTPStatus.METHOD_NOT_ALLOWED


# --- user tokens ----------------------------------------------------------------------------------


def test_user_tokens_are_active_until_their_grant_is_revoked(http, web):  # noqa: F811
    # given a user's tokens, and a resource server of the same tenant
    body = tokens_for(http, web)
    api = ApplicationFactory(tenant=web.tenant)
    access = active_claims(introspect(http, web.tenant, api, body["access_token"]))
    assert access["sub"] == f"auth0|{web.user.pk}"
    # when the user revokes the application
    user_grant_revoke(grant=UserGrant.objects.get(), actor=web.user)
    # then the access token no longer passes introspection (nor does the refresh token)
    assert inactive(introspect(http, web.tenant, api, body["access_token"]))
    assert inactive(introspect(http, web.tenant, web.application, body["refresh_token"]))


def test_a_refresh_token_is_introspected_by_its_own_client_only(http, web):  # noqa: F811
    body = tokens_for(http, web)
    # its client sees it
    claims = active_claims(introspect(http, web.tenant, web.application, body["refresh_token"]))
    assert claims["client_id"] == web.application.client_id
    assert claims["sub"] == f"auth0|{web.user.pk}"
    assert claims["aud"] == web.api.identifier
    assert "offline_access" in claims["scope"].split()
    assert "token_type" not in claims
    # another client of the tenant does not
    other = ApplicationFactory(tenant=web.tenant)
    assert inactive(introspect(http, web.tenant, other, body["refresh_token"]))


def test_a_rotated_refresh_token_is_inactive(http, web):  # noqa: F811
    body = tokens_for(http, web)
    assert refresh(http, web, body["refresh_token"]).status_code == HTTPStatus.OK
    assert inactive(introspect(http, web.tenant, web.application, body["refresh_token"]))


def test_a_reused_refresh_token_makes_the_family_access_tokens_inactive(http, web):  # noqa: F811
    # given a refresh and the access token it returned
    body = tokens_for(http, web)
    rotated = refresh(http, web, body["refresh_token"]).json()
    api = ApplicationFactory(tenant=web.tenant)
    assert active_claims(introspect(http, web.tenant, api, rotated["access_token"]))
    # when the old refresh token is replayed (RFC 9700 4.14.2)
    assert refresh(http, web, body["refresh_token"]).status_code == HTTPStatus.BAD_REQUEST
    # then the family's access tokens are deny-listed
    assert inactive(introspect(http, web.tenant, api, rotated["access_token"]))
    assert inactive(introspect(http, web.tenant, api, body["access_token"]))


def test_a_user_token_for_an_api_with_openid_lists_both_audiences(http, web):  # noqa: F811
    body = tokens_for(http, web, scope="openid read:things")
    api = ApplicationFactory(tenant=web.tenant)
    claims = active_claims(introspect(http, web.tenant, api, body["access_token"]))
    assert claims["aud"] == [web.api.identifier, f"{http.base_url}/t/{web.tenant.slug}/userinfo"]
