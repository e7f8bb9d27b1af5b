"""Log retention: token-log rows and audit events older than ``LOG_RETENTION_DAYS`` are deleted.

Both logs grow with traffic (one token-log row per token request), so the pruning must keep up
with the insert rate without ever holding a long lock: it deletes in batches of
``LOG_PRUNE_BATCH`` rows, each its own short transaction (``DELETE ... WHERE id IN (SELECT id ...
ORDER BY id LIMIT n)``: the oldest rows, by the primary key, as the ids grow with time), and stops
after ``LOG_PRUNE_BUDGET_SECONDS`` per run. The background sweep (``apps.oauth.cleanup``) runs it
every ``CLEANUP_SWEEP_SECONDS``; ``manage.py purge_expired`` runs it to the end.

The dashboard's charts read hourly roll-ups, which are not log rows: they survive pruning.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from apps.audit.models import AuditEvent, TokenEvent

TOKEN_EVENTS = "token_events"
AUDIT_EVENTS = "audit_events"
LOG_KINDS = (TOKEN_EVENTS, AUDIT_EVENTS)
_MODELS: dict[str, type[Model]] = {TOKEN_EVENTS: TokenEvent, AUDIT_EVENTS: AuditEvent}


def retention_cutoff(now: datetime | None = None) -> datetime:
    """Rows created before this are due for deletion."""
    return (now or timezone.now()) - timedelta(days=settings.LOG_RETENTION_DAYS)


def _delete_oldest(model: type[Model], *, before: datetime, batch: int) -> int:
    """Delete at most ``batch`` of ``model``'s rows created before ``before``, oldest first."""
    table = connection.ops.quote_name(model._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN "  # noqa: S608 - the table name is ours, values are bound
            f"(SELECT id FROM {table} WHERE created_at < %s ORDER BY id LIMIT %s)",
            [before, batch],
        )
        return cursor.rowcount


def log_rows_prune(
    *, now: datetime | None = None, batch: int | None = None, budget_seconds: float | None = None
) -> dict[str, int]:
    """Delete log rows past retention, batch after batch, within ``budget_seconds`` (None: to the end).

    Returns how many rows of each log were deleted. ``LOG_RETENTION_DAYS = 0`` keeps everything.
    """
    deleted = dict.fromkeys(LOG_KINDS, 0)
    if settings.LOG_RETENTION_DAYS <= 0:
        return deleted
    before = retention_cutoff(now)
    batch = batch or settings.LOG_PRUNE_BATCH
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    pending = list(LOG_KINDS)
    while pending:
        for kind in list(pending):
            count = _delete_oldest(_MODELS[kind], before=before, batch=batch)
            deleted[kind] += count
            if count < batch:
                pending.remove(kind)
        if deadline is not None and time.monotonic() >= deadline:
            break
    return deleted
