"""A fake deny-list feed served over real HTTP, and a clock the tests can advance.

The feed follows the issuer's contract (``GET <ISSUER>oauth/deny-list?audience=...``: JSON with
``audience``, ``denied`` and ``refresh_interval``, a strong ETag, 304 on ``If-None-Match``) so
the kit is exercised through urllib and a socket exactly as against Portcullis, and each test
can break it in one precise way (an error status, a body that is not a deny list, a slow answer,
no server at all).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from apps.resource_kit import deny_list

FEED_PATH = "/t/fake/oauth/deny-list"


class FakeClock:
    """A clock that stands still until the test moves it: refresh schedules jump, nothing sleeps.

    ``monotonic`` starts at an exact round number so sums of the (half-)second steps tests take
    compare exactly; ``time`` starts at the real Unix time, so token ``exp`` values stay realistic.
    """

    def __init__(self) -> None:
        self._monotonic = 1000.0
        self._time = float(int(time.time()))

    def monotonic(self) -> float:
        return self._monotonic

    def time(self) -> float:
        return self._time

    def advance(self, seconds: float) -> None:
        self._monotonic += seconds
        self._time += seconds


@dataclass
class FakeDenyListFeed:
    """The deny-list feed of one API on 127.0.0.1; tests change its fields between requests."""

    audience: str
    denied: list[dict[str, Any]] = field(default_factory=list)
    status: HTTPStatus = HTTPStatus.OK  # anything else: an error JSON with this status
    raw_body: bytes | None = None  # served as is (with status 200) instead of the deny list
    redirect_to: str | None = None  # answer 302 to this location
    gate: threading.Event | None = None  # when set, every request waits for it before answering
    requests: list[dict[str, str]] = field(default_factory=list)  # headers of each request, in order
    entered: threading.Event = field(default_factory=threading.Event)  # set when a request arrives
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{FEED_PATH}?{urlencode({'audience': self.audience})}"

    @property
    def hits(self) -> int:
        return len(self.requests)

    def deny(self, jti: str, *, exp: float | None = None) -> None:
        """Publish ``jti`` (expiring in ten minutes unless ``exp`` says otherwise)."""
        self.denied.append({"jti": jti, "exp": int(exp if exp is not None else time.time() + 600)})

    def body(self) -> bytes:
        return json.dumps(
            {"audience": self.audience, "denied": self.denied, "refresh_interval": 30},
            separators=(",", ":"),
        ).encode()

    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body()).hexdigest()[:32] + '"'

    def start(self) -> FakeDenyListFeed:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed.requests.append(dict(self.headers.items()))
                feed.entered.set()
                if feed.gate is not None:
                    feed.gate.wait(timeout=30)
                query = parse_qs(urlsplit(self.path).query)
                if feed.redirect_to:
                    self._send(HTTPStatus.FOUND, b"", {"Location": feed.redirect_to})
                elif feed.status != HTTPStatus.OK:
                    error = {"error": "server_error", "error_description": "The feed is down."}
                    self._send(feed.status, json.dumps(error).encode())
                elif feed.raw_body is not None:
                    self._send(HTTPStatus.OK, feed.raw_body)
                elif query.get("audience") != [feed.audience]:
                    error = {"error": "invalid_request", "error_description": "Unknown audience."}
                    self._send(HTTPStatus.NOT_FOUND, json.dumps(error).encode())
                elif self.headers.get("If-None-Match") == feed.etag():
                    self._send(HTTPStatus.NOT_MODIFIED, b"", {"ETag": feed.etag()})
                else:
                    headers = {"ETag": feed.etag(), "Cache-Control": "public, max-age=30"}
                    self._send(HTTPStatus.OK, feed.body(), headers)

            def _send(self, status: HTTPStatus, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if status != HTTPStatus.NOT_MODIFIED:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Take the feed off the network: further fetches get "connection refused"."""
        if self.gate is not None:
            self.gate.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def deny_list_feed() -> Iterator[FakeDenyListFeed]:
    """A feed for the audience ``https://api.example.com``; re-point ``audience`` as needed."""
    feed = FakeDenyListFeed(audience="https://api.example.com").start()
    yield feed
    feed.stop()


@pytest.fixture
def fake_clock(monkeypatch) -> FakeClock:
    """Deny-list caches created from now on, and PyJWT's JWK Set cache, run on a clock the test advances.

    PyJWT's key-set cache stamps a fetch and tests its lifespan with ``time.monotonic()`` in two
    modules; both see the fake clock, so advancing it past ``JWKS_LIFESPAN`` expires the cached
    keys exactly as time would. (Its refetch cooldown keeps the real clock.) If PyJWT stops
    reading the clock there, ``setattr`` raises and the test says so rather than passing.
    """
    clock = FakeClock()
    monkeypatch.setattr(deny_list, "clock", clock)
    monkeypatch.setattr("jwt.jwk_set_cache.time", clock)
    monkeypatch.setattr("jwt.api_jwk.time", clock)
    deny_list.clear_deny_list_cache()
    return clock
