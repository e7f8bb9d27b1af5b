"""The token endpoint's two reads of a presented credential, each one statement built once.

A refresh reads the presented refresh token with its access token and user; a code exchange
reads the code's row (locked: ``FOR UPDATE`` of that row only) with its user. Through the ORM,
``filter(...).select_related(...)`` costs ~1 ms of CPU per request to build and compile against
~0.2 ms to run its SQL (measured in-process), and these are the hottest user paths (``make
bench``'s refresh and code rows). So each statement is built once per process from the models'
metadata, and its row becomes model instances through ``Model.from_db`` with each field's
database converters applied, as the ORM's own iterator does: the instances are the ones the
queryset would have returned (a test compares them field by field).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, models

from apps.oauth.models import AccessToken, Grant, RefreshToken, checksum


@dataclass(frozen=True)  # no slots: ``fields`` is a cached property
class _Part:
    """One model's columns in the statement: its alias, its fields, and the FK that joins it."""

    alias: str
    model: type[models.Model]
    fk_column: str = ""  # on the main row; empty for the main row itself
    outer: bool = False  # LEFT OUTER JOIN (the related row may be gone)

    @functools.cached_property
    def fields(self) -> tuple[models.Field, ...]:
        return tuple(self.model._meta.concrete_fields)

    def instance(self, values: list) -> models.Model:
        converted = []
        for field, value in zip(self.fields, values, strict=True):
            for converter in field.get_db_converters(connection):
                value = converter(value, field, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, [field.attname for field in self.fields], converted)

    def pk_index(self) -> int:
        return next(i for i, field in enumerate(self.fields) if field.primary_key)


def _select(parts: tuple[_Part, ...], *, where: str, lock: bool) -> str:
    """``SELECT`` every column of ``parts`` (the first is the main row) ``WHERE`` ``where``.

    Only quoted identifiers from the models' metadata are formatted in; values are parameters.
    """
    qn = connection.ops.quote_name
    main = parts[0]
    columns = ", ".join(f"{part.alias}.{qn(field.column)}" for part in parts for field in part.fields)
    joins = " ".join(
        f"{'LEFT OUTER' if part.outer else 'INNER'} JOIN {qn(part.model._meta.db_table)} {part.alias} "
        f"ON {part.alias}.{qn(part.model._meta.pk.column)} = {main.alias}.{qn(part.fk_column)}"
        for part in parts[1:]
    )
    locking = f" FOR UPDATE OF {main.alias}" if lock and connection.features.has_select_for_update_of else ""
    return (
        f"SELECT {columns} FROM {qn(main.model._meta.db_table)} {main.alias} {joins} "  # noqa: S608
        f"WHERE {where} LIMIT 1{locking}"
    )


def _read(statement: tuple[str, tuple[_Part, ...]], params: list) -> list[models.Model | None] | None:
    """The main row's instance and its related ones (None for a missing outer row), or None."""
    sql, parts = statement
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    instances: list[models.Model | None] = []
    start = 0
    for part in parts:
        values = list(row[start : start + len(part.fields)])
        start += len(part.fields)
        instances.append(None if values[part.pk_index()] is None else part.instance(values))
    return instances


@functools.cache
def _refresh_token_statement() -> tuple[str, tuple[_Part, ...]]:
    qn = connection.ops.quote_name
    parts = (
        _Part("rt", RefreshToken),
        _Part("at", AccessToken, fk_column="access_token_id", outer=True),
        _Part("u", get_user_model(), fk_column="user_id"),
    )
    where = f"rt.{qn('tenant_id')} = %s AND rt.{qn('token_checksum')} = %s"
    return _select(parts, where=where, lock=False), parts


def refresh_token_read(*, tenant_id: int, token: str) -> RefreshToken | None:
    """This tenant's row for the presented refresh token, its access token (None if gone) and
    user loaded with it; None for an unknown token. One query on the unique ``token_checksum``."""
    found = _read(_refresh_token_statement(), [tenant_id, checksum(token)])
    if found is None:
        return None
    refresh_token, access_token, user = found
    refresh_token.access_token = access_token
    refresh_token.user = user
    return refresh_token


@functools.cache
def _code_statement() -> tuple[str, tuple[_Part, ...]]:
    qn = connection.ops.quote_name
    parts = (_Part("g", Grant), _Part("u", get_user_model(), fk_column="user_id"))
    return _select(parts, where=f"g.{qn('tenant_id')} = %s AND g.{qn('code')} = %s", lock=True), parts


def code_grant_read(*, tenant_id: int, code: str) -> Grant | None:
    """This tenant's row for an authorization code (stored as its SHA-256), with its user, locked
    ``FOR UPDATE`` of the code's row alone (not the user's) until the exchange's transaction
    ends, so two concurrent exchanges of one code cannot both succeed; None for an unknown code."""
    found = _read(_code_statement(), [tenant_id, checksum(code)])
    if found is None:
        return None
    grant, user = found
    grant.user = user
    return grant
