"""The WSGI entry point sends exactly the lean URLconf's paths to the lean handler."""

from __future__ import annotations

import io
from http import HTTPStatus

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from apps.core.handlers import RoutedWSGIHandler, lean_path_re


def wsgi_post(handler, path: str, body: bytes) -> tuple[str, dict, bytes]:
    captured: dict = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, dict(headers)

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    response = handler(environ, start_response)
    try:
        content = b"".join(response)
    finally:
        if hasattr(response, "close"):  # as a WSGI server does (PEP 3333: if the iterable has one)
            response.close()
    return captured["status"], captured["headers"], content


@pytest.mark.parametrize(
    ("path", "lean"),
    [
        ("/t/demo/oauth/token", True),
        ("/healthz", True),
        ("/t/demo/oauth/revoke", False),
        ("/t/demo/authorize", False),
        ("/t/demo/oauth/token/", False),
    ],
)
def test_lean_paths_come_from_the_lean_urlconf(path, lean):
    assert bool(lean_path_re().match(path)) is lean


@pytest.fixture
def _keep_test_connection():
    """As Django's test client does: a request must not close the test's (transactional) connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_a_token_request_goes_through_the_lean_handler(m2m, monkeypatch, _keep_test_connection):
    # given the production WSGI application
    handler = RoutedWSGIHandler()
    calls = []
    real_lean = handler.lean
    monkeypatch.setattr(
        handler,
        "lean",
        lambda environ, start: calls.append(environ["PATH_INFO"]) or real_lean(environ, start),
    )
    body = "&".join(f"{key}={value}" for key, value in m2m.form().items()).encode()
    # when a client asks for a token
    status, headers, content = wsgi_post(handler, m2m.token_path(), body)
    # then the lean handler served it, with no session, CSRF or CSP middleware on the way
    assert calls == [m2m.token_path()]
    assert status.startswith(str(int(HTTPStatus.OK))), content
    assert "Content-Security-Policy" not in headers and "Set-Cookie" not in headers


def test_the_lean_handler_hands_the_body_over_whole_and_finishes_the_request(m2m, _keep_test_connection):
    # given the lean handler, and receivers counting Django's request signals
    handler = RoutedWSGIHandler()
    sent = []

    def started(**kwargs):
        sent.append("started")

    def finished(**kwargs):
        sent.append("finished")

    request_started.connect(started)
    request_finished.connect(finished)
    body = "&".join(f"{key}={value}" for key, value in m2m.form().items()).encode()
    captured = {}
    try:
        # when a token is asked for
        result = handler(
            {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": m2m.token_path(),
                "QUERY_STRING": "",
                "CONTENT_TYPE": "application/x-www-form-urlencoded",
                "CONTENT_LENGTH": str(len(body)),
                "SERVER_NAME": "127.0.0.1",
                "SERVER_PORT": "8000",
                "HTTP_HOST": "127.0.0.1",
                "wsgi.input": io.BytesIO(body),
                "wsgi.url_scheme": "http",
                "wsgi.errors": io.StringIO(),
            },
            lambda status, headers, exc_info=None: captured.update(status=status, headers=dict(headers)),
        )
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    # then the body is one bytes object in a list (a server sends it in one call), the response
    # was already closed (request_finished sent once), and request_started was not sent (the
    # lean handler's documented bypass: apps.core.handlers.LeanWSGIHandler)
    assert isinstance(result, list) and len(result) == 1 and b"access_token" in result[0]
    assert captured["status"].startswith("200 ")
    assert sent == ["finished"]


def test_memoised_url_matches_stay_per_path(db, _keep_test_connection):
    # given a lean handler whose memo holds at most two paths
    handler = RoutedWSGIHandler()
    handler.lean.MAX_MEMOISED_PATHS = 2
    paths = ["/healthz", "/t/one/oauth/token", "/t/two/oauth/introspect", "/healthz"]
    # when requests for several paths go through it
    names = []
    for path in paths:
        request = handler.lean.request_class(
            {"REQUEST_METHOD": "GET", "PATH_INFO": path, "wsgi.input": io.BytesIO(b"")}
        )
        names.append(handler.lean.resolve_request(request).url_name)
    # then each path resolved to its own route, and the memo never grew past its bound
    assert names == ["healthz", "token", "introspect", "healthz"]
    assert len(handler.lean._matches) <= 2
