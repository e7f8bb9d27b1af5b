"""The production settings: `check --deploy` is clean for the documented production environment
(and only for it), the database and cache limits reach the drivers, HTTPS turns on the redirect,
HSTS, Secure cookies and CSP's upgrade-insecure-requests (checked over real HTTP on the server the
image runs), and access tokens are refused in URLs."""

from __future__ import annotations

import json
import re
import secrets
import shlex
import subprocess
import sys
from http import HTTPStatus

import pytest
import requests
from cryptography.fernet import Fernet

from config.serve import SERVER_STATEMENT_TIMEOUT_MS, server_environ
from tests.ops.conftest import PUBLIC_HOST, VIA_INGRESS
from tests.ops.deployfiles import configmap_env, secret_env
from tests.ops.servers import ROOT, database_url, random_secret_key, server_env


def makefile_production_env() -> dict[str, str]:
    """The environment `make test` runs `check --deploy` with (Makefile PRODUCTION_ENV)."""
    match = re.search(r"^PRODUCTION_ENV := (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, "Makefile defines PRODUCTION_ENV"
    return dict(item.split("=", 1) for item in shlex.split(match.group(1)))


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    """`manage.py check --deploy --fail-level WARNING` in a new process with ``env`` (and, unless
    ``env`` names one, the test database: model checks read the server's version)."""
    env = {"DATABASE_URL": database_url()} | env
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=server_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_with_settings(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a new process whose settings come from ``env`` (django set up first)."""
    prelude = "import django, json; django.setup(); from django.conf import settings\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=ROOT,
        env=server_env(env | {"DJANGO_SETTINGS_MODULE": "config.settings"}),
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- manage.py check --deploy ---------------------------------------------------------------


def test_the_makefile_production_env_passes_check_deploy(django_db_setup):
    # when
    result = check_deploy(makefile_production_env() | {"SECRET_KEY": random_secret_key()})

    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_kubernetes_settings_pass_check_deploy_once_the_placeholders_are_replaced(django_db_setup):
    # given deploy/'s ConfigMap, and its Secret with real values
    secrets_ = secret_env() | {
        "SECRET_KEY": random_secret_key(),
        "DATABASE_URL": database_url(),
        "CLIENT_SECRET_HASH_KEY": secrets.token_hex(32),
        "KEY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }

    # when
    with_real_secrets = check_deploy(configmap_env() | secrets_)
    with_placeholders = check_deploy(configmap_env() | secret_env())

    # then: the placeholders do not pass (a short SECRET_KEY, no Fernet key)
    assert with_real_secrets.returncode == 0, with_real_secrets.stdout + with_real_secrets.stderr
    assert with_placeholders.returncode != 0
    assert "security.W009" in with_placeholders.stderr
    assert "tenants.E001" in with_placeholders.stderr


def test_the_makefile_env_is_the_kubernetes_one():
    assert makefile_production_env().items() <= configmap_env().items()


def test_check_deploy_fails_without_https(django_db_setup):
    # given a production process that was not told it sits behind HTTPS
    env = makefile_production_env() | {"SECRET_KEY": random_secret_key(), "HTTPS": "false"}

    # when
    result = check_deploy(env)

    # then
    assert result.returncode != 0
    found = set(re.findall(r"\((security\.W\d+)\)", result.stderr))
    assert found == {"security.W004", "security.W008", "security.W012", "security.W016"}


# --- Database and cache limits -----------------------------------------------------------


def test_the_server_has_a_statement_timeout_by_default(image_server):
    # given the production environment of deploy/, which leaves DB_STATEMENT_TIMEOUT_MS unset
    assert "DB_STATEMENT_TIMEOUT_MS" not in configmap_env()

    # then the server process runs with the server's default
    assert image_server.environ()["DB_STATEMENT_TIMEOUT_MS"] == str(SERVER_STATEMENT_TIMEOUT_MS) == "15000"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "15000"),
        ({"DB_STATEMENT_TIMEOUT_MS": ""}, "15000"),
        ({"DB_STATEMENT_TIMEOUT_MS": "2500"}, "2500"),
    ],
)
def test_an_operator_may_set_the_servers_statement_timeout(environ, expected):
    assert server_environ(environ)["DB_STATEMENT_TIMEOUT_MS"] == expected


def test_postgres_cancels_a_statement_that_runs_too_long(django_db_setup):
    # given a process whose statement timeout is 300 ms
    env = {"DEBUG": "true", "DATABASE_URL": database_url(), "DB_STATEMENT_TIMEOUT_MS": "300"}
    code = (
        "from django.db import connection, OperationalError\n"
        "try:\n"
        "    connection.cursor().execute('SELECT pg_sleep(3)')\n"
        "    print('finished')\n"
        "except OperationalError as error:\n"
        "    print(type(error.__cause__).__name__)\n"
    )

    # when it runs a 3 s statement
    result = run_with_settings(env, code)

    # then Postgres cancelled it
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "QueryCanceled"


@pytest.mark.parametrize("value", ["0", None], ids=["the migration Job's 0", "unset"])
def test_commands_have_no_statement_timeout(django_db_setup, value):
    # given a manage.py-like process (the migration Job sets 0; a command run by hand sets nothing)
    env = {"DEBUG": "true", "DATABASE_URL": database_url()}
    if value is not None:
        env["DB_STATEMENT_TIMEOUT_MS"] = value
    code = (
        "from django.db import connection\n"
        "cursor = connection.cursor()\n"
        "cursor.execute(\"SELECT setting FROM pg_settings WHERE name = 'statement_timeout'\")\n"
        "print(cursor.fetchone()[0], json.dumps(settings.DATABASES['default']['OPTIONS'].get('options')))\n"
    )

    # when
    result = run_with_settings(env, code)

    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "null"]


def test_the_connection_settings_reach_the_driver():
    env = {
        "DEBUG": "true",
        "DATABASE_URL": "postgres://portcullis@db.example.internal:5432/portcullis",
        "CONN_MAX_AGE": "120",
        "DB_CONNECT_TIMEOUT": "3",
        "DB_STATEMENT_TIMEOUT_MS": "15000",
        "REDIS_URL": "redis://redis.example.internal:6379/0",
        "REDIS_TIMEOUT_SECONDS": "0.5",
    }
    code = (
        "from django.db import connection\n"
        "params = connection.get_connection_params()\n"
        "print(json.dumps({'connect_timeout': params['connect_timeout'], 'options': params['options'],"
        " 'conn_max_age': settings.DATABASES['default']['CONN_MAX_AGE'],"
        " 'health_checks': settings.DATABASES['default']['CONN_HEALTH_CHECKS'],"
        " 'cache': settings.CACHES['default']}))\n"
    )
    result = run_with_settings(env, code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "connect_timeout": 3,
        "options": "-c statement_timeout=15000",
        "conn_max_age": 120,
        "health_checks": True,
        "cache": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://redis.example.internal:6379/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        },
    }


# --- HTTPS, over real HTTP on the image's server ----------------------------------------------


def test_pages_asked_for_over_http_are_redirected_to_https(image_server):
    # when the ingress says the client used plain http
    response = requests.get(
        image_server.url("/admin/login/"),
        headers={"Host": PUBLIC_HOST, "X-Forwarded-Proto": "http"},
        allow_redirects=False,
        timeout=10,
    )

    # then
    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response.headers["Location"] == f"https://{PUBLIC_HOST}/admin/login/"


def test_pages_over_https_carry_hsts_secure_cookies_and_csp(image_server):
    # when
    response = requests.get(image_server.url("/admin/login/"), headers=VIA_INGRESS, timeout=10)

    # then
    assert response.status_code == HTTPStatus.OK
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    csrf_cookie = next(cookie for cookie in response.cookies if cookie.name == "csrftoken")
    assert csrf_cookie.secure
    assert "upgrade-insecure-requests" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_token_endpoint_is_never_redirected(image_server):
    # when a client posts to the token endpoint over plain http
    response = requests.post(
        image_server.url("/t/no-such-tenant/oauth/token"),
        data={"grant_type": "client_credentials"},
        headers={"Host": PUBLIC_HOST, "X-Forwarded-Proto": "http"},
        allow_redirects=False,
        timeout=10,
    )

    # then it gets the endpoint's own answer, not a redirect that would hide the mistake
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("path", ["/static/admin/css/base.css", "/static/portcullis/page.css"])
def test_collected_static_files_are_served(image_server, path):
    response = requests.get(image_server.url(path), headers=VIA_INGRESS, timeout=10)
    assert response.status_code == HTTPStatus.OK
    assert response.headers["Content-Type"].startswith("text/css")
