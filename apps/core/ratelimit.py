"""Fixed-window rate limits, counted by ``apps.core.counters``: shared by every server process (in
Redis with ``REDIS_URL``, in the database without it), so the limit holds across processes.

A window is ``window_seconds`` long and aligned to the epoch; its counter's key names the window,
and lives until just after the window ends. Every hit is one atomic increment (one cache round
trip, or one statement). A fixed window lets a client spend up to twice the limit around a window
boundary; for abuse limits that is fine.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from apps.core.counters import counter_get, counter_incr

logger = logging.getLogger(__name__)

KEY_PREFIX = "portcullis:ratelimit"


@dataclass(frozen=True, slots=True)
class RateLimitResult:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window ends (what a Retry-After header says)


def rate_limit_hit(*, scope: str, key: str, limit: int, window_seconds: int) -> RateLimitResult:
    """Count one hit for ``key`` within ``scope`` and say whether it is within ``limit`` per window.

    Counters that fail (the cache is down) are logged and let the hit through: an outage of the
    cache must not take down what the limit protects (the limit's purpose is to slow abuse, not to
    gate access).
    """
    window, retry_after = _window(window_seconds)
    try:
        count = counter_incr(key=_counter_key(scope, key, window), ttl_seconds=retry_after + 1)
    except Exception:
        logger.warning("Rate limit %s not enforced: its counter is unavailable", scope, exc_info=True)
        return RateLimitResult(allowed=True, count=0, retry_after=0)
    return RateLimitResult(allowed=count <= limit, count=count, retry_after=retry_after)


def _counter_key(scope: str, key: str, window: int) -> str:
    return f"{KEY_PREFIX}:{scope}:{key}:{window}"


def _window(window_seconds: int) -> tuple[int, int]:
    now = time.time()
    window = int(now // window_seconds)
    return window, max(1, math.ceil((window + 1) * window_seconds - now))


def rate_limit_peek(*, scope: str, key: str, limit: int, window_seconds: int) -> RateLimitResult:
    """Whether ``key`` is still within ``limit`` in the current window, without counting a hit.

    For limits that count only some outcomes (failed sign-ins) but refuse every request once
    reached: peek before the work, ``rate_limit_hit`` after a failure. ``allowed`` is False once
    ``limit`` hits were counted. Counters that fail let the request through (see above).
    """
    window, retry_after = _window(window_seconds)
    try:
        count = counter_get(key=_counter_key(scope, key, window))
    except Exception:
        logger.warning("Rate limit %s not enforced: its counter is unavailable", scope, exc_info=True)
        return RateLimitResult(allowed=True, count=0, retry_after=0)
    return RateLimitResult(allowed=count < limit, count=count, retry_after=retry_after)
