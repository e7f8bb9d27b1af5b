"""Sizes for the reliability suite: small in ``make test``, full with ``make reliability``
(``RELIABILITY_SIZE=full``)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    outage_seconds: float
    load_threads: int


FULL = os.environ.get("RELIABILITY_SIZE", "small") == "full"
SIZE = Size(outage_seconds=10, load_threads=16) if FULL else Size(outage_seconds=4, load_threads=6)
