"""The per-process config cache: memoised reads, and changes that reach every process."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction

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
    cache.delete(ttlcache.GENERATION_KEY)
    ttlcache.clear()
    yield
    cache.delete(ttlcache.GENERATION_KEY)


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


def test_change_published_by_another_process_empties_the_memo(shared_cache, settings):
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
