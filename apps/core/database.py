"""Creating the PostgreSQL database named by ``DATABASE_URL`` when it does not exist yet.

``make run`` calls ``manage.py ensure_database`` before ``migrate``: a new operator who points
``DATABASE_URL`` at a database they have not created gets it created (as ``createdb`` would,
through the server's ``postgres`` maintenance database), and one whose server is down or whose
user may not create databases gets one line saying what to do instead of a traceback.
"""

from __future__ import annotations

import psycopg
from django.db import connections
from psycopg import sql

MAINTENANCE_DATABASE = "postgres"

MSG_UNREACHABLE = (
    "Cannot connect to PostgreSQL at {where} as {user!r}: {reason}. "
    "Start PostgreSQL, or fix DATABASE_URL's host, port, user or password, then run this again."
)
MSG_CANNOT_CONNECT = (
    "Database {name!r} exists at {where} but {user!r} cannot connect to it: {reason}. "
    "Fix DATABASE_URL or the user's rights, then run this again."
)
MSG_CANNOT_CREATE = (
    "Database {name!r} does not exist at {where} and {user!r} cannot create it: {reason}. "
    "Create it (createdb -h {host} -p {port} -U <a user who may> -O {user} {name}) or grant CREATEDB, "
    "then run this again."
)


class DatabaseUnavailable(Exception):
    """The database cannot be reached or created; the message (one line) says what to do."""


def _reason(error: Exception) -> str:
    """The first line of a driver error (libpq adds hints on further lines)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0].removeprefix("connection failed: ") if lines else type(error).__name__


def database_ensure(*, alias: str = "default") -> bool:
    """Create the database of ``alias`` if it does not exist; True if it was created.

    Not PostgreSQL (the SQLite demo creates its file on first use): nothing to do. Raises
    ``DatabaseUnavailable`` when the server cannot be reached, the database exists but refuses
    the user, or it is missing and cannot be created.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return False
    params = connection.get_connection_params()
    name = params["dbname"]
    host, port = params.get("host") or "localhost", params.get("port") or 5432
    user = params.get("user") or "(default user)"
    where = f"{host}:{port}"
    try:
        psycopg.connect(**params).close()
        return False
    except psycopg.Error as error:
        target_error = error
    try:
        maintenance = psycopg.connect(**(params | {"dbname": MAINTENANCE_DATABASE}), autocommit=True)
    except psycopg.Error as error:
        raise DatabaseUnavailable(
            MSG_UNREACHABLE.format(where=where, user=user, reason=_reason(error))
        ) from None
    with maintenance:
        if maintenance.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            raise DatabaseUnavailable(
                MSG_CANNOT_CONNECT.format(name=name, where=where, user=user, reason=_reason(target_error))
            )
        try:
            maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False  # created meanwhile by another process
        except psycopg.Error as error:
            raise DatabaseUnavailable(
                MSG_CANNOT_CREATE.format(
                    name=name, where=where, user=user, host=host, port=port, reason=_reason(error)
                )
            ) from None
    return True
