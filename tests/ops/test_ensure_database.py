"""``manage.py ensure_database`` (what ``make run`` runs before ``migrate``): creates the database
named by DATABASE_URL when it is missing, or says in one line what to do. Run as make runs it: a
separate process with its own environment."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests.ops.servers import ROOT, closed_port, database_url, server_env


def ensure_database(url: str) -> subprocess.CompletedProcess:
    env = server_env({"DATABASE_URL": url, "DEBUG": "true"})
    return subprocess.run(
        [sys.executable, "manage.py", "ensure_database"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def database_exists(name: str) -> bool:
    with psycopg.connect(database_url("postgres")) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _admin(statement: sql.Composable) -> None:
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(statement)


@pytest.fixture
def missing_database(django_db_setup) -> Iterator[str]:
    """A database name that does not exist yet; dropped afterwards if something created it."""
    name = f"portcullis_ops_ensure_{uuid.uuid4().hex[:12]}"
    assert not database_exists(name)
    yield name
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def role_without_createdb(django_db_setup) -> Iterator[str]:
    """A login role that may not create databases (dropped afterwards)."""
    role = f"portcullis_ops_nocreate_{uuid.uuid4().hex[:8]}"
    _admin(sql.SQL("CREATE ROLE {} LOGIN NOCREATEDB").format(sql.Identifier(role)))
    yield role
    _admin(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_a_missing_database_is_created(missing_database):
    # when
    result = ensure_database(database_url(missing_database))

    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Created database {missing_database}"
    assert database_exists(missing_database)


def test_an_existing_database_is_left_alone_silently(missing_database):
    # given a database that exists (created by a first run)
    assert ensure_database(database_url(missing_database)).returncode == 0

    # when it runs again
    result = ensure_database(database_url(missing_database))

    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""


def test_an_unreachable_server_gets_one_line_and_no_traceback():
    # given nothing listening where DATABASE_URL points
    port = closed_port()

    # when
    result = ensure_database(f"postgres://postgres@127.0.0.1:{port}/portcullis")

    # then
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        f"CommandError: Cannot connect to PostgreSQL at 127.0.0.1:{port} as 'postgres': "
    )
    assert "Connection refused" in lines[0]
    assert lines[0].endswith(
        "Start PostgreSQL, or fix DATABASE_URL's host, port, user or password, then run this again."
    )
    assert "Traceback" not in result.stderr


def test_a_user_who_may_not_create_databases_is_told_how(missing_database, role_without_createdb):
    # when
    result = ensure_database(
        database_url(missing_database).replace("//postgres@", f"//{role_without_createdb}@")
    )

    # then
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"Database '{missing_database}' does not exist" in lines[0]
    assert f"'{role_without_createdb}' cannot create it: permission denied to create database" in lines[0]
    assert (
        f"createdb -h 127.0.0.1 -p 5432 -U <a user who may> -O {role_without_createdb} {missing_database}"
        in lines[0]
    )
    assert not database_exists(missing_database)


def test_the_demo_database_sqlite_needs_nothing(tmp_path):
    # given no DATABASE_URL (the SQLite demo)
    env = server_env({"DEBUG": "true", "PORTCULLIS_VAR_DIR": str(tmp_path)})

    # when
    result = subprocess.run(
        [sys.executable, "manage.py", "ensure_database"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
