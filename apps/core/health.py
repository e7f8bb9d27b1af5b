"""Health endpoints for orchestrators and load balancers (DESIGN.md: ``/health/alive``, ``/health/ready``).

- ``/health/alive`` (liveness): the process answers HTTP. It touches neither the database nor
  the cache, so an outage of either never makes an orchestrator restart healthy processes.
- ``/health/ready`` (readiness): this process can serve: the database answers on a new
  connection within ``HEALTH_CHECK_TIMEOUT_SECONDS``, the cache answers, and every migration
  is applied. Otherwise 503, with the checks that failed by name. Once a process has seen
  every migration applied it stops asking (migrations are not unapplied under a running
  server, and reading the migration graph costs tens of milliseconds).

  A database outage is the exception: it hits every process alike, and a process that has
  loaded configuration keeps issuing machine-to-machine tokens from its cache for
  ``CONFIG_STALE_IF_ERROR_SECONDS`` (``apps.core.ttlcache``). Taking every pod out of its
  Service then would turn a database blink into a full outage, so such a process answers 200
  with ``"status": "degraded"`` and ``"database": "unreachable"`` while its cached
  configuration is within that window. A process that never loaded any (a new pod) is not ready.

Both are served by the lean handler (``config.urls_lean``): no session, CSRF or auth
middleware, no SSL redirect (probes speak plain HTTP to the pod). Answers are never cached.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

from apps.core import ttlcache

logger = logging.getLogger(__name__)

CHECK_DATABASE = "database"
CHECK_CACHE = "cache"
CHECK_MIGRATIONS = "migrations"
RESULT_OK = "ok"
RESULT_FAILED = "failed"
RESULT_UNAPPLIED = "unapplied"
RESULT_SKIPPED = "skipped"  # migrations cannot be read while the database is unreachable
RESULT_UNREACHABLE = "unreachable"  # down, but this process is serving from its cache
STATUS_OK = "ok"
STATUS_DEGRADED = "degraded"
STATUS_UNAVAILABLE = "unavailable"
CACHE_PROBE_KEY = "portcullis:health:ready"
# libpq's connect_timeout counts whole seconds and treats anything below 2 as 2.
_LIBPQ_MIN_CONNECT_TIMEOUT = 2

_migrations_applied = False


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    return response


def health_alive(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up. No database, no cache."""
    return _no_store(JsonResponse({"status": STATUS_OK}))


def database_check() -> None:
    """Open a new connection to the default database and run ``SELECT 1``; raise if either fails.

    A new connection rather than this thread's persistent one: its connect timeout can be short
    (the server's own is ``DB_CONNECT_TIMEOUT``), and it proves what a new worker thread would
    need. It is closed at once, so it holds no slot of ``max_connections`` between probes.
    """
    params = connection.get_connection_params()
    if connection.vendor == "postgresql":
        params["connect_timeout"] = max(
            _LIBPQ_MIN_CONNECT_TIMEOUT, round(settings.HEALTH_CHECK_TIMEOUT_SECONDS)
        )
    raw = connection.get_new_connection(params)
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchone()
        cursor.close()
    finally:
        raw.close()


def cache_check() -> None:
    """One write to the default cache (Redis with ``REDIS_URL``): raises if it does not answer.

    A write, not a read: a Redis that became a read-only replica after a failover answers reads.
    """
    cache.set(CACHE_PROBE_KEY, "1", timeout=60)


def unapplied_migrations() -> int:
    """How many migrations the database still lacks (0 once all are applied, then never re-read)."""
    global _migrations_applied
    if _migrations_applied:
        return 0
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    _migrations_applied = not plan
    return len(plan)


def _attempt[T](name: str, check: Callable[[], T]) -> tuple[bool, T | None]:
    """``(True, check())``, or ``(False, None)`` when it raises: any failure means "not ready"."""
    try:
        return True, check()
    except Exception as error:  # what it was goes to the log, not to the (public) answer
        logger.warning("readiness check %s failed: %s: %s", name, type(error).__name__, error)
        return False, None


def _serving_from_cache() -> bool:
    """Whether this process loaded configuration recently enough to serve it through an outage."""
    loaded_at = ttlcache.last_load_at
    return loaded_at > 0 and time.monotonic() - loaded_at <= settings.CONFIG_STALE_IF_ERROR_SECONDS


def health_ready(request: HttpRequest) -> JsonResponse:
    """Readiness: database reachable, cache reachable, migrations applied; 503 naming what is not."""
    database_ok, _ = _attempt(CHECK_DATABASE, database_check)
    cache_ok, _ = _attempt(CHECK_CACHE, cache_check)
    checks = {
        CHECK_DATABASE: RESULT_OK if database_ok else RESULT_FAILED,
        CHECK_CACHE: RESULT_OK if cache_ok else RESULT_FAILED,
        CHECK_MIGRATIONS: RESULT_SKIPPED,
    }
    if database_ok:
        read, unapplied = _attempt(CHECK_MIGRATIONS, unapplied_migrations)
        checks[CHECK_MIGRATIONS] = RESULT_FAILED if not read else RESULT_UNAPPLIED if unapplied else RESULT_OK
    if not database_ok and _serving_from_cache():
        checks[CHECK_DATABASE] = RESULT_UNREACHABLE
    failed = [name for name, result in checks.items() if result in (RESULT_FAILED, RESULT_UNAPPLIED)]
    status_word = STATUS_UNAVAILABLE if failed else STATUS_DEGRADED if not database_ok else STATUS_OK
    body: dict = {"status": status_word, "checks": checks}
    if failed:
        body["failed"] = failed
    status = HTTPStatus.SERVICE_UNAVAILABLE if failed else HTTPStatus.OK
    return _no_store(JsonResponse(body, status=status))
