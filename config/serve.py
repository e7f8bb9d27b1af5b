"""Serve Portcullis in production: ``python -m config.serve`` (what ``make run`` and ``make bench`` use).

granian runs the WSGI app with ``WEB_CONCURRENCY`` worker processes (default: one per
core) on ``HOST:PORT``. It keeps HTTP/1.1 connections alive, which roughly halves the
per-request server cost compared with gunicorn's sync workers on the token endpoint.
``THREADS`` blocking threads per worker (default 4) run Django; each holds at most one
persistent database connection, and each worker has two background threads that may hold one
too (the token-log writer, the expired-rows sweeper), so Postgres sees at most
``WEB_CONCURRENCY * (THREADS + 2)`` connections from one server.

The server's queries are bounded by a Postgres statement timeout, ``DB_STATEMENT_TIMEOUT_MS``
(default ``SERVER_STATEMENT_TIMEOUT_MS`` here; ``manage.py`` commands have none unless it is set:
a migration or a bulk import may legitimately run for minutes).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping

# A request's query that runs longer than this is cancelled (config/settings.py: DB_STATEMENT_TIMEOUT_MS).
SERVER_STATEMENT_TIMEOUT_MS = 15_000


def server_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The server's environment: ``environ`` with the server's defaults for what it leaves unset."""
    env = dict(environ)
    if not env.get("DB_STATEMENT_TIMEOUT_MS"):
        env["DB_STATEMENT_TIMEOUT_MS"] = str(SERVER_STATEMENT_TIMEOUT_MS)
    return env


def granian_argv() -> list[str]:
    workers = os.environ.get("WEB_CONCURRENCY") or str(os.cpu_count() or 1)
    return [
        "granian",
        "--interface", "wsgi",
        "--host", os.environ.get("HOST", "127.0.0.1"),
        "--port", os.environ.get("PORT", "8000"),
        "--workers", workers,
        "--blocking-threads", os.environ.get("THREADS", "4"),
        "--log-level", os.environ.get("SERVER_LOG_LEVEL", "warning"),
        "config.wsgi:application",
    ]  # fmt: skip


def metrics_directory() -> str:
    """An empty directory for the workers' Prometheus samples (``apps.core.metrics``).

    ``PROMETHEUS_MULTIPROC_DIR`` if set, else ``<PORTCULLIS_VAR_DIR or var/>/metrics/<port>`` (in the
    image, under /tmp: the only writable place with a read-only root filesystem);
    emptied at start: samples of an earlier run's workers must not be counted again.
    """
    var_dir = os.environ.get("PORTCULLIS_VAR_DIR") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var"
    )
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(
        var_dir, "metrics", os.environ.get("PORT", "8000")
    )
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)
    return directory


def main() -> None:
    argv = granian_argv()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_directory()
    executable = shutil.which("granian", path=os.path.dirname(sys.executable)) or shutil.which("granian")
    if executable is None:
        sys.exit("granian is not installed in this environment (pip install -e .)")
    # Replace this process with the server (fixed argv): granian is PID 1 in a container and gets SIGTERM.
    os.execve(executable, argv, server_environ(os.environ))  # noqa: S606


if __name__ == "__main__":
    main()
