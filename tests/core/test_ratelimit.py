"""The fixed-window rate limit, counted by ``apps.core.counters`` (in the database in tests: rows are
rolled back between tests; tests/core/test_counters.py covers both places counters live)."""

from __future__ import annotations

import pytest

from apps.core import ratelimit
from apps.core.ratelimit import rate_limit_hit, rate_limit_peek

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("database_counters")]


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


def test_a_peek_sees_the_hits_without_counting_one(monkeypatch):
    # given a clock 10 s into a 60 s window, and a key hit twice with a limit of two
    monkeypatch.setattr(ratelimit.time, "time", lambda: 6_000_010.0)
    for _ in range(2):
        rate_limit_hit(scope="s", key="k", limit=2, window_seconds=60)
    # when it is peeked at twice
    peeks = [rate_limit_peek(scope="s", key="k", limit=2, window_seconds=60) for _ in range(2)]
    # then both see two hits, the limit reached, and the next hit is the third
    assert [(p.allowed, p.count, p.retry_after) for p in peeks] == [(False, 2, 50)] * 2
    assert rate_limit_hit(scope="s", key="k", limit=2, window_seconds=60).count == 3
    # and a key never hit is allowed
    assert rate_limit_peek(scope="s", key="other", limit=2, window_seconds=60).allowed


def test_unavailable_counters_let_the_hit_through_and_log_it(monkeypatch, caplog):
    def broken(**kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(ratelimit, "counter_incr", broken)
    monkeypatch.setattr(ratelimit, "counter_get", broken)
    result = rate_limit_hit(scope="dcr", key="k", limit=1, window_seconds=60)
    assert (result.allowed, result.count) == (True, 0)
    assert "Rate limit dcr not enforced" in caplog.text
    assert rate_limit_peek(scope="signin-ip", key="k", limit=1, window_seconds=60).allowed
    assert "Rate limit signin-ip not enforced" in caplog.text
