"""Deleting what has expired: authorization codes, token rows, deny-list rows and counters, in bounded
batches.

Nobody has to remember a cron. ``manage.py purge_expired`` deletes everything that is due (batch
after batch), and every server process runs a background sweep (``sweeper_ensure_started``): at
most once per ``CLEANUP_SWEEP_SECONDS`` (with ``REDIS_URL``, once per interval across all
processes), one process at a time (a Postgres advisory lock), at most ``CLEANUP_SWEEP_BATCH`` rows
per table. The token endpoint starts it, but it runs in its own daemon thread with its own
database connection (closed after each sweep): a request never deletes, waits for or pays for a
sweep.

What is kept, and why (each rule is one queryset below):

- **Authorization codes** stay after their exchange (``used_at``) until they expire, so that a
  replay is detected and what the first exchange issued is revoked (RFC 6749 4.1.2); a replay
  after expiry is refused as expired anyway. Deleted ``CLEANUP_MARGIN`` after ``expires``.
- **Refresh tokens**: a retired one (rotated or revoked) is what detects reuse (RFC 9700
  4.14.2: presenting it revokes its family), so it is kept for as long as its family could still
  be used: the tenant's absolute lifetime counted from the row's own creation, which is never
  before the family's start. A row is deleted when it is older than the absolute lifetime (its
  family has expired), or when it is live but idle past the inactivity lifetime, or live without
  its access token (revoked out of band): no one can use those families any more.
- **Access tokens** (user flows only; M2M tokens have no row) ``CLEANUP_MARGIN`` after
  ``expires``, unless a live refresh token still points at one (the refresh path refuses a token
  whose access token is gone). A retired refresh token's pointer is cleared (``SET_NULL``).
- **ID tokens** ``CLEANUP_MARGIN`` after ``expires``, once no access token points at them
  (``AccessToken.id_token`` cascades: deleting a linked ID token would delete its access token).
- **Deny-list rows** ``CLEANUP_MARGIN`` after the token's ``exp``, when no verifier accepts it.
- **Token-log rows and audit events** past ``LOG_RETENTION_DAYS`` (``apps.audit.retention``: its
  own batches within a time budget per sweep, as the logs grow with traffic).
- **Counters** (``apps.core.counters`` in the database: attack protection, MFA attempts, rate
  limits) ``CLEANUP_MARGIN`` after ``expires_at``. An expired counter already reads as absent, so
  deleting it changes nothing but the table's size (rate-limit keys name their window: without the
  sweep every window would leave its rows behind).

The queries span every tenant on purpose: this is the server's own upkeep, serving no request;
each tenant's refresh-token lifetimes still apply to its own rows.

``CLEANUP_MARGIN`` outlasts clock skew between our servers and any verifier's leeway (the
resource kit's default is 30 s). Candidates are picked with ``FOR UPDATE SKIP LOCKED``, so a
sweep never waits for a row a request holds (a code being exchanged, a token being rotated).
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from apps.audit.retention import log_rows_prune
from apps.core.models import Counter
from apps.grants.models import DeniedToken
from apps.oauth.models import AccessToken, Grant, IDToken, RefreshToken
from apps.tenants.selectors import (
    RefreshTokenLifetimes,
    refresh_token_lifetimes_default,
    refresh_token_lifetimes_overridden,
)

logger = logging.getLogger(__name__)

CLEANUP_MARGIN = timedelta(minutes=5)

# What ``expired_rows_delete`` reports, in the order the tables are swept: refresh tokens before
# access tokens (an idle refresh token's deletion frees its access token), access tokens before
# ID tokens (the same, through ``AccessToken.id_token``).
AUTHORIZATION_CODES = "authorization_codes"
REFRESH_TOKENS = "refresh_tokens"
ACCESS_TOKENS = "access_tokens"
ID_TOKENS = "id_tokens"
DENIED_TOKENS = "denied_tokens"
COUNTERS = "counters"
KINDS = (AUTHORIZATION_CODES, REFRESH_TOKENS, ACCESS_TOKENS, ID_TOKENS, DENIED_TOKENS, COUNTERS)

# One Postgres advisory lock, shared by every process of every deployment on this database.
SWEEP_LOCK_ID = int.from_bytes(
    hashlib.sha256(b"portcullis:expired-rows-sweep").digest()[:8], "big", signed=True
)
_CACHE_LOCK_KEY = "portcullis:expired-rows-sweep"
# Set for an interval by the process that sweeps: with REDIS_URL, other processes skip their turn.
_CACHE_RECENT_KEY = "portcullis:expired-rows-swept"


# --- What is due ----------------------------------------------------------------------------------
def _refresh_tokens_due(refresh_token_lifetimes: RefreshTokenLifetimes, now: datetime) -> Q:
    absolute = now - timedelta(seconds=refresh_token_lifetimes.absolute_seconds)
    inactive = now - timedelta(seconds=refresh_token_lifetimes.inactivity_seconds)
    return Q(created__lt=absolute) | (
        Q(revoked__isnull=True) & (Q(created__lt=inactive) | Q(access_token__isnull=True))
    )


def _refresh_tokens_query(now: datetime) -> Q:
    """Every tenant's rule in one condition: a branch per distinct lifetimes a tenant set, and one
    for all the tenants on the defaults (most of them: those are not read)."""
    overridden = refresh_token_lifetimes_overridden()
    by_lifetimes: dict[RefreshTokenLifetimes, list[int]] = defaultdict(list)
    for tenant_id, refresh_token_lifetimes in overridden.items():
        by_lifetimes[refresh_token_lifetimes].append(tenant_id)
    query = ~Q(tenant_id__in=list(overridden)) & _refresh_tokens_due(refresh_token_lifetimes_default(), now)
    for refresh_token_lifetimes, tenant_ids in by_lifetimes.items():
        query |= Q(tenant_id__in=tenant_ids) & _refresh_tokens_due(refresh_token_lifetimes, now)
    return query


def _due(kind: str, now: datetime) -> QuerySet:
    past_margin = now - CLEANUP_MARGIN
    if kind == AUTHORIZATION_CODES:
        return Grant.objects.filter(expires__lt=past_margin)
    if kind == REFRESH_TOKENS:
        return RefreshToken.objects.filter(_refresh_tokens_query(now))
    if kind == ACCESS_TOKENS:
        live_refresh = RefreshToken.objects.filter(access_token=OuterRef("pk"), revoked__isnull=True)
        return AccessToken.objects.filter(expires__lt=past_margin).filter(~Exists(live_refresh))
    if kind == ID_TOKENS:
        linked = AccessToken.objects.filter(id_token=OuterRef("pk"))
        return IDToken.objects.filter(expires__lt=past_margin).filter(~Exists(linked))
    if kind == DENIED_TOKENS:
        return DeniedToken.objects.filter(expires_at__lt=past_margin)
    if kind == COUNTERS:
        return Counter.objects.filter(expires_at__lt=past_margin)
    raise ValueError(kind)


def _delete_batch(queryset: QuerySet, *, batch: int) -> int:
    """Delete at most ``batch`` rows of ``queryset``; rows locked by a request are skipped.

    The ids are picked and locked first (``SELECT ... LIMIT n FOR UPDATE SKIP LOCKED``), then
    deleted through Django's collector, which applies each relation's ``on_delete``.
    """
    with transaction.atomic():
        ids = list(
            queryset.order_by()  # any rows will do: no sort of everything that is due
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return 0
        _, per_model = queryset.model._base_manager.filter(pk__in=ids).delete()
    return per_model.get(queryset.model._meta.label, 0)


# --- Services ---------------------------------------------------------------------------------------
def expired_rows_delete(*, batch: int, now: datetime | None = None) -> dict[str, int]:
    """Delete one batch (at most ``batch`` rows) of each kind of expired row; returns the counts."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    now = now or timezone.now()
    return {kind: _delete_batch(_due(kind, now), batch=batch) for kind in KINDS}


