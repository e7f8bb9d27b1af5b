"""/health/alive and /health/ready over real HTTP: on the test server, and on production server
processes whose database, cache or migrations are missing."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from http import HTTPStatus

import psycopg
import pytest
import requests
from django.db import OperationalError, connection
from django.test import RequestFactory

from apps.core import health, ttlcache
from apps.core.handlers import lean_path_re
from tests.ops.deployfiles import manifest
from tests.ops.servers import ROOT, closed_port, database_url, python_argv, running_server, server_env

ALL_OK = {"status": "ok", "checks": {"database": "ok", "cache": "ok", "migrations": "ok"}}


def test_alive_and_ready_answer_ok_when_everything_is_there(http, db):
    # when
    alive = http.get("/health/alive")
    ready = http.get("/health/ready")

    # then
    assert alive.status_code == HTTPStatus.OK
    assert alive.json() == {"status": "ok"}
    assert ready.status_code == HTTPStatus.OK, ready.text
    assert ready.json() == ALL_OK
    assert alive.headers["Cache-Control"] == ready.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "lean"),
    [("/health/alive", True), ("/health/ready", True), ("/health/alive/", False), ("/health/other", False)],
)
def test_the_probes_are_served_by_the_lean_handler(path, lean):
    assert bool(lean_path_re().match(path)) is lean


def test_an_unknown_path_under_health_is_a_json_404(http, db):
    response = http.get("/health/other")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["error"] == "not_found"


def test_the_image_server_is_ready_and_answers_probes_for_any_host(image_server):
    # given the production server (ALLOWED_HOSTS is the public name only); an orchestrator probes the
    # pod by its IP address, which no ALLOWED_HOSTS lists
    probe_host = {"Host": "10.1.2.3:8000"}

    # when
    alive = requests.get(image_server.url("/health/alive"), headers=probe_host, timeout=10)
    ready = requests.get(image_server.url("/health/ready"), headers=probe_host, timeout=10)

    # then: answered, not refused as a disallowed host, nor redirected to https (HTTPS=true)
    assert alive.status_code == HTTPStatus.OK, alive.text
    assert ready.status_code == HTTPStatus.OK, ready.text
    assert ready.json() == ALL_OK


def test_the_deployment_probes_the_health_endpoints():
    container = manifest("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/alive"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["startupProbe"]["httpGet"]["path"] == "/health/alive"


# --- Production servers with something missing -------------------------------------------------


def test_without_its_database_the_server_is_alive_but_not_ready(production_env, tmp_path):
    # given a server whose database does not answer (nothing listens on its port)
    env = production_env | {"DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/portcullis"}
    with running_server(tmp_path / "server.log", env) as server:
        request_id = f"probe-{uuid.uuid4().hex}"

        # when
        alive = requests.get(server.url("/health/alive"), timeout=10)
        started = time.monotonic()
        ready = requests.get(server.url("/health/ready"), headers={"X-Request-ID": request_id}, timeout=10)
        elapsed = time.monotonic() - started

        # then
        assert alive.status_code == HTTPStatus.OK
        assert ready.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        assert ready.json() == {
            "status": "unavailable",
            "failed": ["database"],
            "checks": {"database": "failed", "cache": "ok", "migrations": "skipped"},
        }
        assert elapsed < 5  # HEALTH_CHECK_TIMEOUT_SECONDS bounds it; a refused port answers at once
        # and the reason is in the server's log, on a JSON line with the probe's request id
        warnings = [r for r in server.records_of(request_id) if r["logger"] == "apps.core.health"]
        assert len(warnings) == 1
        assert warnings[0]["level"] == "WARNING"
        assert warnings[0]["message"].startswith("readiness check database failed: OperationalError")


def test_without_its_cache_the_server_is_not_ready(production_env, tmp_path):
    # given a server whose Redis does not answer
    env = production_env | {"REDIS_URL": f"redis://127.0.0.1:{closed_port()}/10"}
    with running_server(tmp_path / "server.log", env) as server:
        # when
        ready = requests.get(server.url("/health/ready"), timeout=10)

        # then
        assert ready.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        assert ready.json() == {
            "status": "unavailable",
            "failed": ["cache"],
            "checks": {"database": "ok", "cache": "failed", "migrations": "ok"},
        }


@pytest.fixture
def empty_database(django_db_setup) -> Iterator[str]:
    """A new, empty database on the test server (no migration applied), dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_empty_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    yield name
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(name))
        )


def test_the_server_is_ready_once_the_migration_job_has_run(production_env, empty_database, tmp_path):
    # given a server on a database without its tables (a release rolled out before its migrations)
    env = production_env | {"DATABASE_URL": database_url(empty_database)}
    with running_server(tmp_path / "server.log", env) as server:
        # when it is probed
        before = requests.get(server.url("/health/ready"), timeout=10)

        # then it is not ready, for that reason only
        assert before.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        assert before.json()["failed"] == ["migrations"]
        assert before.json()["checks"] == {"database": "ok", "cache": "ok", "migrations": "unapplied"}

        # when the migration Job's command runs, with the Job's environment
        job = manifest("Job")["spec"]["template"]["spec"]["containers"][0]
        job_env = env | {item["name"]: item["value"] for item in job["env"]}
        migrate = subprocess.run(
            python_argv(job["command"]), cwd=ROOT, env=server_env(job_env), capture_output=True, timeout=180
        )
        assert migrate.returncode == 0, migrate.stderr[-2000:]

        # then the same server becomes ready, without a restart
        after = requests.get(server.url("/health/ready"), timeout=10)
        assert after.status_code == HTTPStatus.OK, after.text
        assert after.json() == ALL_OK


# --- The migration check is read once ----------------------------------------------------------


def test_applied_migrations_are_not_read_again(db, monkeypatch):
    # given a process that has seen every migration applied
    monkeypatch.setattr(health, "_migrations_applied", False)
    assert health.unapplied_migrations() == 0

    # when the migration graph could no longer be read
    def unreadable(*args, **kwargs):
        raise AssertionError("the migration graph was read again")

    monkeypatch.setattr(health, "MigrationExecutor", unreadable)

    # then the answer comes from memory
    assert health.unapplied_migrations() == 0


def test_a_process_serving_from_its_cache_stays_ready_through_a_database_outage(db, monkeypatch, settings):
    # given a process that loaded configuration a moment ago, and a database that stops answering
    settings.CONFIG_STALE_IF_ERROR_SECONDS = 60
    monkeypatch.setattr(ttlcache, "last_load_at", time.monotonic() - 5)
    monkeypatch.setattr(health, "database_check", _refused)

    # when the orchestrator asks, then it stays in the Service and says why it is degraded
    response = health.health_ready(RequestFactory().get("/health/ready"))
    assert response.status_code == HTTPStatus.OK
    assert json.loads(response.content)["status"] == "degraded"
    assert json.loads(response.content)["checks"]["database"] == "unreachable"

    # and once its cache is older than the window, it is not ready any more
    monkeypatch.setattr(ttlcache, "last_load_at", time.monotonic() - 61)
    response = health.health_ready(RequestFactory().get("/health/ready"))
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert json.loads(response.content)["failed"] == ["database"]


def _refused() -> None:
    raise OperationalError("connection refused")
