"""Writing a user token response's rows in one database round trip.

A refresh (or a code exchange) writes up to four rows: it retires the presented refresh token
and inserts the ID token, the access token and the next refresh token, each pointing at the one
before. Through the ORM that is four statements, each a round trip and a model save; this is the
token endpoint's hottest user path (``make bench``'s refresh row), so the writes go out as one
PostgreSQL statement of data-modifying CTEs (``WITH ... UPDATE/INSERT ... RETURNING``).

The rows are still the models' own: callers build unsaved instances as usual, the column values
come from each field's ``pre_save``/``get_db_prep_save`` (auto_now timestamps, UUIDs, FKs), and
the primary keys are set back on the instances. A retirement that finds the presented refresh
token already retired (a concurrent use) inserts nothing and reports it, so nothing is written
for a refused request.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db import connection, models, transaction

from apps.oauth.models import AccessToken, IDToken, RefreshToken


def _insert_columns(instance: models.Model) -> list[tuple[models.Field, object]]:
    """(field, database value) for every concrete column but the primary key, as ``save()`` would."""
    return [
        (field, field.get_db_prep_save(field.pre_save(instance, True), connection))
        for field in instance._meta.concrete_fields
        if not field.primary_key
    ]


@dataclass(frozen=True, slots=True)
class _Shape:
    retire: bool
    id_token: bool
    refresh: bool


@functools.cache
def _statement(
    shape: _Shape, id_columns: tuple[str, ...], at_columns: tuple[str, ...], rt_columns: tuple[str, ...]
):
    """The SQL for one shape of response (cached: a handful of shapes exist).

    The access token's ``id_token_id``/``source_refresh_token_id`` and the refresh token's
    ``access_token_id`` are taken from the CTEs that inserted (or retired) those rows; every
    insert runs only if the retirement succeeded (``FROM guard``).
    """
    # Only quoted identifiers from the models' metadata are formatted in; values are parameters.
    qn = connection.ops.quote_name
    parts = []
    if shape.retire:
        parts.append(
            f"guard AS (UPDATE {qn(RefreshToken._meta.db_table)} SET {qn('revoked')} = %s, {qn('updated')} = %s "  # noqa: S608
            f"WHERE {qn('id')} = %s AND {qn('revoked')} IS NULL RETURNING {qn('id')})"
        )
    else:
        parts.append(f"guard AS (SELECT NULL::bigint AS {qn('id')})")

    def insert(name: str, table: str, columns: tuple[str, ...], linked: dict[str, str]) -> str:
        values = [linked.get(column, "%s") for column in columns]
        sources = ["guard", *sorted({source.split(".")[0] for source in linked.values()} - {"guard"})]
        return (
            f"{name} AS (INSERT INTO {qn(table)} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608
            f"SELECT {', '.join(values)} FROM {', '.join(sources)} RETURNING {qn('id')})"
        )

    if shape.id_token:
        parts.append(insert("new_id", IDToken._meta.db_table, id_columns, {}))
    at_links = {"source_refresh_token_id": "guard.id"}
    if shape.id_token:
        at_links["id_token_id"] = "new_id.id"
    parts.append(insert("new_at", AccessToken._meta.db_table, at_columns, at_links))
    selected = ["(SELECT id FROM guard)", "(SELECT id FROM new_at)"]
    if shape.id_token:
        selected.append("(SELECT id FROM new_id)")
    if shape.refresh:
        parts.append(
            insert("new_rt", RefreshToken._meta.db_table, rt_columns, {"access_token_id": "new_at.id"})
        )
        selected.append("(SELECT id FROM new_rt)")
    return f"WITH {', '.join(parts)} SELECT {', '.join(selected)}"


def token_rows_write(
    *,
    retire: RefreshToken | None,
    retired_at,
    id_token: IDToken | None,
    access_token: AccessToken,
    refresh_token: RefreshToken | None,
) -> bool:
    """Retire ``retire`` (if given) and insert the new rows, all or nothing, in one statement.

    Returns False, writing nothing, when ``retire`` was already retired. On a database other
    than PostgreSQL (the SQLite demo of ``make run``) the same writes are ORM saves in a
    transaction. The statement fills in
    the links between the rows it writes; an access token may already point at an ID token
    written earlier (the authorization endpoint's).
    """
    if connection.vendor != "postgresql":
        return _write_with_the_orm(
            retire=retire,
            retired_at=retired_at,
            id_token=id_token,
            access_token=access_token,
            refresh_token=refresh_token,
        )
    linked_at = {"source_refresh_token"} | ({"id_token"} if id_token is not None else set())
    id_values = _insert_columns(id_token) if id_token is not None else []
    at_values = [(f, v) for f, v in _insert_columns(access_token) if f.name not in linked_at]
    rt_values = (
        [(f, v) for f, v in _insert_columns(refresh_token) if f.name != "access_token"]
        if refresh_token is not None
        else []
    )
    shape = _Shape(
        retire=retire is not None, id_token=id_token is not None, refresh=refresh_token is not None
    )
    at_columns = (
        tuple(f.column for f, _ in at_values)
        + ("source_refresh_token_id",)
        + (("id_token_id",) if id_token is not None else ())
    )
    sql = _statement(
        shape,
        tuple(f.column for f, _ in id_values),
        at_columns,
        (*tuple(f.column for f, _ in rt_values), "access_token_id"),
    )
    params: list[object] = []
    if retire is not None:
        params += [retired_at, retired_at, retire.pk]
    params += [value for _, value in id_values]
    params += [value for _, value in at_values]
    params += [value for _, value in rt_values]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    ids = list(row)
    retired_id, access_id = ids.pop(0), ids.pop(0)
    if retire is not None and retired_id is None:
        return False
    access_token.pk = access_id
    access_token.source_refresh_token = retire
    if id_token is not None:
        id_token.pk = ids.pop(0)
        access_token.id_token = id_token
    if refresh_token is not None:
        refresh_token.pk = ids.pop(0)
        refresh_token.access_token = access_token
    for instance in (id_token, access_token, refresh_token):
        if instance is not None:
            instance._state.adding = False
            instance._state.db = connection.alias
    return True


def _write_with_the_orm(
    *,
    retire: RefreshToken | None,
    retired_at,
    id_token: IDToken | None,
    access_token: AccessToken,
    refresh_token: RefreshToken | None,
) -> bool:
    """The same writes, statement by statement (databases without data-modifying CTEs)."""
    with transaction.atomic():
        if retire is not None and not (
            RefreshToken.objects.filter(pk=retire.pk, revoked__isnull=True).update(
                revoked=retired_at, updated=retired_at
            )
        ):
            return False
        if id_token is not None:
            id_token.save()
            access_token.id_token = id_token
        access_token.source_refresh_token = retire
        access_token.save()
        if refresh_token is not None:
            refresh_token.access_token = access_token
            refresh_token.save()
    return True
