"""One JSON line per request, request ids in and out, no 4xx warning lines, 5xx tracebacks as JSON
with the request id, and nothing secret in any line: over real HTTP, on the test server (the full
middleware stack) and on the production server (the lean token path, its real stdout)."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from http import HTTPStatus

import pytest
import requests

from apps.core import health, ttlcache
from tests.conftest import make_m2m_setup
from tests.factories import TenantFactory
from tests.ops.conftest import VIA_INGRESS
from tests.ops.urls_failing import FAILURE_MESSAGE

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def log_records() -> Iterator[Callable[[], list[dict]]]:
    """What the configured stdout handler (settings.LOGGING: JSON formatter, request-id filter)
    writes during the test, as parsed records; every line must be one JSON object."""
    handler = logging.getHandlerByName("stdout")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    handler.setStream(previous)


def request_lines(records: list[dict]) -> list[dict]:
    return [record for record in records if record["logger"] == "portcullis.request"]


def test_each_request_writes_one_json_line(http, log_records):
    # given
    tenant = TenantFactory()
    path = f"/t/{tenant.slug}/.well-known/openid-configuration"

    # when
    response = http.get(path, params={"state": "query-value-never-logged"})

    # then
    assert response.status_code == HTTPStatus.OK
    request_id = response.headers["X-Request-ID"]
    assert GENERATED_ID.fullmatch(request_id)
    (line,) = log_records()
    duration = line.pop("duration_ms")
    assert isinstance(duration, float) and 0 <= duration < 10_000
    assert line.pop("time").endswith("Z")
    assert line == {
        "level": "INFO",
        "logger": "portcullis.request",
        "message": f"GET {path} 200",
        "request_id": request_id,
        "method": "GET",
        "path": path,
        "status": 200,
        "tenant": tenant.slug,
        "client_id": None,
    }
    assert "query-value-never-logged" not in json.dumps(log_records())


def test_a_sane_incoming_request_id_is_kept_and_returned(http, db, log_records):
    # when
    response = http.get("/health/alive", headers={"X-Request-ID": "trace-42:span.7_a/b+c=@x"})

    # then
    assert response.headers["X-Request-ID"] == "trace-42:span.7_a/b+c=@x"
    assert [line["request_id"] for line in log_records()] == ["trace-42:span.7_a/b+c=@x"]


@pytest.mark.parametrize(
    "incoming",
    ["x" * 129, "two words", 'quo"te', "semi;colon", "comma,list", "<script>", "%0d%0aSet-Cookie"],
)
def test_an_insane_incoming_request_id_is_replaced(http, db, log_records, incoming):
    # when
    response = http.get("/health/alive", headers={"X-Request-ID": incoming})

    # then: a generated one, the same in the answer and the log line
    request_id = response.headers["X-Request-ID"]
    assert request_id != incoming and GENERATED_ID.fullmatch(request_id)
    assert [line["request_id"] for line in log_records()] == [request_id]


def test_each_request_gets_its_own_id(http, db, log_records):
    ids = {http.get("/health/alive").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/t/no-such-tenant/authorize", HTTPStatus.NOT_FOUND),  # answered by the tenant middleware
        ("/no/such/page", HTTPStatus.NOT_FOUND),  # Http404 from the resolver
        ("/t/{tenant}/api/v2/clients", HTTPStatus.UNAUTHORIZED),  # the Management API, no token
    ],
)
def test_a_4xx_writes_the_request_line_only(http, db, log_records, path, status):
    # given
    path = path.format(tenant=TenantFactory().slug)

    # when
    response = http.get(path, allow_redirects=False)

    # then: no "Not Found: ..." / "Unauthorized: ..." warning from django.request, only the request line
    assert response.status_code == status
    records = log_records()
    assert [record["logger"] for record in records] == ["portcullis.request"]
    assert records[0]["status"] == response.status_code


def test_a_4xx_from_an_exception_writes_the_request_line_only(http, db, settings, log_records):
    # given a view that refuses by raising (Django logs those while the request is being handled)
    settings.ROOT_URLCONF = "tests.ops.urls_failing"

    # when
    response = http.get("/forbidden")

    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert [(r["logger"], r["status"]) for r in log_records()] == [("portcullis.request", 403)]


def test_a_host_not_in_allowed_hosts_is_one_warning_line_without_a_traceback(http, db, log_records):
    # given a Host header this server does not serve (a scanner's, or a proxy left unconfigured)
    tenant = TenantFactory()

    # when
    response = http.get(f"/t/{tenant.slug}/.well-known/jwks.json", headers={"Host": "not-ours.example"})

    # then: the request line, and one warning that says which Host and which setting, no traceback
    assert response.status_code == HTTPStatus.BAD_REQUEST
    records = log_records()
    assert [(r["logger"], r["level"]) for r in records] == [
        ("django.security.DisallowedHost", "WARNING"),
        ("portcullis.request", "INFO"),
    ]
    refusal, line = records
    assert "not-ours.example" in refusal["message"] and "ALLOWED_HOSTS" in refusal["message"]
    assert "exception" not in refusal
    assert refusal["request_id"] == line["request_id"] == response.headers["X-Request-ID"]
    assert line["status"] == HTTPStatus.BAD_REQUEST


def test_a_5xx_answer_without_an_exception_is_logged_once_with_its_request_id(
    http, db, monkeypatch, log_records
):
    # given a readiness check that fails (the probe answers 503 on purpose, no exception escapes)
    def unreachable() -> None:
        raise ConnectionRefusedError("database down")

    monkeypatch.setattr(health, "database_check", unreachable)
    monkeypatch.setattr(ttlcache, "last_load_at", 0.0)  # a process with nothing cached to serve

    # when
    response = http.get("/health/ready", headers={"X-Request-ID": "probe-503"})

    # then: the check's warning and the request line, both with the request id; no second
    # "Service Unavailable: /health/ready" line from Django's handler, outside the request
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    records = log_records()
    assert [(r["logger"], r["level"]) for r in records] == [
        ("apps.core.health", "WARNING"),
        ("portcullis.request", "INFO"),
    ]
    assert {r["request_id"] for r in records} == {"probe-503"}
    assert records[0]["message"] == "readiness check database failed: ConnectionRefusedError: database down"


def test_a_5xx_traceback_is_one_json_line_with_the_request_id(http, db, settings, log_records):
    # given a view that raises
    settings.ROOT_URLCONF = "tests.ops.urls_failing"

    # when
    response = http.get("/fail", headers={"X-Request-ID": "failing-request-1"})

    # then
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.headers["X-Request-ID"] == "failing-request-1"
    error, line = log_records()
    assert error["logger"] == "django.request" and error["level"] == "ERROR"
    assert error["request_id"] == "failing-request-1"
    assert error["message"] == "Internal Server Error: /fail"
    assert error["status_code"] == 500
    assert error["exception"].startswith("Traceback (most recent call last):")
    assert error["exception"].endswith(f"RuntimeError: {FAILURE_MESSAGE}")
    assert "request" not in error  # Django passes the HttpRequest object: never serialised
    assert line["logger"] == "portcullis.request" and line["status"] == 500
    assert line["request_id"] == "failing-request-1"


def test_request_lines_can_be_turned_off(http, db, log_records):
    # given REQUEST_LOG=false (the request logger above INFO)
    logger = logging.getLogger("portcullis.request")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        # when
        response = http.get("/health/alive")
    finally:
        logger.setLevel(level)

    # then: still an id for the caller, no line
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])
    assert log_records() == []


# --- The token endpoint on the production server (lean path) -----------------------------------


@pytest.fixture
def committed_m2m(transactional_db):
    """An M2M client the separate server process can read (committed; flushed after the test)."""
    return make_m2m_setup()


def test_a_token_request_line_names_the_client_and_holds_no_secret(image_server, committed_m2m):
    # given a client posting its secret (and, needlessly, a password) in the body
    m2m = committed_m2m
    request_id = f"token-{uuid.uuid4().hex}"
    form = m2m.form(password="correct-horse-battery-staple")

    # when
    response = requests.post(
        image_server.url(m2m.token_path()),
        data=form,
        headers=VIA_INGRESS | {"X-Request-ID": request_id},
        timeout=10,
    )

    # then
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.headers["X-Request-ID"] == request_id
    (line,) = image_server.records_of(request_id)
    assert {key: line[key] for key in ("method", "path", "status", "tenant", "client_id")} == {
        "method": "POST",
        "path": m2m.token_path(),
        "status": 200,
        "tenant": m2m.tenant.slug,
        "client_id": m2m.client_id,
    }
    output = image_server.output()
    for secret in (m2m.client_secret, "correct-horse-battery-staple", response.json()["access_token"]):
        assert secret not in output


def test_credentials_in_the_query_or_a_header_never_reach_the_log(image_server, committed_m2m):
    # given credentials where no client should put them (the query string) and in Basic auth
    m2m = committed_m2m
    basic = base64.b64encode(f"{m2m.client_id}:{m2m.client_secret}".encode()).decode()
    in_query = f"query-{uuid.uuid4().hex}"
    in_header = f"basic-{uuid.uuid4().hex}"

    # when
    refused = requests.post(
        image_server.url(m2m.token_path()),
        params={"client_secret": m2m.client_secret, "access_token": "a-token-in-the-url"},
        data={"grant_type": "client_credentials", "audience": m2m.api.identifier},
        headers=VIA_INGRESS | {"X-Request-ID": in_query},
        timeout=10,
    )
    basic_auth = requests.post(
        image_server.url(m2m.token_path()),
        data={"grant_type": "client_credentials", "audience": m2m.api.identifier},
        headers=VIA_INGRESS | {"X-Request-ID": in_header, "Authorization": f"Basic {basic}"},
        timeout=10,
    )

    # then both are logged, by path only, and the client named where it was identified
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    (query_line,) = image_server.records_of(in_query)
    assert query_line["path"] == m2m.token_path() and query_line["status"] == 400
    (header_line,) = image_server.records_of(in_header)
    assert header_line["status"] == basic_auth.status_code
    assert header_line["client_id"] == m2m.client_id
    output = image_server.output()
    for secret in (m2m.client_secret, basic, "a-token-in-the-url"):
        assert secret not in output
