"""The token log: every token issued or refused, written in batches off the request path.

``token_event_record`` appends to an in-process queue; a daemon thread bulk-inserts the
queue every ``settings.TOKEN_LOG_FLUSH_SECONDS`` (and at interpreter exit). The token
endpoint therefore pays a list append, not a database round trip. The price: events of
the last interval are lost if the process is killed outright (SIGKILL, power loss); a
graceful stop flushes. ``TOKEN_LOG_FLUSH_SECONDS = 0`` writes each event synchronously.

On Postgres a batch is written with ``COPY ... FROM STDIN`` (psycopg's ``write_row``), not
``bulk_create``: building a model instance per event and binding every column as an array
parameter cost ~290k instructions per event, about a seventh of what the token endpoint
spends around the signature (issue 11); COPY costs a small fraction of that. Other databases
(the SQLite of ``make run`` without ``DATABASE_URL``) keep ``bulk_create``.
If the database is unreachable, events wait in the queue (up to ``MAX_QUEUED``, then the
oldest are dropped with a logged warning) and the next flush retries.

Each batch also adds its counts to the dashboard's hourly roll-ups (``apps.audit.rollups``),
with one upsert in the same transaction as the insert: the counts and the rows are written
together or not at all.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import deque
from typing import Any

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.utils import timezone

from apps.audit.models import TokenEvent
from apps.audit.rollups import hourly_rollups_add, token_event_buckets
from apps.core import metrics

logger = logging.getLogger(__name__)

MAX_QUEUED = 100_000
_queue: deque[dict[str, Any]] = deque()
_lock = threading.Lock()
_flusher: threading.Thread | None = None
_dropped = 0


def token_event_record(*, tenant_id: int, type: str, **fields: Any) -> None:
    """Queue one token event (written within TOKEN_LOG_FLUSH_SECONDS)."""
    global _dropped
    event = {"tenant_id": tenant_id, "type": type, "created_at": timezone.now(), **fields}
    if settings.TOKEN_LOG_FLUSH_SECONDS <= 0:
        _write([event])
        return
    if len(_queue) >= MAX_QUEUED:
        _queue.popleft()
        _dropped += 1
    _queue.append(event)
    if _flusher is None:
        _start_flusher()


def flush() -> int:
    """Write every queued event now; returns how many were written. Safe to call from any thread."""
    global _dropped
    with _lock:
        batch = [_queue.popleft() for _ in range(len(_queue))]
        if not batch:
            return 0
        try:
            _write(batch)
        except (OperationalError, InterfaceError) as error:
            # The database is unreachable: keep the events for the next flush. One line, no
            # traceback: an outage is expected to last several flushes.
            logger.warning(
                "Token log: %d events queued, database unreachable (%s); retrying at the next flush",
                len(batch),
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__,
            )
            _queue.extendleft(reversed(batch))
            return 0
        except DatabaseError:
            # A batch the database refuses will never be accepted: drop it rather than block the log.
            logger.exception("Token log: dropped a batch of %d events the database refused", len(batch))
            return 0
        if _dropped:
            logger.warning("Token log: dropped %d events while the database was unreachable", _dropped)
            _dropped = 0
        return len(batch)


# The columns written, in order: every field but the primary key (a sequence fills it).
_FIELDS = [field for field in TokenEvent._meta.concrete_fields if not field.primary_key]
_COLUMNS = [field.attname for field in _FIELDS]


def _write(batch: list[dict[str, Any]]) -> None:
    """Insert the events and add their counts to the hourly roll-ups, in one transaction."""
    with transaction.atomic():
        _insert(batch)
        hourly_rollups_add(token_event_buckets(batch))


def _insert(batch: list[dict[str, Any]]) -> None:
    """Insert ``batch`` (events as ``token_event_record`` queued them) in one statement."""
    if connection.vendor != "postgresql":
        TokenEvent.objects.bulk_create([TokenEvent(**event) for event in batch], batch_size=1000)
        return
    table = connection.ops.quote_name(TokenEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in _FIELDS)
    # Values pass through psycopg's adapters (the columns' types are text, timestamptz and inet),
    # as bulk_create's would; an event lacking a field gets its column's default, as the model gives.
    defaults = {name: field.get_default() for name, field in zip(_COLUMNS, _FIELDS, strict=True)}
    rows = [[event.get(name, defaults[name]) for name in _COLUMNS] for event in batch]
    # connection.cursor() is Django's wrapper; the copy runs on the psycopg cursor inside it, with
    # its errors turned into django.db's (an unreachable database stays an OperationalError). One
    # statement: all of the batch is written, or none of it.
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _start_flusher() -> None:
    global _flusher
    with _lock:
        if _flusher is not None:
            return
        _flusher = threading.Thread(target=_run_flusher, name="token-log-flusher", daemon=True)
        _flusher.start()
    atexit.register(flush)


def _run_flusher() -> None:
    stop = threading.Event()
    while not stop.wait(settings.TOKEN_LOG_FLUSH_SECONDS):
        close_old_connections()  # this thread's connection follows CONN_MAX_AGE like a request's
        try:
            flush()
            metrics.TOKEN_LOG_QUEUE.set(len(_queue))
        except Exception:  # the flusher must outlive any single bad batch
            logger.exception("Token log: flush failed")
            connection.close()
