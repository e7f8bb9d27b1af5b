"""Real server processes for the reliability suite, on the test database: ``tests.ops.servers``'s
``running_server`` (``config.serve``, what ``make run`` and the image start) with the data the test
process wrote readable by the server.

The tests that start them use ``transactional_db``, so what they wrote is committed and visible
to the servers, or pass any ``database_url``, e.g. one that goes through ``PostgresProxy``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from django.conf import settings

from tests.ops.servers import RunningServer, running_server
from tests.ops.servers import database_url as live_database_url

__all__ = ["live_database_url", "server"]


@contextlib.contextmanager
def server(
    log_path: Path,
    *,
    database_url: str | None = None,
    workers: int = 1,
    threads: int = 4,
    env: Mapping[str, str] | None = None,
) -> Iterator[RunningServer]:
    """One production-mode server (``workers`` granian workers) on a free port, stopped on exit."""
    with running_server(
        log_path,
        {
            "DATABASE_URL": database_url or live_database_url(),
            "DEBUG": "false",
            # The test process wrote the data (client secret hashes, encrypted signing keys) with its key.
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "WEB_CONCURRENCY": str(workers),
            "THREADS": str(threads),
            "TOKEN_LOG_FLUSH_SECONDS": "1",
            **(env or {}),
        },
    ) as running:
        yield running
