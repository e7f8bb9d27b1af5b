"""Key rotation and revocation as a resource server using the kit sees them.

The kit caches the issuer's JWK Set (``JWKS_LIFESPAN``) and refetches for an unknown kid at
most once per 30 s cooldown (PyJWT). Rotation is seamless only because the next key is in
the set it already cached; revocation reaches it when that cache expires.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http import HTTPStatus

import jwt
import requests

from apps.resource_kit import errors
from apps.resource_kit.conf import parse_config
from apps.resource_kit.jwks import jwks_client
from apps.resource_kit.verification import verify_access_token
from apps.tenants.models import SigningKey
from apps.tenants.services import signing_key_revoke, signing_key_rotate
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory
from tests.resource_kit.support import TIMESHEET_SCOPES, TIMESHEETS_PATH, assert_invalid_token, bearer

State = SigningKey.State


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_tokens_signed_with_the_previous_key_keep_verifying_and_new_ones_need_no_refetch(
    http, resource_server
):
    # given a token the API has verified, so the kit cached the JWKS (with the next key in it)
    old = resource_server.caller("read:timesheets")
    assert http.get(TIMESHEETS_PATH, headers=old.headers).status_code == HTTPStatus.OK
    # when the tenant rotates
    (rotation,) = signing_key_rotate(tenant=resource_server.tenant, algorithm="RS256")
    new = resource_server.caller("read:timesheets")
    # then the new token carries the next kid and verifies from the cached set (within the
    # 30 s refetch cooldown, so an unpublished kid would have been refused), and the old one,
    # signed with what is now the previous key, keeps verifying
    assert kid_of(new.token) == rotation.current and kid_of(old.token) == rotation.previous
    assert http.get(TIMESHEETS_PATH, headers=new.headers).status_code == HTTPStatus.OK
    assert http.get(TIMESHEETS_PATH, headers=old.headers).status_code == HTTPStatus.OK


def test_a_key_never_published_before_signing_breaks_caching_verifiers(http, resource_server):
    # The control for the test above: what pre-publication avoids. Given a cached JWKS and a
    # tenant whose next key was removed, a rotation has to promote a key no verifier has seen.
    caller = resource_server.caller("read:timesheets")
    assert http.get(TIMESHEETS_PATH, headers=caller.headers).status_code == HTTPStatus.OK
    SigningKey.objects.filter(tenant=resource_server.tenant, algorithm="RS256", state=State.NEXT).delete()
    (rotation,) = signing_key_rotate(tenant=resource_server.tenant, algorithm="RS256")
    # when a token signed by it reaches the API within the refetch cooldown
    response = http.get(TIMESHEETS_PATH, headers=resource_server.caller("read:timesheets").headers)
    # then the API refuses it
    assert not rotation.next_was_published
    assert_invalid_token(response, errors.MSG_KEY_UNKNOWN)


def test_a_revoked_key_is_refused_once_the_kits_cache_refreshes(http, resource_server):
    # given an API whose kit refreshes the JWKS every second, and a token it has verified
    resource_server.configure(JWKS_LIFESPAN=1)
    caller = resource_server.caller("read:timesheets")
    assert http.get(TIMESHEETS_PATH, headers=caller.headers).status_code == HTTPStatus.OK
    stolen = resource_server.signing_key("RS256")  # the attacker holds the private key
    # when the key is revoked
    signing_key_revoke(tenant=resource_server.tenant, kid=kid_of(caller.token))
    forged = resource_server.forge(key=stolen)  # signed after the revocation
    # then the kit trusts its cached set until it expires (documented), and not after
    assert http.get(TIMESHEETS_PATH, headers=caller.headers).status_code == HTTPStatus.OK
    time.sleep(1.2)
    assert_invalid_token(http.get(TIMESHEETS_PATH, headers=caller.headers), errors.MSG_KEY_UNKNOWN)
    assert_invalid_token(http.get(TIMESHEETS_PATH, headers=bearer(forged)), errors.MSG_KEY_UNKNOWN)
    # and tokens from the promoted key are accepted
    assert http.get(
        TIMESHEETS_PATH, headers=resource_server.caller("read:timesheets").headers
    ).status_code == (HTTPStatus.OK)


# --- the headline: rotate while tokens are issued and verified ------------------------------------

ROTATIONS = 4
WORKERS = 3
ROUNDS_BETWEEN_ROTATIONS = 2


class Verifier:
    """The kit's verifier with a 1 s JWKS lifespan (minutes in production, rotation weeks apart)."""

    def __init__(self, resource_server, api) -> None:
        self.config = parse_config(
            {
                "ISSUER": resource_server.issuer,
                "AUDIENCE": api.identifier,
                "ALGORITHMS": ["RS256", "ES256"],
                "JWKS_LIFESPAN": 1,
            }
        )
        self.fetched_at: list[float] = []  # when each completed fetch *began*
        self.in_flight: list[float] = []  # when each fetch still running began
        self.lock = threading.Lock()
        client = jwks_client(self.config)  # the kit's shared client for this JWKS URI
        fetch = client.fetch_data

        def counting_fetch():
            # A fetch that began before a rotation committed returns the set without the new
            # next key, however late it ends, and its result replaces the cached set when it
            # ends: seen under load, when a slow stale fetch finished after a fresh one.
            began = time.monotonic()
            with self.lock:
                self.in_flight.append(began)
            try:
                return fetch()
            finally:
                with self.lock:
                    self.in_flight.remove(began)
                    self.fetched_at.append(began)

        client.fetch_data = counting_fetch

    def holds_a_set_fetched_after(self, moment: float) -> bool:
        """The cached set was fetched after ``moment``, and no older fetch can still replace it."""
        with self.lock:
            return (
                bool(self.fetched_at)
                and self.fetched_at[-1] > moment
                and all(began > moment for began in self.in_flight)
            )


