"""Management API bodies sent without ``Content-Length`` (``Transfer-Encoding: chunked``), over real
HTTP against the production server (``config.serve``: granian, as ``make run`` serves).

Django's test server cannot carry such a body (it reads ``Content-Length`` bytes and no more), so
these tests start ``config.serve`` on the test database (data committed: ``transactional_db``).
A chunked body is read up to the upload limit: a bigger one is 413 in Auth0's shape, and one that
fits is parsed like any other (before, it was silently taken for an empty body).
"""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus

import pytest
from django.conf import settings

from apps.accounts.models import Role
from tests.conftest import LiveSession
from tests.management.conftest import management_session
from tests.management.test_users import assert_error
from tests.ops.servers import database_url, running_server


def _chunked(data: bytes, size: int = 4096) -> Iterator[bytes]:
    """``data`` as a generator: requests then sends it chunked, without Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory) -> Iterator[LiveSession]:
    """``python -m config.serve`` (one worker) on the test database, for this module's tests."""
    env = {"DATABASE_URL": database_url(), "DEBUG": "true", "SECRET_KEY": settings.SECRET_KEY}
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with running_server(log_path, env) as running, LiveSession(running.base_url) as session:
        yield session


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
