"""Fixed-window rate limits in Django's cache (Redis with ``REDIS_URL``, shared by every process;
per-process memory otherwise, so each process then allows the limit on its own).

A window is ``window_seconds`` long and aligned to the epoch; the first hit in a window
creates its counter with ``cache.add`` (atomic: only one process wins), every hit increments
it with ``cache.incr`` (atomic in Redis and in the local-memory cache). A fixed window lets a
client spend up to twice the limit around a window boundary; for abuse limits that is fine,
and it costs one cache round trip per hit.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import cache

logger = logging.getLogger(__name__)

KEY_PREFIX = "portcullis:ratelimit"


@dataclass(frozen=True, slots=True)
class RateLimitResult:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window ends (what a Retry-After header says)


def rate_limit_hit(*, scope: str, key: str, limit: int, window_seconds: int) -> RateLimitResult:
    """Count one hit for ``key`` within ``scope`` and say whether it is within ``limit`` per window.

    A cache that fails is logged and lets the hit through: an outage of the cache must not
    take down what the limit protects (the limit's purpose is to slow abuse, not to gate access).
    """
    window, retry_after = _window(window_seconds)
    cache_key = f"{KEY_PREFIX}:{scope}:{key}:{window}"
    try:
        try:
            cache.add(cache_key, 0, timeout=window_seconds + 1)
            count = cache.incr(cache_key)
        except ValueError:  # the counter expired between add and incr: this is the first hit again
            cache.set(cache_key, 1, timeout=window_seconds + 1)
            count = 1
    except Exception:
        logger.warning("Rate limit %s not enforced: the cache is unavailable", scope, exc_info=True)
        return RateLimitResult(allowed=True, count=0, retry_after=0)
    return RateLimitResult(allowed=count <= limit, count=count, retry_after=retry_after)


def _window(window_seconds: int) -> tuple[int, int]:
    now = time.time()
    window = int(now // window_seconds)
    return window, max(1, math.ceil((window + 1) * window_seconds - now))


def rate_limit_peek(*, scope: str, key: str, limit: int, window_seconds: int) -> RateLimitResult:
    """Whether ``key`` is still within ``limit`` in the current window, without counting a hit.

    For limits that count only some outcomes (failed sign-ins) but refuse every request once
    reached: peek before the work, ``rate_limit_hit`` after a failure. ``allowed`` is False once
    ``limit`` hits were counted. A cache that fails lets the request through (see above).
    """
    window, retry_after = _window(window_seconds)
    try:
        count = cache.get(f"{KEY_PREFIX}:{scope}:{key}:{window}") or 0
    except Exception:
        logger.warning("Rate limit %s not enforced: the cache is unavailable", scope, exc_info=True)
        return RateLimitResult(allowed=True, count=0, retry_after=0)
    return RateLimitResult(allowed=count < limit, count=count, retry_after=retry_after)
