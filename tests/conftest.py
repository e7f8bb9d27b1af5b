"""Shared fixtures. Tests run on Postgres (DATABASE_URL), never on SQLite."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from django.core.cache import cache
from django.db import connection

from apps.core import counters, ttlcache
from apps.tenants import keys
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory, TenantFactory

# Fixtures shared by the real-browser tests (Debian's Chromium through Playwright).
pytest_plugins = ["tests.browser"]


# Tests that run alone, after the parallel run (``make test`` runs pytest twice: ``-m "not serial"``
# with pytest-xdist, then ``-m serial`` in one process). They start real server processes and assert
# time windows that a second test process competing for the cores would stretch, or share fixed Redis
# databases. A test elsewhere that starts a server process is refused under xdist
# (``refuse_under_xdist``, called by ``tests.ops.servers.running_server``), so none is missed.
SERIAL_PATHS = (
    "tests/reliability/",
    "tests/ops/",
    "tests/accounts/test_protection_multiprocess.py",
    "tests/core/test_metrics.py",
    "tests/core/test_counters.py",
    "tests/core/test_ttlcache.py",
    "tests/management/test_chunked_bodies.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if item.nodeid.startswith(SERIAL_PATHS):
            item.add_marker(pytest.mark.serial)


def refuse_under_xdist(what: str) -> None:
    """Fail a test that does ``what`` in a parallel (pytest-xdist) run: it belongs in SERIAL_PATHS."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail(
            f"{what} in a parallel test run: add the test's module to SERIAL_PATHS in tests/conftest.py"
        )


def pytest_configure(config) -> None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.exit(
            "Tests need Postgres: set DATABASE_URL=postgres://... (make test does this)", returncode=2
        )


@pytest.fixture(scope="session", autouse=True)
def _test_database_droppable(django_db_setup, django_db_blocker):
    """At the end of the run, end any other session on this process's test database, so that
    pytest-django can drop it: a connection left by a test's background thread would otherwise make
    the drop fail ("being accessed by other users") and leave the database behind."""
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _synchronous_token_log(settings):
    """Token events are written at once in tests: no background thread holds the test database."""
    settings.TOKEN_LOG_FLUSH_SECONDS = 0


RSA_KEY_POOL_SIZE = 48


@pytest.fixture(scope="session", autouse=True)
def _pooled_rsa_keys():
    """Reuse RSA key pairs across tests: generating one costs ~80 ms and every tenant makes two.

    The first ``RSA_KEY_POOL_SIZE`` RSA keys are generated for real, later requests cycle
    through them (P-256 keys are cheap and always fresh). A kid is the key's thumbprint and
    unique per row, so one test must not hold more than that many RSA keys at once; rows are
    rolled back or flushed between tests, so reuse across tests is safe.
    """
    pool: list = []
    counter = itertools.count()
    real = keys.new_private_key

    def pooled(algorithm: str):
        if algorithm != "RS256":
            return real(algorithm)
        index = next(counter) % RSA_KEY_POOL_SIZE
        if index == len(pool):
            pool.append(real(algorithm))
        return pool[index]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keys, "new_private_key", pooled)
        yield


@pytest.fixture(autouse=True)
def _no_background_sweep(settings):
    """No expired-rows sweep deletes rows behind a test's back; tests/oauth/test_cleanup.py runs it."""
    settings.CLEANUP_SWEEP_SECONDS = 0


@pytest.fixture(autouse=True)
def _fresh_config_cache():
    """Each test starts with an empty per-process config cache (rows are rolled back between tests)."""
    ttlcache.clear()
    yield
    ttlcache.clear()


# The Redis database tests that need a shared cache use (emptied before and after each of them).
COUNTERS_TEST_REDIS_URL = os.environ.get("COUNTERS_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def database_counters(monkeypatch) -> None:
    """Counters (``apps.core.counters``) in the database, as without ``REDIS_URL``, whatever cache the
    test run has. Rows are rolled back (``db``) or flushed (``transactional_db``) after each test."""
    monkeypatch.setattr(counters, "_backend", counters.DatabaseCounters())


@pytest.fixture
def redis_counters(settings, monkeypatch) -> Iterator[None]:
    """Counters in a shared Redis cache, as with ``REDIS_URL`` (chosen by ``counters_backend``)."""
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": COUNTERS_TEST_REDIS_URL}
    }
    monkeypatch.setattr(counters, "_backend", None)
    assert isinstance(counters.counters_backend(), counters.CacheCounters)
    cache.clear()
    yield
    cache.clear()


@dataclass
class M2MSetup:
    """A tenant with an API, an M2M application and a client grant: the token endpoint's happy path."""

    tenant: object
    api: object
    application: object
    grant: object

    @property
    def client_id(self) -> str:
        return self.application.client_id

    @property
    def client_secret(self) -> str:
        return self.application.plaintext_secret

    def token_path(self) -> str:
        return f"/t/{self.tenant.slug}/oauth/token"

    def form(self, **overrides) -> dict:
        data = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "audience": self.api.identifier,
        }
        data.update(overrides)
        return {k: v for k, v in data.items() if v is not None}


def make_m2m_setup(**grant_kwargs) -> M2MSetup:
    tenant = TenantFactory()
    api = ApiFactory(tenant=tenant)
    application = ApplicationFactory(tenant=tenant)
    grant = ClientGrantFactory(application=application, api=api, **grant_kwargs)
    return M2MSetup(tenant=tenant, api=api, application=application, grant=grant)


@pytest.fixture
def m2m(db) -> M2MSetup:
    return make_m2m_setup()


@pytest.fixture
def http(live_server) -> requests.Session:
    """A real HTTP client against the live server; relative paths are resolved against it."""
    session = LiveSession(live_server.url)
    yield session
    session.close()


class LiveSession(requests.Session):
    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        if url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("timeout", 10)
        return super().request(method, url, *args, **kwargs)


# --- The token endpoint through both of its paths ---------------------------------------------
FULL_STACK = "full-stack"
LEAN_PATH = "lean-path"


@pytest.fixture(scope="session")
def production_live_server(live_server):
    """A second live server whose WSGI application is the production one (``config.wsgi``'s
    ``RoutedWSGIHandler``, which serves the token and introspection endpoints through the lean
    handler, ``apps.core.handlers``). pytest-django's ``live_server`` serves every URL through
    Django's full handler and middleware."""
    from pytest_django.live_server_helper import LiveServer

    from apps.core.handlers import RoutedWSGIHandler

    server = LiveServer(live_server.thread.host, start=False)
    server.thread.static_handler = lambda _full_handler: RoutedWSGIHandler()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=[FULL_STACK, LEAN_PATH])
def http_both_paths(request, live_server) -> Iterator[LiveSession]:
    """``http`` against each server in turn. A test module whose ``http`` fixture returns this one
    runs every test through Django's full stack and through the lean path production uses, so
    whatever the lean path bypasses for speed is held to the same tests (issue 11)."""
    server = live_server if request.param == FULL_STACK else request.getfixturevalue("production_live_server")
    session = LiveSession(server.url)
    yield session
    session.close()
