"""The issuer's deny list of revoked access tokens, polled over HTTP and cached per process.

A JWT access token verifies offline until its ``exp``. When the issuer revokes one before that
(RFC 7009 revocation, an admin deny-listing a leaked token, a revoked grant) it publishes the
token's ``jti`` in a small public feed per API, much like its JWKS::

    GET <ISSUER>oauth/deny-list?audience=<API identifier>
    200 {"audience": "<API identifier>", "denied": [{"jti": "...", "exp": 1767225600}, ...],
         "refresh_interval": 30}          with an ETag; If-None-Match -> 304

The kit polls it lazily, on the request path: once the list in hand is ``DENY_LIST_REFRESH``
seconds old, one request refetches it (``If-None-Match``: an unchanged list costs a 304 and no
body) while concurrent requests go on using the list they have. A revoked token is therefore
accepted for at most ``DENY_LIST_REFRESH`` seconds after the issuer publishes it, and each API
process sends the issuer one request per interval, whatever its traffic. (The feed's
``refresh_interval`` is the issuer's suggestion; the API's own setting decides, so its README
promise holds.)

A failed fetch (unreachable, an HTTP error, a body that is not this API's deny list) never
forgets what is known: the last good list stays in force, a warning is logged, and the fetch
is retried after 1, 2, 4... seconds, never more than the refresh interval. Before the first
good fetch there is no list at all; ``DENY_LIST_FAIL_CLOSED`` (default True) then refuses
tokens, False accepts them as if the deny list were off. README.md says why.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, Protocol
from urllib.error import HTTPError

from . import errors
from .conf import ResourceServerConfig

logger = logging.getLogger(__name__)

USER_AGENT = "resource-kit (deny-list poller)"
# The feed is meant to be small (unexpired entries of one API). A body beyond this is refused
# rather than read into memory: about 100,000 entries, far more than a sane deny list holds.
MAX_FEED_BYTES = 8 * 1024 * 1024
INITIAL_BACKOFF = 1.0  # seconds before the first retry after a failed fetch; doubles per failure
_MAX_BACKOFF_DOUBLINGS = 16  # keeps 2**n a small float however long an outage lasts


class Clock(Protocol):
    """Two clocks: ``monotonic`` schedules refreshes (immune to wall-clock jumps), ``time`` is
    compared with the entries' ``exp`` (Unix seconds)."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...


# The ``time`` module is a Clock. Tests swap in one they can advance instead of sleeping.
clock: Clock = time


class DenyListUnavailable(Exception):
    """A fetch failed. The reason is logged for the operator, never shown to API callers."""


@dataclass(frozen=True, slots=True)
class DenyList:
    """One fetched list, immutable so threads can share it: ``jti -> exp``, and its ETag."""

    denied: Mapping[str, float]
    etag: str | None = None

    def __contains__(self, jti: object) -> bool:
        return jti in self.denied

    def unexpired(self, *, now: float, leeway: float) -> DenyList:
        """Entries a verifier could still accept: a token passes ``exp`` checks until ``exp + leeway``,
        so its entry must live as long, or a revoked token would slip through in that window."""
        kept = {jti: exp for jti, exp in self.denied.items() if exp + leeway >= now}
        return DenyList(denied=MappingProxyType(kept), etag=self.etag)


class DenyListCache:
    """The deny list of one feed URI: fetched when due, at most one fetch at a time."""

    def __init__(self, uri: str, *, clock: Clock = time) -> None:
        self.uri = uri
        self.clock = clock
        self._list: DenyList | None = None
        self._next_fetch_at = float("-inf")  # due at once
        self._failures = 0
        self._fetch_lock = threading.Lock()

    def current(self, *, config: ResourceServerConfig) -> DenyList | None:
        """The list in force, refreshed first when due; None while no fetch has succeeded yet."""
        if self.clock.monotonic() >= self._next_fetch_at:
            self._refresh(config)
        return self._list

    def _refresh(self, config: ResourceServerConfig) -> None:
        # With a list in hand nobody waits: one request refetches, the others use what is there.
        # Without one there is nothing to use, so the others wait for that single fetch (bounded by
        # the HTTP timeout) rather than each sending their own.
        if self._list is not None:
            acquired = self._fetch_lock.acquire(blocking=False)
        else:
            acquired = self._fetch_lock.acquire(timeout=config.jwks_timeout + 1)
        if not acquired:
            return
        try:
            if self.clock.monotonic() >= self._next_fetch_at:  # not refreshed while this one waited
                self._fetch(config)
        finally:
            self._fetch_lock.release()

    def _fetch(self, config: ResourceServerConfig) -> None:
        previous = self._list
        try:
            fetched = fetch_deny_list(uri=self.uri, config=config, previous=previous)
        except DenyListUnavailable as exc:
            self._failures += 1
            doublings = min(self._failures - 1, _MAX_BACKOFF_DOUBLINGS)
            backoff = min(config.deny_list_refresh, INITIAL_BACKOFF * 2**doublings)
            self._next_fetch_at = self.clock.monotonic() + backoff
            if previous is not None:
                consequence = "keeping the last good list"
            elif config.deny_list_fail_closed:
                consequence = "refusing tokens until it succeeds (DENY_LIST_FAIL_CLOSED)"
            else:
                consequence = "accepting tokens unchecked until it succeeds"
            # The URI is configuration and the reason holds no token material: safe to log.
            logger.warning(
                "Deny list fetch from %s failed: %s; %s; retrying in %g s.",
                self.uri,
                exc,
                consequence,
                backoff,
            )
            return
        self._list = fetched.unexpired(now=self.clock.time(), leeway=config.leeway)
        self._failures = 0
        self._next_fetch_at = self.clock.monotonic() + config.deny_list_refresh


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Like the JWKS client: the feed is fetched from the configured URI only, never elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


