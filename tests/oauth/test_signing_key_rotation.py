"""Signing-key rotation and revocation as clients and verifiers see them, over real HTTP."""

from __future__ import annotations

from http import HTTPStatus

import jwt
import pytest

from apps.apis.services import api_update
from apps.oauth.views.discovery import JWKS_MAX_AGE
from apps.tenants.models import SigningKey
from apps.tenants.services import signing_key_revoke, signing_key_rotate
from tests.conftest import make_m2m_setup
from tests.factories import ApiFactory, ClientGrantFactory
from tests.oauth.helpers import discover, verify_with_jwks
from tests.oauth.user_flow import authorize, exchange, location_params, make_user_setup, web  # noqa: F401

State = SigningKey.State
INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed, or invalid for other reasons.",
}


def jwks_kids(http, tenant) -> set[str]:
    response = http.get(f"/t/{tenant.slug}/.well-known/jwks.json")
    assert response.status_code == HTTPStatus.OK
    return {key["kid"] for key in response.json()["keys"]}


def kids(tenant, *states: str) -> set[str]:
    return set(SigningKey.objects.for_tenant(tenant).filter(state__in=states).values_list("kid", flat=True))


def token_kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def client_credentials_token(http, setup) -> str:
    response = http.post(setup.token_path(), data=setup.form())
    assert response.status_code == HTTPStatus.OK, response.text
    return response.json()["access_token"]


# --- the JWKS ----------------------------------------------------------------------------------------


def test_jwks_shows_next_current_previous_and_never_retired_or_revoked(http, m2m):
    # given keys in every state: rotated twice (one retired), then one revoked
    signing_key_rotate(tenant=m2m.tenant)
    signing_key_rotate(tenant=m2m.tenant)
    revoked = SigningKey.objects.get(tenant=m2m.tenant, algorithm="ES256", state=State.PREVIOUS).kid
    signing_key_revoke(tenant=m2m.tenant, kid=revoked)
    # when
    published = jwks_kids(http, m2m.tenant)
    # then
    assert published == kids(m2m.tenant, State.NEXT, State.CURRENT, State.PREVIOUS)
    assert len(published) == 5  # RS256 next, current, previous; ES256 next, current
    assert published.isdisjoint(kids(m2m.tenant, State.RETIRED, State.REVOKED))
    assert revoked not in published


def test_jwks_is_cacheable_for_a_documented_time_and_revalidates_by_etag(http, m2m):
    # given
    path = f"/t/{m2m.tenant.slug}/.well-known/jwks.json"
    first = http.get(path)
    etag = first.headers["ETag"]
    # when the same set is asked for with its ETag
    revalidated = http.get(path, headers={"If-None-Match": etag})
    # then it is 304 with the same validators and caching headers
    assert first.headers["Cache-Control"] == f"public, max-age={JWKS_MAX_AGE}"
    assert revalidated.status_code == HTTPStatus.NOT_MODIFIED
    assert revalidated.content == b""
    assert revalidated.headers["ETag"] == etag
    assert revalidated.headers["Cache-Control"] == f"public, max-age={JWKS_MAX_AGE}"
    assert revalidated.headers["Access-Control-Allow-Origin"] == "*"
    # when the keys rotate, the old ETag no longer matches
    signing_key_rotate(tenant=m2m.tenant, algorithm="RS256")
    changed = http.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == HTTPStatus.OK
    assert changed.headers["ETag"] != etag
    assert {key["kid"] for key in changed.json()["keys"]} == kids(
        m2m.tenant, State.NEXT, State.CURRENT, State.PREVIOUS
    )


def test_max_age_is_far_shorter_than_a_next_key_is_published_before_it_signs():
    # A next key is published for a whole rotation interval before it signs; rotating more
    # often than every hour would be unusual, and max-age must leave room for the verifiers'
    # own cache (the kit's default lifespan is 300 s) within it.
    assert 0 < JWKS_MAX_AGE <= 300


def test_discovery_still_points_at_the_jwks(http, live_server, m2m):
    metadata = discover(http, m2m.tenant.slug)
    assert metadata["jwks_uri"] == f"{live_server.url}/t/{m2m.tenant.slug}/.well-known/jwks.json"


