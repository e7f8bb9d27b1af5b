"""Many requests at once across two server processes sharing Postgres and Redis.

- a burst of concurrent client_credentials requests: no 5xx, every ``jti`` unique, every token valid;
- parallel redemptions of one authorization code, and of one refresh token: exactly one wins and
  the losers leave no rows behind;
- signing keys rotated while tokens are being issued: every token verifies against the JWKS a
  resource server would fetch.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http import HTTPStatus

import jwt
import pytest
import requests
from django.core.cache import caches

from apps.oauth.models import AccessToken, IDToken, RefreshToken
from apps.tenants.services import signing_key_rotate
from tests.conftest import LiveSession, make_m2m_setup
from tests.oauth.user_flow import authorize, location_params, make_user_setup
from tests.reliability.conftest import SIZE

pytestmark = pytest.mark.django_db(transaction=True)


def _at_once(count: int, request) -> list:
    """Run ``request(index)`` in ``count`` threads released together; their results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = request(index)
        except requests.RequestException as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _jwks(base_url: str, slug: str) -> dict[str, jwt.PyJWK]:
    keys = requests.get(f"{base_url}/t/{slug}/.well-known/jwks.json", timeout=10).json()["keys"]
    return {key["kid"]: jwt.PyJWK(key) for key in keys}


def test_a_burst_of_token_requests_across_two_servers_has_no_errors_and_unique_jtis(two_servers):
    # given an M2M client, and two servers behind an imaginary load balancer
    setup = make_m2m_setup()
    urls = [running.base_url + setup.token_path() for running in two_servers]

    # when a burst of requests arrives at once, alternating between the servers
    responses = _at_once(
        SIZE.concurrent_requests, lambda index: requests.post(urls[index % 2], data=setup.form(), timeout=60)
    )

    # then every one was answered with a token, each with its own jti, each valid
    failures = [
        repr(r) if not isinstance(r, requests.Response) else (r.status_code, r.text[:200]) for r in responses
    ]
    assert all(isinstance(r, requests.Response) and r.status_code == HTTPStatus.OK for r in responses), (
        Counter(map(str, failures)).most_common(3)
    )
    keys = _jwks(two_servers[0].base_url, setup.tenant.slug)
    jtis = set()
    for response in responses:
        token = response.json()["access_token"]
        kid = jwt.get_unverified_header(token)["kid"]
        claims = jwt.decode(token, keys[kid], algorithms=["RS256"], audience=setup.api.identifier)
        jtis.add(claims["jti"])
    assert len(jtis) == SIZE.concurrent_requests


def test_one_code_redeemed_in_parallel_on_two_servers_is_redeemed_once(two_servers, tmp_path):
    # given an authorization code obtained through the first server
    setup = make_user_setup()
    with LiveSession(two_servers[0].base_url) as browser:
        code = location_params(authorize(browser, setup))["code"]
    before = _token_rows()

    # when it is presented many times at once, to both servers
    responses = _at_once(
        SIZE.parallel_redemptions,
        lambda index: requests.post(
            f"{two_servers[index % 2].base_url}{setup.issuer_path}oauth/token",
            data=setup.token_form(code),
            timeout=60,
        ),
    )

    # then exactly one redemption won; the others are invalid_grant, and no loser wrote a row
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {HTTPStatus.OK: 1, HTTPStatus.BAD_REQUEST: SIZE.parallel_redemptions - 1}, statuses
    assert {r.json()["error"] for r in responses if r.status_code != HTTPStatus.OK} == {"invalid_grant"}
    # (a loser that came after the winner's commit is a replay: RFC 6749 4.1.2 revokes what the
    # code issued, so the winner's access token may be gone again, never more than its one set)
    new = _new_rows(before)
    assert new["refresh"] == new["id"] == 1, new
    assert new["access"] in (0, 1), new


