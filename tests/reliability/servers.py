"""Real server processes for the reliability suite: ``config.serve`` (granian), as ``make run`` runs it.

The servers use the test database (tests that start them use ``transactional_db``, so what the
test wrote is committed and visible to them), or any ``database_url`` given, e.g. one that goes
through ``PostgresProxy``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def live_database_url(*, host: str | None = None, port: int | None = None) -> str:
    """The test database's URL, optionally reached through another host and port (a proxy)."""
    params = connection.settings_dict
    auth = params["USER"] + (f":{params['PASSWORD']}" if params["PASSWORD"] else "")
    host = host or params["HOST"] or "127.0.0.1"
    port = port or int(params["PORT"] or 5432)
    return f"postgres://{auth}@{host}:{port}/{params['NAME']}"


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, *, timeout: float = 30) -> int:
        """SIGTERM the server's process group and wait for it; returns the exit code."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout=timeout)


@contextlib.contextmanager
def server(
    log_path: Path,
    *,
    database_url: str | None = None,
    workers: int = 1,
    threads: int = 4,
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """One ``config.serve`` process group on a free port; stopped (SIGTERM, then SIGKILL) on exit."""
    port = free_port()
    server_env = {name: value for name, value in os.environ.items() if name != "REDIS_URL"} | {
        "DATABASE_URL": database_url or live_database_url(),
        "DEBUG": "false",
        # The test process wrote the data (client secret hashes, encrypted signing keys) with its key.
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "THREADS": str(threads),
        "CLEANUP_SWEEP_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "config.serve"],
            cwd=ROOT,
            env=server_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: granian's workers go with it
        )
    running = Server(base_url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"server on {port} exited: {running.log()[-3000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"server on {port} did not start within {STARTUP_SECONDS} s")
            time.sleep(0.1)
        yield running
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
