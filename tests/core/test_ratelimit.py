"""The fixed-window rate limit in Django's cache."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from apps.core import ratelimit
from apps.core.ratelimit import rate_limit_hit


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_hits_beyond_the_limit_are_refused_until_the_window_ends(monkeypatch):
    # given a clock 10 s into a 60 s window
    monkeypatch.setattr(ratelimit.time, "time", lambda: 6_000_010.0)
    # when one key is hit three times with a limit of two
    results = [rate_limit_hit(scope="s", key="k", limit=2, window_seconds=60) for _ in range(3)]
    # then the third is refused, and told to retry when the window ends
    assert [(r.allowed, r.count) for r in results] == [(True, 1), (True, 2), (False, 3)]
    assert results[2].retry_after == 50
    # and other keys and scopes count on their own
    assert rate_limit_hit(scope="s", key="other", limit=2, window_seconds=60).allowed
    assert rate_limit_hit(scope="other", key="k", limit=2, window_seconds=60).allowed
    # when the next window starts, then the key is allowed again
    monkeypatch.setattr(ratelimit.time, "time", lambda: 6_000_060.5)
    assert rate_limit_hit(scope="s", key="k", limit=2, window_seconds=60).count == 1


def test_a_counter_that_expired_between_add_and_incr_starts_again(monkeypatch):
    monkeypatch.setattr(cache, "add", lambda *args, **kwargs: False)  # as if it existed, then expired
    result = rate_limit_hit(scope="s", key="k", limit=1, window_seconds=60)
    assert (result.allowed, result.count) == (True, 1)
    assert rate_limit_hit(scope="s", key="k", limit=1, window_seconds=60).allowed is False


def test_an_unavailable_cache_lets_the_hit_through_and_logs_it(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "add", broken)
    result = rate_limit_hit(scope="dcr", key="k", limit=1, window_seconds=60)
    assert result.allowed
    assert "Rate limit dcr not enforced" in caplog.text
