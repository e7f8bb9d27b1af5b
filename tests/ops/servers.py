"""Real server processes for the operations tests: what ``make run`` and the container image start.

``running_server`` starts ``argv`` (by default ``python -m config.serve``: granian, the production
entry point) from the repository root with the given environment, waits until ``/health/alive``
answers, and stops the whole process group afterwards. Its stdout and stderr go to a file, so a
test can read the server's log lines (``RunningServer.log_records``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests
from django.db import connection

from tests.conftest import refuse_under_xdist

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30
SERVE_ARGV = ("python", "-m", "config.serve")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def closed_port() -> int:
    """A local port nothing listens on (bound, then released: connections to it are refused)."""
    return free_port()


def database_url(name: str | None = None, *, host: str | None = None, port: int | None = None) -> str:
    """A DATABASE_URL for the test database (or database ``name`` on the same server), optionally
    reached through another host and port (a proxy)."""
    params = connection.settings_dict
    auth = params["USER"] + (f":{params['PASSWORD']}" if params["PASSWORD"] else "")
    host, port = host or params["HOST"] or "127.0.0.1", port or params["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{name or params['NAME']}"


def random_secret_key() -> str:
    return secrets.token_urlsafe(50)


def python_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``python`` meaning this interpreter (the image's ``python`` is its only one)."""
    return [sys.executable if part == "python" else part for part in argv]


def server_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without the settings a test server must not inherit, plus
    a small production-like server (one worker, two threads, no background sweep)."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in {"REDIS_URL", "DEBUG", "DATABASE_URL", "SECRET_KEY", "STATIC_ROOT"}
    }
    return (
        inherited
        | {
            "HOST": "127.0.0.1",
            "WEB_CONCURRENCY": "1",
            "THREADS": "2",
            "CLEANUP_SWEEP_SECONDS": "0",
            "TOKEN_LOG_FLUSH_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
        }
        | dict(overrides)
    )


@dataclass
class RunningServer:
    base_url: str
    log_path: Path
    process: subprocess.Popen  # the server's main process (granian, after config.serve exec'd it)

    @property
    def pid(self) -> int:
        return self.process.pid

    def environ(self) -> dict[str, str]:
        """The environment the server process runs with, as the kernel has it."""
        raw = Path(f"/proc/{self.pid}/environ").read_bytes()
        return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)

    def url(self, path: str) -> str:
        return self.base_url + path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_records(self) -> list[dict]:
        """The JSON log lines the server wrote so far (other output, granian's, is skipped)."""
        records = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    records.append(json.loads(line))
        return records

    def records_of(self, request_id: str) -> list[dict]:
        return [record for record in self.log_records() if record.get("request_id") == request_id]


@contextlib.contextmanager
def running_server(
    log_path: Path, env: Mapping[str, str], *, argv: Sequence[str] = SERVE_ARGV
) -> Iterator[RunningServer]:
    refuse_under_xdist("starting a server process")
    port = int(env.get("PORT") or free_port())
    full_env = server_env(env) | {"PORT": str(port)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            python_argv(argv),
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: granian's workers stop with it
        )
    server = RunningServer(base_url=f"http://127.0.0.1:{port}", log_path=log_path, process=process)
    try:
        _wait_until_alive(process, server)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def _wait_until_alive(process: subprocess.Popen, server: RunningServer) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the server exited ({process.returncode}): {server.output()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.url("/health/alive"), timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the server did not answer within {STARTUP_SECONDS} s: {server.output()[-3000:]}"
            )
        time.sleep(0.2)
