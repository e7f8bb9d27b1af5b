"""The JWKS client cache: one client per JWKS URI, keys reused until the lifespan or a clear."""

from __future__ import annotations

from http import HTTPStatus

from apps.resource_kit import errors
from apps.resource_kit.conf import parse_config
from apps.resource_kit.jwks import clear_jwks_cache, jwks_client
from apps.tenants.models import SigningKey
from tests.resource_kit.support import TIMESHEETS_PATH, assert_invalid_token

CONFIG = parse_config({"ISSUER": "https://a.example/", "AUDIENCE": "x", "ALGORITHMS": ["RS256"]})


def test_one_client_per_jwks_uri_until_cleared():
    # given the client for an issuer
    client = jwks_client(CONFIG)
    # when it is asked for again, then after a clear
    again = jwks_client(CONFIG)
    clear_jwks_cache()
    after_clear = jwks_client(CONFIG)
    # then the same client is reused until the cache is cleared
    assert again is client
    assert after_clear is not client
    assert client.timeout == CONFIG.jwks_timeout


def test_fetched_keys_are_reused_until_the_cache_is_cleared(http, resource_server):
    # given a token the API has verified once (so the tenant's JWKS is cached)
    caller = resource_server.caller("read:timesheets")
    assert http.get(TIMESHEETS_PATH, headers=caller.headers).status_code == HTTPStatus.OK
    # when the tenant stops publishing its keys
    SigningKey.objects.filter(tenant=resource_server.tenant).update(state=SigningKey.State.REVOKED)
    cached = http.get(TIMESHEETS_PATH, headers=caller.headers)
    clear_jwks_cache()
    refetched = http.get(TIMESHEETS_PATH, headers=caller.headers)
    # then the cached key set still verifies, and a fresh fetch finds no keys
    assert cached.status_code == HTTPStatus.OK
    assert_invalid_token(refetched, errors.MSG_JWKS_UNAVAILABLE)
