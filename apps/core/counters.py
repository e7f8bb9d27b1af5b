"""Expiring counters shared by every server process: attack protection, MFA code attempts, rate limits.

Where they live is decided once per process, from the default cache:

- a **shared cache** (``REDIS_URL``: django-redis; in general any cache but the per-process
  ``LocMemCache`` and ``DummyCache``): the cache, as before: ``cache.add`` then ``cache.incr``,
  both atomic in Redis, one or two round trips per count;
- otherwise **the database** (``Counter`` rows): without ``REDIS_URL`` the cache is per process,
  and ``make run`` serves with several processes, so counting there would give an attacker one
  allowance per process. One ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement per
  increment (PostgreSQL, and SQLite >= 3.35 for the demo): atomic under any concurrency, no lost
  update, no read-modify-write.

Expiry is the cache's: a counter's time to live is set when it is created (its first count) and
kept by later counts; ``counter_touch`` restarts it explicitly. An expired counter is absent: it
reads as 0 and its next count restarts it at 1 with a fresh time to live. Expired rows are deleted
by the expired-rows sweeper (``apps.oauth.cleanup``); until then they cost nothing but a row.

A backend that fails raises (the cache's error or the database's): callers decide whether to let
the request through (``apps.core.ratelimit``, ``apps.accounts.protection`` do, and log it). With
the database, a count is part of the caller's transaction: count outside any transaction that a
refusal rolls back, or the count is rolled back with it.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Protocol

from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.utils import timezone

from apps.core.models import Counter

KEY_MAX_LENGTH = Counter._meta.get_field("key").max_length

# One statement per count (PostgreSQL, SQLite >= 3.35). SET expressions read the row as it was
# before the statement (standard SQL, in both): a live counter counts on and keeps its expiry, an
# expired one restarts at 1 with the new expiry. Parameters: key, new expiry, now, now.
_INCR_SQL = (
    'INSERT INTO core_counter ("key", value, expires_at) VALUES (%s, 1, %s) '
    'ON CONFLICT ("key") DO UPDATE SET '
    "value = CASE WHEN core_counter.expires_at <= %s THEN 1 ELSE core_counter.value + 1 END, "
    "expires_at = CASE WHEN core_counter.expires_at <= %s THEN excluded.expires_at "
    "ELSE core_counter.expires_at END "
    "RETURNING value"
)


class CounterBackend(Protocol):
    def incr(self, key: str, ttl_seconds: int) -> int: ...
    def get(self, key: str) -> int: ...
    def delete(self, key: str) -> None: ...
    def touch(self, key: str, ttl_seconds: int) -> None: ...


class CacheCounters:
    """Counters in Django's default cache (shared: Redis). ``incr`` keeps a key's expiry."""

    def incr(self, key: str, ttl_seconds: int) -> int:
        cache.add(key, 0, timeout=ttl_seconds)  # atomic: only the first count creates it
        try:
            return cache.incr(key)
        except ValueError:  # it expired between add and incr: this is the first count again
            cache.set(key, 1, timeout=ttl_seconds)
            return 1

    def get(self, key: str) -> int:
        return cache.get(key) or 0

    def delete(self, key: str) -> None:
        cache.delete(key)

    def touch(self, key: str, ttl_seconds: int) -> None:
        cache.touch(key, timeout=ttl_seconds)


class DatabaseCounters:
    """Counters as ``Counter`` rows, one atomic statement per change."""

    def incr(self, key: str, ttl_seconds: int) -> int:
        now = timezone.now()
        ops = connection.ops
        now_value = ops.adapt_datetimefield_value(now)
        expires_value = ops.adapt_datetimefield_value(now + timedelta(seconds=ttl_seconds))
        with connection.cursor() as cursor:
            cursor.execute(_INCR_SQL, [key, expires_value, now_value, now_value])
            return int(cursor.fetchone()[0])

    def get(self, key: str) -> int:
        value = Counter.objects.filter(key=key, expires_at__gt=timezone.now()).values_list("value", flat=True)
        return next(iter(value), 0)

    def delete(self, key: str) -> None:
        Counter.objects.filter(key=key).delete()

    def touch(self, key: str, ttl_seconds: int) -> None:
        now = timezone.now()
        Counter.objects.filter(key=key, expires_at__gt=now).update(
            expires_at=now + timedelta(seconds=ttl_seconds)
        )


def cache_is_shared() -> bool:
    """Whether the default cache is one every server process sees (not per-process memory)."""
    return not isinstance(caches["default"], LocMemCache | DummyCache)


_backend: CounterBackend | None = None


def counters_backend() -> CounterBackend:
    """Where this process counts: chosen at the first count, then kept (settings do not change)."""
    global _backend
    if _backend is None:
        _backend = CacheCounters() if cache_is_shared() else DatabaseCounters()
    return _backend


def _stored_key(key: str) -> str:
    """``key``, or a digest of it when it is longer than a row's key may be (same key, same digest)."""
    if len(key) <= KEY_MAX_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def counter_incr(*, key: str, ttl_seconds: int) -> int:
    """Count one for ``key``; the new value. A new (or expired) counter starts at 1 and lives
    ``ttl_seconds`` from now; later counts keep that expiry."""
    if ttl_seconds < 1:
        raise ValueError("ttl_seconds must be at least 1")
    return counters_backend().incr(_stored_key(key), ttl_seconds)


def counter_get(*, key: str) -> int:
    """The value of ``key``'s counter: 0 when there is none or it expired."""
    return counters_backend().get(_stored_key(key))


def counter_delete(*, key: str) -> None:
    """Forget ``key``'s counter (nothing happens when there is none)."""
    counters_backend().delete(_stored_key(key))


def counter_touch(*, key: str, ttl_seconds: int) -> None:
    """Let a live counter expire ``ttl_seconds`` from now instead (nothing happens when there is none
    or it expired): for a lockout that ends some time after the last counted failure."""
    if ttl_seconds < 1:
        raise ValueError("ttl_seconds must be at least 1")
    counters_backend().touch(_stored_key(key), ttl_seconds)
