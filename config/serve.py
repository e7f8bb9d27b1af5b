"""Serve Portcullis in production: ``python -m config.serve`` (what ``make run`` and ``make bench`` use).

granian runs the WSGI app with ``WEB_CONCURRENCY`` worker processes (default: one per
core) on ``HOST:PORT``. It keeps HTTP/1.1 connections alive, which roughly halves the
per-request server cost compared with gunicorn's sync workers on the token endpoint.
``THREADS`` blocking threads per worker (default 4) run Django; each holds at most one
persistent database connection, so Postgres sees at most ``WEB_CONCURRENCY * THREADS``.
"""

from __future__ import annotations

import os
import shutil
import sys


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

    ``PROMETHEUS_MULTIPROC_DIR`` if set (a container's emptyDir), else ``var/metrics/<port>``;
    emptied at start: samples of an earlier run's workers must not be counted again.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        "var",
        "metrics",
        os.environ.get("PORT", "8000"),
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
    os.execv(executable, argv)  # noqa: S606 - replace this process with the server, fixed argv


if __name__ == "__main__":
    main()
