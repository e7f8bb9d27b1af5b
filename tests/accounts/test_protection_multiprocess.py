"""Attack protection across server processes: two real servers (``config.serve``, granian) share one
Redis, or without ``REDIS_URL`` the database, so failures counted by one count for the other, and a
block or throttle holds on both.

The servers run against the test database (data is committed: ``transactional_db``, flushed after
each test, counters included) and, with Redis, Redis database 12 (``PROTECTION_TEST_REDIS_URL``),
which the test empties before and after.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.utils.html import escape

from apps.accounts.errors import ACCOUNT_BLOCKED_MESSAGE, IP_THROTTLED_MESSAGE
from apps.accounts.models import LoginBlock
from apps.applications.services import AppType
from apps.oauth.constants import GrantType
from apps.tenants.services import tenant_brute_force_protection_set, tenant_suspicious_ip_throttling_set
from tests.accounts.conftest import sign_in
from tests.conftest import LiveSession
from tests.factories import ApplicationFactory, TenantFactory, UserFactory
from tests.ops.servers import database_url, running_server

REDIS_URL = os.environ.get("PROTECTION_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")


@contextlib.contextmanager
def _server(log_path: Path, *, redis_url: str | None) -> Iterator[str]:
    """One server process like ``make run`` (one worker), on the test database and, if given, the
    shared Redis (else its cache is its own memory, as without ``REDIS_URL``)."""
    env = {"DATABASE_URL": database_url(), "DEBUG": "true", "SECRET_KEY": settings.SECRET_KEY}
    if redis_url:
        env["REDIS_URL"] = redis_url
    with running_server(log_path, env) as running:
        yield running.base_url


@pytest.fixture
def shared_redis() -> Iterator[None]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield
    client.flushdb()
    client.close()


@contextlib.contextmanager
def _two_servers(tmp_path: Path, *, redis_url: str | None) -> Iterator[tuple[LiveSession, LiveSession]]:
    with (
        _server(tmp_path / "first.log", redis_url=redis_url) as first,
        _server(tmp_path / "second.log", redis_url=redis_url) as second,
    ):
        sessions = LiveSession(first), LiveSession(second)
        yield sessions
        for session in sessions:
            session.close()


@pytest.fixture
def two_servers(transactional_db, shared_redis, tmp_path) -> Iterator[tuple[LiveSession, LiveSession]]:
    with _two_servers(tmp_path, redis_url=REDIS_URL) as sessions:
        yield sessions


@pytest.fixture
def two_servers_without_redis(transactional_db, tmp_path) -> Iterator[tuple[LiveSession, LiveSession]]:
    """Two processes with per-process caches (``LocMemCache``): counters live in the database."""
    with _two_servers(tmp_path, redis_url=None) as sessions:
        yield sessions


def test_brute_force_and_throttling_hold_across_two_processes_sharing_redis(two_servers):
    first, second = two_servers
    # given a tenant blocking after 4 failures, and one throttling an IP after 4 failures
    blocking = TenantFactory(slug="blocking")
    alice = UserFactory(tenant=blocking, username="alice@blocking.example")
    tenant_brute_force_protection_set(
        tenant=blocking, enabled=True, max_attempts=4, block_duration_seconds=600
    )
    throttling = TenantFactory(slug="throttling")
    bob = UserFactory(tenant=throttling, username="bob@throttling.example")
    tenant_suspicious_ip_throttling_set(tenant=throttling, enabled=True, max_attempts=4, window_seconds=3600)

    # when alice's password is guessed wrong four times, alternating between the processes
    for session in (first, second, first, second):
        assert sign_in(session, blocking, alice.username, "not the password").status_code == HTTPStatus.OK
    # then each process saw only two failures, yet the block holds on both, even for the right password
    for session in (first, second):
        response = sign_in(session, blocking, alice.username, alice.plaintext_password)
        assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert escape(ACCOUNT_BLOCKED_MESSAGE) in response.text
    assert LoginBlock.objects.filter(tenant=blocking, user=alice).count() == 1

    # when four usernames fail from one IP, alternating between the processes
    for n, session in enumerate((first, second, first, second)):
        assert (
            sign_in(session, throttling, f"guess{n}@throttling.example", "nope").status_code == HTTPStatus.OK
        )
    # then the IP is throttled on both, with Retry-After, even for bob's right password
    for session in (first, second):
        response = sign_in(session, throttling, bob.username, bob.plaintext_password)
        assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert escape(IP_THROTTLED_MESSAGE) in response.text
        assert 1 <= int(response.headers["Retry-After"]) <= 3600

    # and at the token endpoint: the password grant of a trusted backend alternating between the
    # processes is blocked on both once four of its attempts failed
    backend = ApplicationFactory(
        tenant=blocking, app_type=AppType.REGULAR_WEB, grant_types=[GrantType.PASSWORD]
    )
    carol = UserFactory(tenant=blocking, username="carol@blocking.example")

    def password_grant(session: LiveSession, password: str):
        return session.post(
            f"/t/{blocking.slug}/oauth/token",
            data={
                "grant_type": GrantType.PASSWORD.value,
                "username": carol.username,
                "password": password,
                "client_id": backend.client_id,
                "client_secret": backend.plaintext_secret,
            },
        )

    for session in (first, second, first, second):
        assert password_grant(session, "not the password").status_code == HTTPStatus.FORBIDDEN
    for session in (first, second):
        response = password_grant(session, carol.plaintext_password)
        assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert response.json() == {"error": "too_many_attempts", "error_description": ACCOUNT_BLOCKED_MESSAGE}


def test_without_redis_brute_force_and_throttling_hold_across_two_processes_through_the_database(
    two_servers_without_redis,
):
    first, second = two_servers_without_redis
    # given a tenant blocking after 4 failures and throttling an IP after 6
    tenant = TenantFactory(slug="nocache")
    alice = UserFactory(tenant=tenant, username="alice@nocache.example")
    bob = UserFactory(tenant=tenant, username="bob@nocache.example")
    tenant_brute_force_protection_set(tenant=tenant, enabled=True, max_attempts=4, block_duration_seconds=600)
    tenant_suspicious_ip_throttling_set(tenant=tenant, enabled=True, max_attempts=6, window_seconds=3600)

    # when alice's password is guessed wrong four times, alternating between the processes
    for session in (first, second, first, second):
        assert sign_in(session, tenant, alice.username, "not the password").status_code == HTTPStatus.OK
    # then each process saw only two failures, yet the block holds on both, even for the right password
    for session in (first, second):
        response = sign_in(session, tenant, alice.username, alice.plaintext_password)
        assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert escape(ACCOUNT_BLOCKED_MESSAGE) in response.text
    # and the IP's failures were counted across both (4 wrong + 2 blocked): it is throttled on both
    for session in (first, second):
        response = sign_in(session, tenant, bob.username, bob.plaintext_password)
        assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
        assert escape(IP_THROTTLED_MESSAGE) in response.text
