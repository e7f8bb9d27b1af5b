"""A small per-process cache with a time-to-live, for configuration the token path reads.

The token endpoint must not touch the database on every request (DESIGN.md, "What we
know about speed"), so tenant, client, API, grant and key data are memoised here for
``settings.CONFIG_CACHE_SECONDS``. Services that change that data call ``invalidate``:
the change is visible at once in this process and within the TTL in every other one.
Misses (``None``) are cached too, so unknown client ids cannot hammer the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings

_MAX_ENTRIES = 50_000
_store: dict[Hashable, tuple[float, Any]] = {}
_lock = threading.Lock()


def get_or_load[T](key: Hashable, loader: Callable[[], T]) -> T:
    """Return the cached value for ``key`` or call ``loader`` and remember its result."""
    now = time.monotonic()
    hit = _store.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    ttl = settings.CONFIG_CACHE_SECONDS  # read on a miss only: settings access is not free on the hot path
    value = loader()
    if ttl > 0:
        with _lock:
            if len(_store) >= _MAX_ENTRIES:
                _store.clear()
            _store[key] = (now + ttl, value)
    return value


def invalidate(*keys: Hashable) -> None:
    with _lock:
        for key in keys:
            _store.pop(key, None)


def clear() -> None:
    with _lock:
        _store.clear()
