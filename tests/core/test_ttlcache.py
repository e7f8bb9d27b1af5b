"""The per-process config cache: memoised reads, and changes that reach every process."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import OperationalError, transaction

from apps.core import ttlcache

REDIS_CACHE = {
    "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/15"}
}


class Loader:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.calls


@pytest.fixture
def shared_cache(settings):
    """A real Redis as the shared cache, as with REDIS_URL set; checked on every read."""
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    settings.CACHES = REDIS_CACHE
    settings.CONFIG_SYNC_SECONDS = 0
    cache.clear()  # this test Redis database only: the generation and earlier tests' change records
    ttlcache.clear()
    yield
    cache.clear()


def test_values_are_memoised_within_the_ttl(settings):
    settings.CONFIG_CACHE_SECONDS = 60
    load = Loader()
    assert ttlcache.get_or_load("k", load) == ttlcache.get_or_load("k", load) == 1
    assert load.calls == 1


def test_ttl_zero_disables_the_cache(settings):
    settings.CONFIG_CACHE_SECONDS = 0
    load = Loader()
    ttlcache.get_or_load("k", load)
    ttlcache.get_or_load("k", load)
    assert load.calls == 2


@pytest.fixture
def publish_as_another_process(monkeypatch):
    """What a service's commit publishes in another process, leaving this process's memo alone
    (``invalidate`` also forgets the keys here at once, which would hide what following does)."""

    def publish(*keys) -> None:
        with monkeypatch.context() as patch:
            patch.setattr(ttlcache, "_forget", lambda keys: None)
            with transaction.atomic():
                ttlcache.invalidate(*keys)

    return publish


def test_a_change_published_by_another_process_forgets_only_the_keys_it_changed(
    shared_cache, settings, transactional_db, publish_as_another_process
):
    # given two memoised values, and this process up to date with the shared generation
    settings.CONFIG_CACHE_SECONDS = 60
    publish_as_another_process(("tenant", "earlier"))
    changed, unchanged = Loader(), Loader()
    ttlcache.get_or_load(("client", 1, "a"), changed)
    ttlcache.get_or_load(("tenant", "b"), unchanged)
    # when another process commits a change of the first
    publish_as_another_process(("client", 1, "a"))
    # then the next read here reloads the changed value only
    assert ttlcache.get_or_load(("client", 1, "a"), changed) == 2
    assert ttlcache.get_or_load(("tenant", "b"), unchanged) == 1


def test_changes_this_process_missed_are_all_followed(
    shared_cache, settings, transactional_db, publish_as_another_process
):
    # given three memoised values
    settings.CONFIG_CACHE_SECONDS = 60
    publish_as_another_process("earlier")
    loads = {key: Loader() for key in ("a", "b", "c")}
    for key, load in loads.items():
        ttlcache.get_or_load(key, load)
    # when two changes are published before this process looks again
    publish_as_another_process("a")
    publish_as_another_process("b")
    # then both are forgotten, and only they
    assert [ttlcache.get_or_load(key, load) for key, load in loads.items()] == [2, 2, 1]


def more_changes_than_a_process_follows_key_by_key(publish) -> None:
    for _ in range(ttlcache._MAX_CHANGES_FOLLOWED + 1):
        publish("other")


def a_change_without_its_record(publish) -> None:  # expired, or not written yet
    cache.incr(ttlcache.GENERATION_KEY)


@pytest.mark.parametrize(
    "missed", [more_changes_than_a_process_follows_key_by_key, a_change_without_its_record]
)
def test_a_process_that_cannot_tell_what_changed_empties_its_memo(
    shared_cache, settings, transactional_db, publish_as_another_process, missed
):
    # given a memoised value
    settings.CONFIG_CACHE_SECONDS = 60
    publish_as_another_process("earlier")
    load = Loader()
    ttlcache.get_or_load("k", load)
    # when changes were published that this process cannot list (none of them names "k")
    missed(publish_as_another_process)
    # then it cannot trust what it holds
    assert ttlcache.get_or_load("k", load) == 2


def test_a_generation_never_seen_before_empties_the_memo(shared_cache, settings):
    # given a memoised value
    settings.CONFIG_CACHE_SECONDS = 60
    load = Loader()
    ttlcache.get_or_load("k", load)
    # when another process publishes a change (it bumps the shared generation)
    cache.set(ttlcache.GENERATION_KEY, 41, timeout=None)
    cache.incr(ttlcache.GENERATION_KEY)
    # then the next read here reloads
    assert ttlcache.get_or_load("k", load) == 2


def test_invalidate_publishes_the_change_on_commit(shared_cache, transactional_db):
    # given
    before = cache.get(ttlcache.GENERATION_KEY)
    # when a service invalidates inside a transaction
    with transaction.atomic():
        ttlcache.invalidate("k")
        # then nothing is published before the commit
        assert cache.get(ttlcache.GENERATION_KEY) == before
    # and the generation moved once it committed
    assert cache.get(ttlcache.GENERATION_KEY) != before


def test_cache_outage_does_not_break_reads_or_changes(settings, transactional_db):
    # given a shared cache that cannot be reached
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    settings.CONFIG_SYNC_SECONDS = 0
    load = Loader()
    # when / then
    assert ttlcache.get_or_load("k", load) == 1
    ttlcache.invalidate("k")
    assert ttlcache.get_or_load("k", load) == 2


class FailingLoader:
    """Loads ``value`` until ``fail`` is set, then raises what an unreachable database raises."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.fail = False
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.fail:
            raise OperationalError("connection refused")
        return self.value


