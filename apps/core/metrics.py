"""Prometheus metrics (prometheus-client), multi-process safe under the production server.

``config.serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at an empty directory before granian
forks its workers: each worker then writes its samples to memory-mapped files there, and
``/metrics`` (served by whichever worker takes the scrape) adds up every worker's files
(prometheus-client's multiprocess mode). Without that variable (tests, ``manage.py``), a
process reports its own samples.

What is measured:

- ``portcullis_tokens_total{tenant, grant_type, outcome, error}``: every token request the
  token endpoint answered, issued or refused (recorded where the token log records it);
- ``portcullis_http_request_duration_seconds{endpoint, method}`` and
  ``portcullis_http_responses_total{endpoint, method, status}``: per URL pattern (Django's
  URL name, so the label set is bounded by the routes, never by ids in paths);
- ``portcullis_database_unavailable_total{surface}``: requests answered 503 because the
  database was unreachable; ``portcullis_config_stale_served_total``: cached configuration
  served past its expiry during such an outage; ``portcullis_cache_errors_total{operation}``:
  failed reads/writes of the shared cache (Redis);
- ``portcullis_token_log_queue_depth``: token-log events waiting for the database, as of each
  worker's last flush (summed over workers).

Cost on the hot path: in multiprocess mode every prometheus-client update writes a memory-mapped
file under a lock (~6-10 µs each; a token request makes three). So requests only add to an
in-memory tally (a dict under a lock, well under a microsecond), and a daemon thread applies the
tally to prometheus-client every ``METRICS_FLUSH_SECONDS`` (and a scrape applies its own worker's
first). Another worker's latest second may therefore be missing from a scrape; it arrives in the
next. ``METRICS_FLUSH_SECONDS = 0`` applies every update at once (tests).
"""

from __future__ import annotations

import atexit
import bisect
import logging
import os
import threading
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

logger = logging.getLogger(__name__)

TOKENS = Counter(
    "portcullis_tokens",
    "Token requests answered by the token endpoint, by outcome (issued or refused).",
    ["tenant", "grant_type", "outcome", "error"],
)
REQUEST_SECONDS = Histogram(
    "portcullis_http_request_duration_seconds",
    "Time from the request reaching Django to its response, per URL pattern.",
    ["endpoint", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
RESPONSES = Counter(
    "portcullis_http_responses",
    "Responses per URL pattern and status code.",
    ["endpoint", "method", "status"],
)
DATABASE_UNAVAILABLE = Counter(
    "portcullis_database_unavailable",
    "Requests answered 503 because the database was unreachable.",
    ["surface"],
)
CONFIG_STALE_SERVED = Counter(
    "portcullis_config_stale_served",
    "Cached configuration served past its expiry while the database was unreachable.",
)
CACHE_ERRORS = Counter(
    "portcullis_cache_errors", "Failed operations on the shared cache (Redis).", ["operation"]
)
TOKEN_LOG_QUEUE = Gauge(
    "portcullis_token_log_queue_depth",
    "Token-log events queued in memory, waiting to be written (as of each worker's last flush).",
    multiprocess_mode="livesum",
)

OUTCOME_ISSUED = "issued"
OUTCOME_REFUSED = "refused"
UNMATCHED_ENDPOINT = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# --- the in-memory tally, applied in the background ---------------------------------------------
_lock = threading.Lock()
_counts: dict[tuple[Counter, tuple[str, ...]], float] = {}
# (histogram, label values) -> [sum, count in bucket 0, count in bucket 1, ...]
_observations: dict[tuple[Histogram, tuple[str, ...]], list[float]] = {}
_flusher: threading.Thread | None = None


def count(counter: Counter, *labels: str, amount: float = 1.0) -> None:
    """Add ``amount`` to ``counter``'s series ``labels`` (applied within METRICS_FLUSH_SECONDS)."""
    key = (counter, labels)
    with _lock:
        _counts[key] = _counts.get(key, 0.0) + amount
    if _flusher is None:
        _start_flusher()


def observe(histogram: Histogram, *labels: str, value: float) -> None:
    """Record one observation of ``histogram``'s series ``labels`` (applied within METRICS_FLUSH_SECONDS)."""
    key = (histogram, labels)
    # Histogram internals (_upper_bounds, _sum, _buckets): what Histogram.observe itself uses;
    # test_the_batched_tally_gives_what_prometheus_client_would_have_recorded guards them.
    bucket = bisect.bisect_left(histogram._upper_bounds, value)
    with _lock:
        tally = _observations.get(key)
        if tally is None:
            tally = _observations[key] = [0.0] * (len(histogram._upper_bounds) + 1)
        tally[0] += value
        tally[bucket + 1] += 1
    if _flusher is None:
        _start_flusher()


def flush() -> None:
    """Apply the tally to prometheus-client (its memory-mapped files in multiprocess mode)."""
    with _lock:
        if not _counts and not _observations:
            return
        counts, observations = _counts.copy(), _observations.copy()
        _counts.clear()
        _observations.clear()
    for (counter, labels), amount in counts.items():
        counter.labels(*labels).inc(amount)
    for (histogram, labels), tally in observations.items():
        # Histogram.observe, for many observations at once: the sum, and each bucket's count.
        child = histogram.labels(*labels)
        child._sum.inc(tally[0])
        for bucket, observed in enumerate(tally[1:]):
            if observed:
                child._buckets[bucket].inc(observed)


def _start_flusher() -> None:
    global _flusher
    with _lock:
        if _flusher is not None:
            return
        _flusher = threading.Thread(target=_run_flusher, name="metrics-flusher", daemon=True)
        _flusher.start()
    atexit.register(flush)


def _run_flusher() -> None:
    while True:
        interval = settings.METRICS_FLUSH_SECONDS
        time.sleep(interval if interval > 0 else 0.2)
        try:
            flush()
        except Exception:  # the flusher must outlive a failed flush, or metrics stop for good
            logger.exception("Metrics: applying the tally failed")


def _apply_at_once() -> bool:
    return settings.METRICS_FLUSH_SECONDS <= 0


def token_answered(*, tenant: str, grant_type: str, error: str) -> None:
    """Count one answer of the token endpoint (``error`` empty when a token was issued)."""
    count(TOKENS, tenant, grant_type, OUTCOME_REFUSED if error else OUTCOME_ISSUED, error)
    if _apply_at_once():
        flush()


def exposition() -> tuple[bytes, str]:
    """The metrics text: every worker's samples in multiprocess mode, this process's otherwise."""
    flush()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics`` for Prometheus. With ``METRICS_BEARER_TOKEN`` set, only with that bearer token."""
    expected = settings.METRICS_BEARER_TOKEN
    if expected:
        presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not constant_time_compare(presented, expected):
            response = HttpResponse("Missing or wrong bearer token.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    body, content_type = exposition()
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response


def request_answered(request: HttpRequest, response: HttpResponse, *, seconds: float) -> None:
    """Time one request and count its status, labelled by URL pattern.

    Called by ``apps.core.request_log.RequestLogMiddleware``, which already times every request
    (first in both middleware chains): one timing and one layer on the token path, not two.
    """
    match = getattr(request, "resolver_match", None)
    # The URL name without its namespace: the lean handler's URLconf names the token route
    # "token" as the full one does, without the "oauth:" namespace.
    endpoint = (match.url_name or match.view_name) if match is not None else UNMATCHED_ENDPOINT
    method = request.method if request.method in _METHODS else "other"  # a bounded label set
    observe(REQUEST_SECONDS, endpoint, method, value=seconds)
    count(RESPONSES, endpoint, method, str(response.status_code))
    if _apply_at_once():
        flush()
