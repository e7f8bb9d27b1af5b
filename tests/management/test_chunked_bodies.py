"""Management API bodies sent without ``Content-Length`` (``Transfer-Encoding: chunked``), over real
HTTP against the production server (``config.serve``: granian, as ``make run`` serves).

Django's test server cannot carry such a body (it reads ``Content-Length`` bytes and no more), so
these tests start ``config.serve`` on the test database (data committed: ``transactional_db``).
A chunked body is read up to the upload limit: a bigger one is 413 in Auth0's shape, and one that
fits is parsed like any other (before, it was silently taken for an empty body).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from apps.accounts.models import Role
from tests.conftest import LiveSession
from tests.management.conftest import management_session
from tests.management.test_users import assert_error

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 20


def _chunked(data: bytes, size: int = 4096) -> Iterator[bytes]:
    """``data`` as a generator: requests then sends it chunked, without Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory) -> Iterator[LiveSession]:
    """``python -m config.serve`` (one worker) on the test database, for this module's tests."""
    params = connection.settings_dict
    auth = params["USER"] + (f":{params['PASSWORD']}" if params["PASSWORD"] else "")
    port = _free_port()
    env = {name: value for name, value in os.environ.items() if name != "REDIS_URL"} | {
        "DATABASE_URL": f"postgres://{auth}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}",
        "DEBUG": "true",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "THREADS": "2",
        "CLEANUP_SWEEP_SECONDS": "0",
    }
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "config.serve"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: granian's worker goes with it
        )
    session = LiveSession(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited: {log_path.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"server did not start within {STARTUP_SECONDS} s")
            time.sleep(0.1)
        yield session
    finally:
        session.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.fixture
def served(server, transactional_db):
    """A tenant's management client, calling the production server."""
    return management_session(server)


def test_a_chunked_body_over_the_limit_is_413_in_auth0_shape(served):
    # given a body one kilobyte over the limit, sent in chunks without Content-Length
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = b'{"name": "' + b"x" * (limit + 1024) + b'"}'
    # when
    response = served.call("POST", "roles", data=_chunked(body), headers={"Content-Type": "application/json"})
    # then
    assert "Content-Length" not in response.request.headers
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    error = assert_error(response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload_too_large")
    assert error["message"] == f"Payload too large: the request body is limited to {limit} bytes"
    assert not Role.objects.filter(tenant=served.tenant).exists()


def test_a_chunked_body_within_the_limit_is_read_like_any_other(served):
    # when a role is created with a chunked body
    response = served.call(
        "POST", "roles", data=_chunked(b'{"name": "Chunky", "description": "Sent in chunks"}', size=7),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    # then it is parsed (not taken for an empty body: "Missing required property")
    assert response.status_code == HTTPStatus.OK, response.text
    assert Role.objects.get(tenant=served.tenant).description == "Sent in chunks"