def test_an_expired_value_is_served_while_the_database_is_unreachable(settings, monkeypatch):
    # given a value cached for 1 s that has expired, and a database that has gone away
    settings.CONFIG_CACHE_SECONDS = 1
    settings.CONFIG_STALE_IF_ERROR_SECONDS = 60
    clock = Clock(monkeypatch)
    load = FailingLoader(7)
    assert ttlcache.get_or_load("k", load) == 7
    clock.advance(5)
    load.fail = True

    # when it is read again, then the stale value is served
    assert ttlcache.get_or_load("k", load) == 7
    # and the database is retried about once a second, not on every read
    assert ttlcache.get_or_load("k", load) == 7
    assert load.calls == 2
    clock.advance(ttlcache.STALE_RETRY_SECONDS + 0.1)
    assert ttlcache.get_or_load("k", load) == 7
    assert load.calls == 3
    # and once the database is back, fresh data replaces it at the next retry
    load.fail, load.value = False, 8
    clock.advance(ttlcache.STALE_RETRY_SECONDS + 0.1)
    assert ttlcache.get_or_load("k", load) == 8


def test_a_stale_value_is_not_served_past_the_window(settings, monkeypatch):
    # given a value that expired longer ago than the stale-if-error window
    settings.CONFIG_CACHE_SECONDS = 1
    settings.CONFIG_STALE_IF_ERROR_SECONDS = 10
    clock = Clock(monkeypatch)
    load = FailingLoader(7)
    ttlcache.get_or_load("k", load)
    load.fail = True
    clock.advance(1 + 10 + 0.5)

    # when the database is unreachable, then the error surfaces (the caller answers 503)
    with pytest.raises(OperationalError):
        ttlcache.get_or_load("k", load)


def test_a_miss_with_nothing_cached_raises_the_database_error(settings):
    settings.CONFIG_STALE_IF_ERROR_SECONDS = 60
    load = FailingLoader(7)
    load.fail = True
    with pytest.raises(OperationalError):
        ttlcache.get_or_load("never-loaded", load)


def test_errors_other_than_an_unreachable_database_are_not_hidden(settings, monkeypatch):
    # given an expired value whose reload fails for a reason that is not an outage
    settings.CONFIG_CACHE_SECONDS = 1
    settings.CONFIG_STALE_IF_ERROR_SECONDS = 60
    clock = Clock(monkeypatch)
    ttlcache.get_or_load("k", lambda: 1)
    clock.advance(2)

    def broken() -> int:
        raise ValueError("a bug")

    # then the bug is raised, not papered over with the old value
    with pytest.raises(ValueError):
        ttlcache.get_or_load("k", broken)


