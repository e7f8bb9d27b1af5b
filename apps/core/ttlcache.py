"""A small per-process cache with a time-to-live, for configuration the token path reads.

The token endpoint must not touch the database on every request (DESIGN.md, "What we
know about speed"), so tenant, client, API, grant and key data are memoised here for
``settings.CONFIG_CACHE_SECONDS``. Misses (``None``) are cached too, so unknown client
ids cannot hammer the database.

Services that change that data call ``invalidate`` inside their transaction. The entries
are dropped at once in this process and again when the transaction commits (so no thread
can re-cache what was read before the commit). With a shared cache (``REDIS_URL``) the
commit also bumps a generation counter there and records the keys it invalidated under the new
generation; every process compares the counter at most every ``settings.CONFIG_SYNC_SECONDS``
and, when it moved, forgets the keys recorded for each generation it missed, so a change reaches
all processes within that interval and costs the others only the entries it changed (one
tenant's change does not make every tenant miss). A process that cannot read every missed
generation's keys (more than ``_MAX_CHANGES_FOLLOWED`` behind, a record expired or not written
yet, a cache error) empties its memo instead. Without a shared cache the TTL is the bound.

Stale if error: when a reload fails because the database is unreachable, an expired entry
is served for up to ``settings.CONFIG_STALE_IF_ERROR_SECONDS`` past its expiry, so the
token endpoint keeps issuing machine-to-machine tokens through a database outage. Each
stale answer is re-remembered for ``STALE_RETRY_SECONDS`` only, so the database is retried
about once a second per key, and fresh data is back within that once the database is.
A miss with no entry at all still raises (there is nothing to serve).

The memo is bounded (``_MAX_ENTRIES`` per process). An expired entry stays until it is asked
for again, so a process that saw many tenants or client ids fills up with them. When full,
it drops the entries that can no longer serve even stale first, then, if that is not
enough, the entries loaded longest ago, down to ``_EVICT_TO`` of the bound: a hot entry is
reloaded at every expiry, so it is always among the youngest, and a scan of unknown client
ids cannot empty the whole memo at once (which made every hot entry of the process miss
together). Hits pay nothing for this: the order is the dict's insertion order, and only a
load (re)inserts.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction

from apps.core import metrics

logger = logging.getLogger(__name__)

GENERATION_KEY = "portcullis:config-generation"
# f"{GENERATION_KEY}:{generation}": the keys the change that made ``generation`` invalidated,
# kept for CHANGE_RECORD_SECONDS (a process that looks less often than that empties its memo).
CHANGE_RECORD_SECONDS = 300
_MAX_CHANGES_FOLLOWED = 100
_MAX_ENTRIES = 50_000
_EVICT_TO = 0.9  # a full memo shrinks to this share of _MAX_ENTRIES: one scan per 5,000 loads
STALE_RETRY_SECONDS = 1.0
# key -> (fresh until, value, servable-if-the-database-fails until), monotonic seconds.
_store: dict[Hashable, tuple[float, Any, float]] = {}
_lock = threading.Lock()
# When a loader last succeeded (monotonic; 0: never): readiness uses it to tell a process that is
# riding out a database outage on its cache from one that never had anything to serve.
last_load_at = 0.0
_sync = {"next_at": 0.0, "generation": None}


def get_or_load[T](key: Hashable, loader: Callable[[], T], *, ttl: float | None = None) -> T:
    """Return the cached value for ``key`` or call ``loader`` and remember its result
    (for ``ttl`` seconds, ``CONFIG_CACHE_SECONDS`` by default)."""
    now = time.monotonic()
    if now >= _sync["next_at"]:
        _follow_shared_generation(now)
    hit = _store.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    if ttl is None:
        ttl = (
            settings.CONFIG_CACHE_SECONDS
        )  # read on a miss only: settings access is not free on the hot path
    try:
        value = loader()
    except (OperationalError, InterfaceError):  # unreachable, not a bad query: those still raise
        if hit is None or now > hit[2]:
            raise
        logger.warning("Database unreachable: serving the cached %r past its expiry", key)
        metrics.CONFIG_STALE_SERVED.inc()
        with _lock:
            _store[key] = (now + STALE_RETRY_SECONDS, hit[1], hit[2])
        return hit[1]
    global last_load_at
    last_load_at = now
    if ttl > 0:
        with _lock:
            _store.pop(key, None)  # (re)inserted last: the dict's order is the order of loading
            if len(_store) >= _MAX_ENTRIES:
                _evict(now)
            _store[key] = (now + ttl, value, now + ttl + settings.CONFIG_STALE_IF_ERROR_SECONDS)
    return value


def _evict(now: float) -> None:
    """Make room in a full memo (``_lock`` held): entries past even their stale-if-error window,
    then the longest loaded."""
    for key in [key for key, entry in _store.items() if entry[2] < now]:
        del _store[key]
    excess = len(_store) - int(_MAX_ENTRIES * _EVICT_TO)
    if excess > 0:
        for key in list(itertools.islice(_store, excess)):
            del _store[key]


def invalidate(*keys: Hashable) -> None:
    """Forget ``keys`` here now, and everywhere once the current transaction commits."""
    _forget(keys)

    def after_commit() -> None:
        _forget(keys)
        _publish_change(keys)

    transaction.on_commit(after_commit)


def clear() -> None:
    with _lock:
        _store.clear()
        _sync.update(next_at=0.0, generation=None)


def _forget(keys: tuple[Hashable, ...]) -> None:
    with _lock:
        for key in keys:
            _store.pop(key, None)


def _publish_change(keys: tuple[Hashable, ...]) -> None:
    """Bump the shared generation and record ``keys`` under the new one."""
    if not settings.REDIS_URL:
        return
    try:
        cache.add(GENERATION_KEY, 0, timeout=None)  # the counter, made once: incr needs it
        generation = cache.incr(GENERATION_KEY)
        cache.set(_change_record_key(generation), list(keys), timeout=CHANGE_RECORD_SECONDS)
    except Exception:  # a cache outage must not fail the change; the TTL still bounds staleness
        metrics.CACHE_ERRORS.labels("publish_config_change").inc()
        logger.warning("Could not publish a configuration change to the shared cache", exc_info=True)


def _change_record_key(generation: int) -> str:
    return f"{GENERATION_KEY}:{generation}"


def _follow_shared_generation(now: float) -> None:
    """Forget what other processes changed since we last looked (everything, when we cannot tell)."""
    _sync["next_at"] = now + settings.CONFIG_SYNC_SECONDS
    if not settings.REDIS_URL:
        return
    try:
        generation = cache.get(GENERATION_KEY)
    except Exception:
        _changes_unreadable()
        return
    seen = _sync["generation"]
    if generation == seen:
        return
    changed = _changed_keys(seen, generation)
    with _lock:
        if changed is None:
            _store.clear()
        else:
            for key in changed:
                _store.pop(key, None)
        _sync["generation"] = generation


def _changed_keys(seen: Any, generation: Any) -> list[Hashable] | None:
    """The keys changed by generations ``seen``+1 to ``generation``; None when not all are known
    (never looked before, the counter restarted, too far behind, a record missing or unreadable)."""
    if not (isinstance(seen, int) and isinstance(generation, int)):
        return None
    if not 0 < generation - seen <= _MAX_CHANGES_FOLLOWED:
        return None
    names = [_change_record_key(g) for g in range(seen + 1, generation + 1)]
    try:
        records = cache.get_many(names)
    except Exception:
        _changes_unreadable()
        return None
    if len(records) != len(names):
        return None
    return [key for record in records.values() for key in record]


def _changes_unreadable() -> None:
    """Count and log a failed read of the shared changes (called from an ``except`` block)."""
    metrics.CACHE_ERRORS.labels("read_config_changes").inc()
    logger.warning("Could not read configuration changes from the shared cache", exc_info=True)