def fetch_deny_list(*, uri: str, config: ResourceServerConfig, previous: DenyList | None) -> DenyList:
    """The feed at ``uri``; ``previous`` again when the server answers 304 to its ETag.

    Raises ``DenyListUnavailable`` for anything but a well-formed deny list of this API.
    """
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    etag = previous.etag if previous is not None else None
    if etag:
        headers["If-None-Match"] = etag  # RFC 9110 section 13.1.2
    # conf.parse_config admits http(s) URIs only, so no file: or custom scheme reaches urllib.
    request = urllib.request.Request(uri, headers=headers)  # noqa: S310
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=config.jwks_timeout) as response:
            body = response.read(MAX_FEED_BYTES + 1)
            new_etag = response.headers.get("ETag")
    except HTTPError as exc:
        exc.close()
        if exc.code == HTTPStatus.NOT_MODIFIED and previous is not None and etag:
            return previous  # RFC 9110 section 15.4.5: the list in hand is still the issuer's
        raise DenyListUnavailable(f"HTTP {exc.code}") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # OSError covers URLError, timeouts and connection resets while reading the body.
        raise DenyListUnavailable(str(exc) or type(exc).__name__) from None
    if len(body) > MAX_FEED_BYTES:
        raise DenyListUnavailable(f"the body is larger than {MAX_FEED_BYTES} bytes")
    return DenyList(denied=MappingProxyType(parse_deny_list(body, audience=config.audience)), etag=new_etag)


def parse_deny_list(body: bytes, *, audience: str) -> dict[str, float]:
    """``jti -> exp`` from a feed body, or ``DenyListUnavailable`` if it is not this API's deny list.

    One bad entry spoils the whole body: a feed that is wrong in part cannot be trusted in the
    rest, and the last good list is the safer thing to keep using.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; absurd nesting recurses
        raise DenyListUnavailable("the body is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("denied"), list):
        raise DenyListUnavailable('the body is not a deny list (no "denied" array)')
    # A DENY_LIST_URI naming another API's feed would otherwise "work" and deny nothing here.
    if document.get("audience") != audience:
        raise DenyListUnavailable("the deny list is not this API's (its audience differs)")
    denied: dict[str, float] = {}
    for entry in document["denied"]:
        jti = entry.get("jti") if isinstance(entry, dict) else None
        exp = entry.get("exp") if isinstance(entry, dict) else None
        try:
            if (
                not isinstance(jti, str)
                or not jti
                or isinstance(exp, bool)
                or not isinstance(exp, int | float)
            ):
                raise TypeError
            exp = float(exp)  # OverflowError for an integer beyond any float
        except (TypeError, OverflowError):
            raise DenyListUnavailable('an entry of "denied" is not {"jti": string, "exp": number}') from None
        denied[jti] = max(exp, denied.get(jti, float("-inf")))
    return denied


_caches: dict[str, DenyListCache] = {}
_caches_lock = threading.Lock()


def deny_list_cache(config: ResourceServerConfig) -> DenyListCache:
    """The shared cache for ``config.deny_list_uri``; created on first use with the module's clock."""
    cache = _caches.get(config.deny_list_uri)
    if cache is None:
        with _caches_lock:
            cache = _caches.get(config.deny_list_uri)
            if cache is None:
                cache = _caches[config.deny_list_uri] = DenyListCache(config.deny_list_uri, clock=clock)
    return cache


def clear_deny_list_cache() -> None:
    """Forget every fetched deny list (tests; the next request fetches afresh)."""
    with _caches_lock:
        _caches.clear()


def check_not_revoked(*, jti: str, config: ResourceServerConfig) -> None:
    """Raise ``InvalidToken`` when ``jti`` is on the issuer's deny list.

    Also when no list could be fetched yet and ``DENY_LIST_FAIL_CLOSED`` is on: the token
    cannot be shown not to be revoked.
    """
    denied = deny_list_cache(config).current(config=config)
    if denied is None:
        if config.deny_list_fail_closed:
            raise errors.InvalidToken(errors.MSG_DENY_LIST_UNAVAILABLE)
        return
    if jti in denied:
        raise errors.InvalidToken(errors.MSG_TOKEN_REVOKED)