def expired_rows_purge(*, batch: int, now: datetime | None = None) -> dict[str, int]:
    """Delete every row due at ``now``, batch after batch (``manage.py purge_expired``); the totals.

    ``now`` is fixed for the whole purge, so it ends even while new rows keep expiring.
    """
    now = now or timezone.now()
    totals = dict.fromkeys(KINDS, 0)
    pending = set(KINDS)
    while pending:
        for kind in KINDS:
            if kind in pending:
                deleted = _delete_batch(_due(kind, now), batch=batch)
                totals[kind] += deleted
                if deleted < batch:
                    pending.discard(kind)
    return totals


@contextmanager
def _sweep_lock() -> Iterator[bool]:
    """Whether this process may sweep now: one process at a time, across every server.

    Postgres: a session advisory lock on this thread's connection, never waited for. Other
    databases (the SQLite demo): a cache entry, per machine without ``REDIS_URL``.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [SWEEP_LOCK_ID])
            acquired = cursor.fetchone()[0]
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [SWEEP_LOCK_ID])
        return
    acquired = cache.add(_CACHE_LOCK_KEY, 1, timeout=600)
    try:
        yield acquired
    finally:
        if acquired:
            cache.delete(_CACHE_LOCK_KEY)


def expired_rows_sweep(*, now: datetime | None = None) -> dict[str, int] | None:
    """One opportunistic, bounded sweep (``CLEANUP_SWEEP_BATCH`` rows per table at most).

    Returns None, having deleted nothing, when another process is sweeping.
    """
    with _sweep_lock() as acquired:
        if not acquired:
            return None
        deleted = expired_rows_delete(batch=settings.CLEANUP_SWEEP_BATCH, now=now)
        deleted.update(log_rows_prune(now=now, budget_seconds=settings.LOG_PRUNE_BUDGET_SECONDS))
        return deleted


# --- The background sweeper (one daemon thread per process) -----------------------------------------
_sweeper: threading.Thread | None = None
_sweeper_stop = threading.Event()
_sweeper_lock = threading.Lock()


def sweeper_ensure_started() -> None:
    """Start this process's sweeper if it is not running (the token endpoint calls this: after the
    first call it costs a global read). ``CLEANUP_SWEEP_SECONDS = 0`` keeps it off."""
    if _sweeper is None and settings.CLEANUP_SWEEP_SECONDS > 0:
        _sweeper_start()


def _sweeper_start() -> None:
    global _sweeper
    with _sweeper_lock:
        if _sweeper is not None:
            return
        _sweeper_stop.clear()
        _sweeper = threading.Thread(target=_run_sweeper, name="expired-rows-sweeper", daemon=True)
        _sweeper.start()


def sweeper_stop(timeout: float = 10.0) -> None:
    """Stop this process's sweeper and wait for it (tests; a graceful shutdown needs nothing)."""
    global _sweeper
    with _sweeper_lock:
        thread, _sweeper = _sweeper, None
        _sweeper_stop.set()
    if thread is not None:
        thread.join(timeout)


def _run_sweeper() -> None:
    # The first sweep waits a full interval (no work at start-up); processes drift apart by a little
    # jitter, so they do not all try the lock at the same moment. Never more than once an interval.
    while True:
        interval = settings.CLEANUP_SWEEP_SECONDS
        if interval <= 0 or _sweeper_stop.wait(interval * (1 + random.random() / 5)):  # noqa: S311 - jitter
            return
        close_old_connections()
        try:
            if not cache.add(_CACHE_RECENT_KEY, 1, timeout=interval):
                continue  # another process (sharing the cache) swept within the interval
            deleted = expired_rows_sweep()
            if deleted and any(deleted.values()):
                logger.info("Expired rows deleted: %s", deleted)
        except Exception:  # the sweeper must outlive any failed sweep; the next one retries
            logger.exception("Expired rows sweep failed")
        finally:
            connection.close()  # a sweep every few minutes holds no connection in between