# --- tokens ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_after_rotation_new_tokens_carry_the_next_kid_and_old_ones_still_verify(
    http, transactional_db, algorithm
):
    # given an M2M client of an API signed with ``algorithm`` and a token from before the rotation
    setup = make_m2m_setup()
    api = ApiFactory(tenant=setup.tenant, signing_alg=algorithm)
    ClientGrantFactory(application=setup.application, api=api)
    setup.api = api
    before = client_credentials_token(http, setup)
    current = SigningKey.objects.get(tenant=setup.tenant, algorithm=algorithm, state=State.CURRENT).kid
    upcoming = SigningKey.objects.get(tenant=setup.tenant, algorithm=algorithm, state=State.NEXT).kid
    assert token_kid(before) == current
    # when the keys rotate
    signing_key_rotate(tenant=setup.tenant, algorithm=algorithm)
    after = client_credentials_token(http, setup)
    # then new tokens carry the (already published) next kid, and both verify via the JWKS
    assert token_kid(after) == upcoming
    for token in (before, after):
        claims = verify_with_jwks(http, token, tenant_slug=setup.tenant.slug, audience=api.identifier)
        assert claims["sub"] == f"{setup.client_id}@clients"


def test_revoking_the_current_key_switches_signing_at_once(http, m2m):
    # given a token signed with the current key (which warms the key cache)
    current = token_kid(client_credentials_token(http, m2m))
    upcoming = SigningKey.objects.get(tenant=m2m.tenant, algorithm="RS256", state=State.NEXT).kid
    # when the current key is revoked
    signing_key_revoke(tenant=m2m.tenant, kid=current)
    # then the next token is signed by the promoted next key, and the revoked key is gone
    assert token_kid(client_credentials_token(http, m2m)) == upcoming
    assert current not in jwks_kids(http, m2m.tenant)


def test_rotating_one_tenant_leaves_another_alone(http, transactional_db):
    # given two tenants
    mine, theirs = make_m2m_setup(), make_m2m_setup()
    their_kid = token_kid(client_credentials_token(http, theirs))
    their_jwks = jwks_kids(http, theirs.tenant)
    # when one rotates
    signing_key_rotate(tenant=mine.tenant)
    # then the other's tokens and JWKS are unchanged
    assert token_kid(client_credentials_token(http, theirs)) == their_kid
    assert jwks_kids(http, theirs.tenant) == their_jwks


# --- our own endpoints: userinfo -----------------------------------------------------------------------


def user_access_token(http, setup) -> str:
    code = location_params(authorize(http, setup))["code"]
    response = exchange(http, setup, code)
    assert response.status_code == HTTPStatus.OK, response.text
    return response.json()["access_token"]


def userinfo(http, setup, token: str):
    return http.get(f"/t/{setup.tenant.slug}/userinfo", headers={"Authorization": f"Bearer {token}"})


def test_userinfo_refuses_a_token_signed_by_a_revoked_key_at_once(http, web):  # noqa: F811
    # given a user's access token that userinfo accepts
    token = user_access_token(http, web)
    assert userinfo(http, web, token).status_code == HTTPStatus.OK
    # when its signing key is revoked
    signing_key_revoke(tenant=web.tenant, kid=token_kid(token))
    # then userinfo refuses it at once, exactly as it refuses an unknown token
    response = userinfo(http, web, token)
    unknown = userinfo(http, web, "not-a-token-we-issued")
    assert response.status_code == unknown.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == unknown.json() == INVALID_TOKEN
    assert response.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"]
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_userinfo_accepts_a_token_signed_by_the_previous_key_and_refuses_it_once_retired(http, web):  # noqa: F811
    # given a token, then a rotation: its key is now the previous key
    token = user_access_token(http, web)
    signing_key_rotate(tenant=web.tenant, algorithm="RS256")
    # when / then it still works at userinfo
    assert userinfo(http, web, token).status_code == HTTPStatus.OK
    # when its key is retired by the next rotation, it no longer does
    signing_key_rotate(tenant=web.tenant, algorithm="RS256")
    response = userinfo(http, web, token)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == INVALID_TOKEN


def test_userinfo_token_of_an_hs256_api_is_not_judged_by_tenant_keys(http, transactional_db):
    # given a user token for an HS256 API (signed with the API's own secret, no kid)
    setup = make_user_setup()
    api_update(api=setup.api, signing_alg="HS256")
    token = user_access_token(http, setup)
    assert "kid" not in jwt.get_unverified_header(token)
    # when the tenant's current keys are revoked
    for kid in kids(setup.tenant, State.CURRENT):
        signing_key_revoke(tenant=setup.tenant, kid=kid)
    # then userinfo still answers from the token's row
    assert userinfo(http, setup, token).status_code == HTTPStatus.OK