def test_rotating_keys_while_tokens_are_issued_and_verified_loses_none(http, resource_server, live_server):
    # given M2M clients of an RS256 and an ES256 API, and workers that each, in a loop, get a token
    # from the live token endpoint and verify it with the kit's JWKS-caching verifier
    tenant = resource_server.tenant
    es256_api = ApiFactory(tenant=tenant, signing_alg="ES256", scopes=dict(TIMESHEET_SCOPES))
    apis = [resource_server.api, es256_api, resource_server.api]
    verifiers = {api.pk: Verifier(resource_server, api) for api in apis}
    clients = []
    for api in apis:
        application = ApplicationFactory(tenant=tenant)
        ClientGrantFactory(application=application, api=api, scopes=["read:timesheets"])
        clients.append((application, api))
    stop = threading.Event()
    lock = threading.Lock()
    started_rounds = [0] * WORKERS  # rounds each worker began (read by the rotation loop)
    failures: list[str] = []
    kids_seen: Counter[str] = Counter()

    def work(index: int) -> None:
        application, api = clients[index]
        session = requests.Session()
        form = {
            "grant_type": "client_credentials",
            "client_id": application.client_id,
            "client_secret": application.plaintext_secret,
            "audience": api.identifier,
        }
        while not stop.is_set():
            with lock:
                started_rounds[index] += 1
            response = session.post(f"{live_server.url}/t/{tenant.slug}/oauth/token", data=form, timeout=10)
            if response.status_code != HTTPStatus.OK:
                failures.append(f"token endpoint: {response.status_code} {response.text}")
                continue
            token = response.json()["access_token"]
            try:
                verify_access_token(token, config=verifiers[api.pk].config)
            except errors.InvalidToken as exc:
                failures.append(f"{kid_of(token)}: {exc.detail['error_description']}")
            with lock:
                kids_seen[kid_of(token)] += 1

    def wait_until(condition, what: str) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting until {what}"
            assert not failures, failures
            time.sleep(0.02)

    def refetched_since(moment: float) -> bool:
        return all(v.holds_a_set_fetched_after(moment) for v in verifiers.values())

    def rounds_done_since(marks: list[int]) -> bool:
        # a round that *began* after the mark has finished once the one after it has begun
        with lock:
            return all(
                now - mark > ROUNDS_BETWEEN_ROTATIONS for now, mark in zip(started_rounds, marks, strict=True)
            )

    threads = [threading.Thread(target=work, args=(index,)) for index in range(WORKERS)]
    for thread in threads:
        thread.start()
    rotated_at = time.monotonic()
    marks = [0] * WORKERS
    signers = []
    try:
        for _ in range(ROTATIONS):
            # Before each rotation: every verifier has refreshed its JWKS since the last one (so
            # it holds the next key, as verifiers with a 5-minute cache do between weekly
            # rotations), and every worker finished rounds begun after it (so no token in flight
            # was signed two rotations ago, by a key about to be retired).
            wait_until(lambda moment=rotated_at: refetched_since(moment), "the verifiers refetched the JWKS")
            wait_until(lambda since=marks: rounds_done_since(since), "the workers made progress")
            # when the tenant rotates every algorithm's keys, mid-traffic
            rotations = signing_key_rotate(tenant=tenant)
            rotated_at = time.monotonic()
            signers.extend(rotation.current for rotation in rotations)
            with lock:
                marks = list(started_rounds)
        wait_until(lambda: rounds_done_since(marks), "the workers made progress after the last rotation")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    # then no token failed to verify, and tokens were signed by every key that became current
    assert failures == []
    assert set(signers) <= set(kids_seen), (signers, kids_seen)
    assert sum(kids_seen.values()) >= WORKERS * ROUNDS_BETWEEN_ROTATIONS * (ROTATIONS + 1)
