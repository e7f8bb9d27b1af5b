"""Sizes for the reliability suite: small in ``make test``, full with ``make reliability``
(``RELIABILITY_SIZE=full``), and the shared Redis the multi-process scenarios use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
import redis

from tests.reliability.servers import server

REDIS_URL = os.environ.get("RELIABILITY_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


@dataclass(frozen=True)
class Size:
    outage_seconds: float
    load_threads: int
    concurrent_requests: int
    parallel_redemptions: int
    rotation_seconds: float


FULL = os.environ.get("RELIABILITY_SIZE", "small") == "full"
SIZE = (
    Size(
        outage_seconds=10,
        load_threads=16,
        concurrent_requests=500,
        parallel_redemptions=20,
        rotation_seconds=12,
    )
    if FULL
    else Size(
        outage_seconds=4, load_threads=6, concurrent_requests=200, parallel_redemptions=20, rotation_seconds=5
    )
)


@pytest.fixture
def shared_redis() -> Iterator[str]:
    """An empty Redis database for the servers under test to share (emptied again afterwards)."""
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def two_servers(tmp_path, shared_redis):
    """Two ``config.serve`` processes (one worker each) on the test database and one Redis."""
    env = {"REDIS_URL": shared_redis, "TOKEN_LOG_FLUSH_SECONDS": "0.5"}
    with ExitStack() as stack:
        yield [
            stack.enter_context(server(tmp_path / f"server{index}.log", threads=8, env=env))
            for index in (1, 2)
        ]