def test_one_refresh_token_used_in_parallel_on_two_servers_is_rotated_once(two_servers):
    # given a refresh token
    setup = make_user_setup()
    with LiveSession(two_servers[0].base_url) as browser:
        code = location_params(authorize(browser, setup))["code"]
        tokens = browser.post(f"{setup.issuer_path}oauth/token", data=setup.token_form(code)).json()
    before = _token_rows()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": setup.application.client_id,
        "client_secret": setup.application.plaintext_secret,
    }

    # when it is used many times at once, on both servers
    responses = _at_once(
        SIZE.parallel_redemptions,
        lambda index: requests.post(
            f"{two_servers[index % 2].base_url}{setup.issuer_path}oauth/token", data=form, timeout=60
        ),
    )

    # then one use rotated it; the rest were refused, and only the winner's tokens were written
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {HTTPStatus.OK: 1, HTTPStatus.BAD_REQUEST: SIZE.parallel_redemptions - 1}, statuses
    # (a loser that came after the rotation is a reuse: RFC 9700 4.14.2 ends the family, deleting
    # its access tokens, so only the winner's one refresh row is new)
    new = _new_rows(before)
    assert new["refresh"] == 1, new
    assert new["access"] <= 1 and new["id"] <= 1, new


def test_keys_rotated_under_load_never_break_verification(two_servers, shared_redis, settings):
    # given the test process publishes its changes through the servers' shared Redis, as another
    # server process (or the admin) would
    settings.REDIS_URL = shared_redis
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": shared_redis}}
    caches._settings = None
    setup = make_m2m_setup()
    verifier = JwksVerifier(two_servers[0].base_url, setup.tenant.slug, audience=setup.api.identifier)
    stop = threading.Event()
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def load(url: str) -> None:
        with requests.Session() as session:
            while not stop.is_set():
                response = session.post(url, data=setup.form(), timeout=30)
                outcome = (
                    "token-error"
                    if response.status_code != HTTPStatus.OK
                    else verifier.check(response.json()["access_token"])
                )
                with lock:
                    outcomes[outcome] += 1

    threads = [
        threading.Thread(target=load, args=(running.base_url + setup.token_path(),), daemon=True)
        for running in two_servers
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()

    # when the keys are rotated twice while tokens are being issued on both servers
    time.sleep(1)
    rotations = 0
    for _ in range(2):
        signing_key_rotate(tenant=setup.tenant)
        rotations += 1
        time.sleep(SIZE.rotation_seconds / 2)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    # then every token verified against the published keys (refetched on an unknown kid)
    assert rotations == 2
    assert set(outcomes) == {"ok"}, outcomes
    assert outcomes["ok"] > 50
    assert verifier.kids_seen >= 2, "tokens signed by the rotated-in key must have been seen"


class JwksVerifier:
    """What a resource server does: verify with cached JWKS, refetch once on an unknown ``kid``."""

    def __init__(self, base_url: str, slug: str, *, audience: str) -> None:
        self.base_url, self.slug, self.audience = base_url, slug, audience
        self.keys = _jwks(base_url, slug)
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    @property
    def kids_seen(self) -> int:
        return len(self.seen)

    def check(self, token: str) -> str:
        kid = jwt.get_unverified_header(token)["kid"]
        with self.lock:
            self.seen.add(kid)
            if kid not in self.keys:
                self.keys = _jwks(self.base_url, self.slug)
            key = self.keys.get(kid)
        if key is None:
            return "unknown-kid"
        try:
            jwt.decode(token, key, algorithms=["RS256"], audience=self.audience)
        except jwt.InvalidTokenError as error:
            return f"invalid: {error}"
        return "ok"


def _new_rows(before: dict[str, int]) -> dict[str, int]:
    return {kind: count - before[kind] for kind, count in _token_rows().items()}


def _token_rows() -> dict[str, int]:
    return {
        "access": AccessToken.objects.count(),
        "refresh": RefreshToken.objects.count(),
        "id": IDToken.objects.count(),
    }