class Clock:
    """``time.monotonic`` as ttlcache sees it, moved forward by the test."""

    def __init__(self, monkeypatch) -> None:
        self.now = 1_000_000.0
        monkeypatch.setattr(ttlcache.time, "monotonic", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- a full cache: bounded, and what it drops -------------------------------------------------


@pytest.fixture
def small_cache(settings, monkeypatch):
    """A cache of 10 entries (it keeps 9 when it must drop live ones) on a hand-moved clock,
    without a stale-if-error window: an expired entry can serve nothing more."""
    settings.CONFIG_STALE_IF_ERROR_SECONDS = 0
    clock = Clock(monkeypatch)
    monkeypatch.setattr(ttlcache, "_MAX_ENTRIES", 10)
    ttlcache.clear()
    return clock


def load_all(keys, *, ttl: float) -> dict[str, Loader]:
    loaders = {key: Loader() for key in keys}
    for key, load in loaders.items():
        ttlcache.get_or_load(key, load, ttl=ttl)
    return loaders


def test_a_full_cache_drops_its_expired_entries_and_keeps_the_live_ones(small_cache):
    # given a full cache: 4 entries still fresh, 6 expired (nobody asked for them again)
    live = load_all([f"live-{n}" for n in range(4)], ttl=60)
    load_all([f"old-{n}" for n in range(6)], ttl=1)
    small_cache.advance(2)
    # when one more key is loaded
    ttlcache.get_or_load("new", Loader(), ttl=60)
    # then the expired entries made room, and every live one is still served from the cache
    assert len(ttlcache._store) == 5
    for key, load in live.items():
        ttlcache.get_or_load(key, load, ttl=60)
        assert load.calls == 1, key


def test_a_full_cache_of_live_entries_drops_the_longest_loaded_not_everything(small_cache):
    # given a full cache of live entries, k0 loaded first
    loaders = load_all([f"k{n}" for n in range(10)], ttl=60)
    # when one more key is loaded
    ttlcache.get_or_load("k10", Loader(), ttl=60)
    # then only the oldest entry went (down to 9, plus the new one), not the whole cache
    assert list(ttlcache._store) == [f"k{n}" for n in range(1, 11)]
    for n in range(1, 10):
        ttlcache.get_or_load(f"k{n}", loaders[f"k{n}"], ttl=60)
        assert loaders[f"k{n}"].calls == 1


def test_a_reloaded_entry_counts_as_young_when_the_cache_is_full(small_cache):
    # given a full cache whose first entry expired and was asked for again (reloaded)
    hot = Loader()
    ttlcache.get_or_load("hot", hot, ttl=1)
    load_all([f"k{n}" for n in range(9)], ttl=60)
    small_cache.advance(2)
    ttlcache.get_or_load("hot", hot, ttl=1)
    assert hot.calls == 2
    # when one more key is loaded
    ttlcache.get_or_load("new", Loader(), ttl=60)
    # then the entry loaded longest ago went, and the one just reloaded stayed with the others
    assert "k0" not in ttlcache._store
    assert [f"k{n}" for n in range(1, 9)] == [key for key in ttlcache._store if key.startswith("k")]
    ttlcache.get_or_load("hot", hot, ttl=1)
    assert hot.calls == 2


def test_a_stream_of_distinct_keys_costs_a_hot_key_one_load_per_ttl(small_cache):
    # given a hot key read between the misses of a stream of distinct keys (a scan of unknown
    # client ids, say): 4 misses per second for 25 s against a 10-entry cache with a 1 s TTL
    hot = Loader()
    for n in range(100):
        ttlcache.get_or_load("hot", hot, ttl=1)
        ttlcache.get_or_load(f"scan-{n}", Loader(), ttl=1)
        small_cache.advance(0.25)
    # then the cache stayed bounded, and the hot key was loaded once per TTL (25 s: 25 loads),
    # not again each time the cache filled up
    assert len(ttlcache._store) <= 10
    assert hot.calls == 25


def test_a_full_cache_keeps_expired_entries_it_could_still_serve_through_an_outage(small_cache, settings):
    # given a full cache: 6 expired entries still inside their stale-if-error window, 4 fresh
    settings.CONFIG_STALE_IF_ERROR_SECONDS = 60
    load_all([f"old-{n}" for n in range(6)], ttl=1)
    load_all([f"live-{n}" for n in range(4)], ttl=60)
    small_cache.advance(2)
    # when one more key is loaded
    ttlcache.get_or_load("new", Loader(), ttl=60)
    # then only the longest loaded went: the others can still serve if the database goes away
    assert list(ttlcache._store) == [
        *(f"old-{n}" for n in range(1, 6)),
        *(f"live-{n}" for n in range(4)),
        "new",
    ]
