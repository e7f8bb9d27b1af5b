"""Expiring counters shared by every server process (``apps.core.counters``): the same behaviour in
both places they live (the database without ``REDIS_URL``, a shared cache with it), atomic
increments under concurrency in the database, and the choice of backend."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.utils import timezone

from apps.core import counters
from apps.core.counters import (
    CacheCounters,
    DatabaseCounters,
    cache_is_shared,
    counter_delete,
    counter_get,
    counter_incr,
    counter_touch,
    counters_backend,
)
from apps.core.models import Counter
from tests.conftest import COUNTERS_TEST_REDIS_URL

HOUR = 3600


@pytest.fixture(params=["database", "redis"])
def backend(request, db) -> str:
    """Each test below runs once per backend."""
    request.getfixturevalue(f"{request.param}_counters")
    return request.param


def expire_now(backend: str, key: str) -> None:
    """Let ``key``'s counter expire, as time passing would."""
    if backend == "database":
        Counter.objects.filter(key=key).update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        cache.touch(key, timeout=0)  # Redis: expires at once


def seconds_left(backend: str, key: str) -> float:
    if backend == "database":
        return (Counter.objects.get(key=key).expires_at - timezone.now()).total_seconds()
    return cache.ttl(key)


def test_a_counter_starts_at_one_and_counts_up(backend):
    # when a key is counted three times
    values = [counter_incr(key="k", ttl_seconds=HOUR) for _ in range(3)]
    # then
    assert values == [1, 2, 3]
    assert counter_get(key="k") == 3
    # and other keys count on their own
    assert counter_get(key="other") == 0
    assert counter_incr(key="other", ttl_seconds=HOUR) == 1


def test_a_deleted_counter_reads_zero_and_starts_again(backend):
    # given
    counter_incr(key="k", ttl_seconds=HOUR)
    counter_incr(key="k", ttl_seconds=HOUR)
    # when
    counter_delete(key="k")
    # then
    assert counter_get(key="k") == 0
    assert counter_incr(key="k", ttl_seconds=HOUR) == 1
    # and deleting what does not exist is no error
    counter_delete(key="never counted")


def test_an_expired_counter_reads_zero_and_restarts_at_one_with_a_fresh_expiry(backend):
    # given a counter at 2 that expired
    counter_incr(key="k", ttl_seconds=60)
    counter_incr(key="k", ttl_seconds=60)
    expire_now(backend, "k")
    # then it reads 0
    assert counter_get(key="k") == 0
    # when it is counted again, then it restarts at 1 and lives the new time to live
    assert counter_incr(key="k", ttl_seconds=HOUR) == 1
    assert HOUR - 60 < seconds_left(backend, "k") <= HOUR
    assert counter_get(key="k") == 1


def test_later_counts_keep_the_expiry_set_by_the_first(backend):
    # given a counter that lives 100 s
    counter_incr(key="k", ttl_seconds=100)
    # when it is counted again with a longer time to live
    assert counter_incr(key="k", ttl_seconds=HOUR) == 2
    # then it still expires within the first 100 s
    assert 0 < seconds_left(backend, "k") <= 100


def test_touch_restarts_a_live_counters_expiry_and_creates_nothing(backend):
    # given a counter that lives 100 s
    counter_incr(key="k", ttl_seconds=100)
    # when it is touched
    counter_touch(key="k", ttl_seconds=HOUR)
    # then it lives an hour from now, with its value
    assert HOUR - 60 < seconds_left(backend, "k") <= HOUR
    assert counter_get(key="k") == 1
    # and touching an absent or expired counter brings nothing back
    counter_touch(key="absent", ttl_seconds=HOUR)
    assert counter_get(key="absent") == 0
    expire_now(backend, "k")
    counter_touch(key="k", ttl_seconds=HOUR)
    assert counter_get(key="k") == 0
    assert counter_incr(key="k", ttl_seconds=HOUR) == 1


def test_keys_longer_than_a_row_allows_count_under_a_digest(backend):
    # given two long keys that differ only at the end
    long_key, other_long_key = "x" * 300 + "a", "x" * 300 + "b"
    # when
    counter_incr(key=long_key, ttl_seconds=HOUR)
    counter_incr(key=long_key, ttl_seconds=HOUR)
    counter_incr(key=other_long_key, ttl_seconds=HOUR)
    # then each counts on its own
    assert (counter_get(key=long_key), counter_get(key=other_long_key)) == (2, 1)
    counter_delete(key=long_key)
    assert counter_get(key=long_key) == 0


@pytest.mark.parametrize("ttl_seconds", [0, -1])
def test_a_time_to_live_must_be_positive(database_counters, ttl_seconds):
    with pytest.raises(ValueError, match="ttl_seconds must be at least 1"):
        counter_incr(key="k", ttl_seconds=ttl_seconds)
    with pytest.raises(ValueError, match="ttl_seconds must be at least 1"):
        counter_touch(key="k", ttl_seconds=ttl_seconds)


def test_in_the_cache_a_counter_that_expired_between_add_and_incr_starts_again(redis_counters, monkeypatch):
    # given a cache where the counter existed at ``add`` but was gone at ``incr``
    monkeypatch.setattr(caches["default"], "add", lambda *args, **kwargs: False)
    # when / then
    assert counter_incr(key="k", ttl_seconds=60) == 1
    assert counter_incr(key="k", ttl_seconds=60) == 2


# --- Atomicity in the database ----------------------------------------------------------------------
THREADS = 8
INCREMENTS = 25


@pytest.mark.parametrize("start", ["absent", "expired"])
def test_concurrent_increments_in_the_database_are_never_lost(transactional_db, database_counters, start):
    # given no counter, or an expired one at 1000 (every thread races to restart it)
    if start == "expired":
        Counter.objects.create(key="k", value=1000, expires_at=timezone.now() - timedelta(seconds=1))
    barrier = threading.Barrier(THREADS)
    seen: list[list[int]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            seen[n].extend(counter_incr(key="k", ttl_seconds=HOUR) for _ in range(INCREMENTS))
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection

    # when 8 threads, each on its own connection, count 25 times at once
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then every increment got a value of its own, and the counter holds all 200
    assert errors == []
    assert sorted(value for values in seen for value in values) == list(range(1, THREADS * INCREMENTS + 1))
    assert counter_get(key="k") == THREADS * INCREMENTS


# --- The choice of backend ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cache_backend", "shared", "chosen"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", False, DatabaseCounters),
        ("django.core.cache.backends.dummy.DummyCache", False, DatabaseCounters),
        ("django_redis.cache.RedisCache", True, CacheCounters),
    ],
)
def test_counters_live_in_the_cache_only_when_every_process_shares_it(
    settings, monkeypatch, cache_backend, shared, chosen
):
    # given a process whose default cache is this one, and no counter yet
    settings.CACHES = {"default": {"BACKEND": cache_backend, "LOCATION": COUNTERS_TEST_REDIS_URL}}
    monkeypatch.setattr(counters, "_backend", None)
    # when / then
    assert cache_is_shared() is shared
    assert isinstance(counters_backend(), chosen)
    # and the choice is kept for the life of the process
    assert counters_backend() is counters_backend()
