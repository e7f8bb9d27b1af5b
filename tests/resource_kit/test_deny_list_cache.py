"""The deny-list cache against a fake feed over real HTTP: refresh interval, ETag, expiry, outages.

The clock is injected (``fake_clock``): the tests move time forward instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
import time
from http import HTTPStatus

import pytest

from apps.resource_kit import deny_list, errors
from apps.resource_kit.conf import parse_config
from apps.resource_kit.deny_list import DenyListCache, check_not_revoked, deny_list_cache

AUDIENCE = "https://api.example.com"
REFRESH = 30


def config_for(feed, **overrides):
    return parse_config(
        {
            "ISSUER": "https://auth.example.com/t/demo/",
            "AUDIENCE": AUDIENCE,
            "ALGORITHMS": ["RS256"],
            "DENY_LIST": True,
            "DENY_LIST_URI": feed.url,
            "DENY_LIST_REFRESH": REFRESH,
            "JWKS_TIMEOUT": 2,
            **overrides,
        }
    )


def denied_jtis(cache, config) -> set[str]:
    current = cache.current(config=config)
    assert current is not None
    return set(current.denied)


# --- Refresh interval and ETag ------------------------------------------------------------------


def test_list_is_fetched_once_per_refresh_interval(deny_list_feed, fake_clock):
    # given a feed denying one token, and a cache that fetched it
    deny_list_feed.deny("leaked")
    config = config_for(deny_list_feed)
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    assert denied_jtis(cache, config) == {"leaked"}
    # when the list is asked for again just inside the interval, then just after it
    fake_clock.advance(REFRESH - 1)
    within = denied_jtis(cache, config)
    hits_within = deny_list_feed.hits
    fake_clock.advance(2)
    after = denied_jtis(cache, config)
    # then only the second ask refetched
    assert within == after == {"leaked"}
    assert hits_within == 1
    assert deny_list_feed.hits == 2


def test_refresh_revalidates_with_the_etag_and_keeps_the_list_on_304(deny_list_feed, fake_clock):
    # given a cache holding the feed's list
    deny_list_feed.deny("leaked")
    config = config_for(deny_list_feed)
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    first = cache.current(config=config)
    # when the interval passes and the feed has not changed
    fake_clock.advance(REFRESH + 1)
    second = cache.current(config=config)
    # then the refetch sent the ETag, got 304 (no body) and kept the same entries
    assert deny_list_feed.requests[0].get("If-None-Match") is None
    assert deny_list_feed.requests[1]["If-None-Match"] == deny_list_feed.etag()
    assert second is not None and dict(second.denied) == dict(first.denied)
    assert second.etag == deny_list_feed.etag()


def test_a_304_is_not_an_outage_it_restarts_the_interval(deny_list_feed, fake_clock):
    # given a list revalidated by a 304
    config = config_for(deny_list_feed)
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    cache.current(config=config)
    fake_clock.advance(REFRESH + 1)
    cache.current(config=config)
    # when asked again a few seconds later
    fake_clock.advance(5)
    cache.current(config=config)
    # then no retry happened (a failure would have been retried after 1 s)
    assert deny_list_feed.hits == 2


def test_a_changed_feed_is_picked_up_at_the_next_refresh(deny_list_feed, fake_clock):
    # given a cache holding an empty list
    config = config_for(deny_list_feed)
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    assert denied_jtis(cache, config) == set()
    # when the issuer revokes a token
    deny_list_feed.deny("leaked")
    before_refresh = denied_jtis(cache, config)
    fake_clock.advance(REFRESH + 1)
    after_refresh = denied_jtis(cache, config)
    # then it is denied from the next refresh on, not before
    assert before_refresh == set()
    assert after_refresh == {"leaked"}
    assert deny_list_feed.requests[1]["If-None-Match"] != deny_list_feed.etag()


def test_the_refresh_interval_comes_from_the_apis_setting(deny_list_feed, fake_clock):
    # given an API polling every 5 s
    config = config_for(deny_list_feed, DENY_LIST_REFRESH=5)
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    cache.current(config=config)
    # when 6 s pass
    fake_clock.advance(6)
    cache.current(config=config)
    # then it refetched
    assert deny_list_feed.hits == 2


# --- Expiry ---------------------------------------------------------------------------------------


def test_expired_entries_are_dropped_but_kept_through_the_leeway(deny_list_feed, fake_clock):
    # given a feed listing a token that expires in 100 s, with a 30 s leeway configured
    now = fake_clock.time()
    deny_list_feed.deny("soon", exp=now + 100)
    deny_list_feed.deny("later", exp=now + 3600)
    config = config_for(deny_list_feed, LEEWAY=30)
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    assert denied_jtis(cache, config) == {"soon", "later"}
    # when refreshed 120 s later (expired, but within the leeway a verifier still accepts it),
    # then 140 s later (past exp + leeway); the feed answers 304 both times
    fake_clock.advance(120)
    within_leeway = denied_jtis(cache, config)
    fake_clock.advance(REFRESH + 10)
    past_leeway = denied_jtis(cache, config)
    # then the entry lives exactly as long as its token could still be accepted
    assert within_leeway == {"soon", "later"}
    assert past_leeway == {"later"}
    assert deny_list_feed.hits == 3


def test_entries_already_expired_in_the_feed_are_not_kept(deny_list_feed, fake_clock):
    # given a feed (out of step with our clock) listing an entry long expired
    deny_list_feed.deny("old", exp=fake_clock.time() - 3600)
    deny_list_feed.deny("live")
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    # when it is fetched
    # then only the live entry is kept
    assert denied_jtis(cache, config_for(deny_list_feed)) == {"live"}


# --- Outages and bad bodies -----------------------------------------------------------------------

ENTRY = 'an entry of "denied" is not {"jti": string, "exp": number}'
NOT_A_LIST = 'the body is not a deny list (no "denied" array)'
BAD_FEEDS = {  # how the feed breaks -> the reason the warning gives
    "503": ({"status": HTTPStatus.SERVICE_UNAVAILABLE}, "HTTP 503"),
    "404 unknown audience": ({"audience": "https://another-api.example.com"}, "HTTP 404"),
    "redirect": ({"redirect_to": "http://127.0.0.1:9/elsewhere"}, "HTTP 302"),
    "not JSON": ({"raw_body": b"<html>maintenance</html>"}, "the body is not JSON"),
    "not UTF-8": ({"raw_body": b"\xff\xfe{}"}, "the body is not JSON"),
    "absurdly nested": ({"raw_body": b"[" * 100_000 + b"]" * 100_000}, "the body is not JSON"),
    "not an object": ({"raw_body": b"[]"}, NOT_A_LIST),
    "no denied array": ({"raw_body": b'{"audience": "https://api.example.com"}'}, NOT_A_LIST),
    "another API's list": (
        {"raw_body": b'{"audience": "https://other.example", "denied": []}'},
        "the deny list is not this API's (its audience differs)",
    ),
    "entry without exp": (
        {"raw_body": b'{"audience": "https://api.example.com", "denied": [{"jti": "a"}]}'},
        ENTRY,
    ),
    "entry with a bool exp": (
        {"raw_body": b'{"audience": "https://api.example.com", "denied": [{"jti": "a", "exp": true}]}'},
        ENTRY,
    ),
    "entry with an empty jti": (
        {"raw_body": b'{"audience": "https://api.example.com", "denied": [{"jti": "", "exp": 1}]}'},
        ENTRY,
    ),
    "entry with a string exp": (
        {"raw_body": b'{"audience": "https://api.example.com", "denied": [{"jti": "a", "exp": "1"}]}'},
        ENTRY,
    ),
    "entry with an absurd exp": (
        {
            "raw_body": b'{"audience": "https://api.example.com", "denied": [{"jti": "a", "exp": 1'
            + b"0" * 400
            + b"}]}"
        },
        ENTRY,
    ),
    "entry not an object": ({"raw_body": b'{"audience": "https://api.example.com", "denied": ["a"]}'}, ENTRY),
}


@pytest.mark.parametrize(("how", "reason"), BAD_FEEDS.values(), ids=BAD_FEEDS.keys())
def test_a_broken_feed_keeps_the_last_good_list(deny_list_feed, fake_clock, caplog, how, reason):
    # given a cache holding a list with one revoked token
    deny_list_feed.deny("leaked")
    config = config_for(deny_list_feed)
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    assert denied_jtis(cache, config) == {"leaked"}
    # when the feed breaks and the interval passes
    for name, value in how.items():
        setattr(deny_list_feed, name, value)
    fake_clock.advance(REFRESH + 1)
    with caplog.at_level(logging.WARNING, logger=deny_list.__name__):
        still = denied_jtis(cache, config)
    # then the fetch was tried, the last list stays in force, and the operator is told why
    assert deny_list_feed.hits == 2
    assert still == {"leaked"}
    assert caplog.messages == [
        f"Deny list fetch from {config.deny_list_uri} failed: {reason}; "
        "keeping the last good list; retrying in 1 s."
    ]


def test_an_unreachable_feed_keeps_the_last_good_list(deny_list_feed, fake_clock):
    # given a cache holding a list
    deny_list_feed.deny("leaked")
    config = config_for(deny_list_feed)
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    cache.current(config=config)
    # when the feed's server goes away
    deny_list_feed.stop()
    fake_clock.advance(REFRESH + 1)
    # then the list stays in force
    assert denied_jtis(cache, config) == {"leaked"}


def test_failed_fetches_are_retried_after_a_growing_backoff(deny_list_feed, fake_clock):
    # given a cache holding a list, and a feed that then fails
    config = config_for(deny_list_feed, DENY_LIST_REFRESH=5)
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    cache.current(config=config)
    deny_list_feed.status = HTTPStatus.INTERNAL_SERVER_ERROR
    fake_clock.advance(5)
    cache.current(config=config)  # fails: retry in 1 s
    # when asked every half second for a while
    fetched_at = []
    for step in range(1, 41):
        hits = deny_list_feed.hits
        fake_clock.advance(0.5)
        cache.current(config=config)
        if deny_list_feed.hits > hits:
            fetched_at.append(step * 0.5)
    # then retries came 1, 2 and 4 s apart, then every 5 s (the refresh interval caps the backoff)
    assert fetched_at == [1.0, 3.0, 7.0, 12.0, 17.0]


def test_the_feed_recovering_ends_the_backoff(deny_list_feed, fake_clock):
    # given a feed that failed twice
    config = config_for(deny_list_feed)
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    cache.current(config=config)
    deny_list_feed.status = HTTPStatus.BAD_GATEWAY
    fake_clock.advance(REFRESH + 1)
    cache.current(config=config)
    fake_clock.advance(1)
    cache.current(config=config)
    # when it recovers with a new entry and the backoff (2 s) passes
    deny_list_feed.status = HTTPStatus.OK
    deny_list_feed.deny("leaked")
    fake_clock.advance(2)
    recovered = denied_jtis(cache, config)
    fake_clock.advance(REFRESH - 1)
    cache.current(config=config)
    # then the new list is used, and the next fetch waits a full interval again
    assert recovered == {"leaked"}
    assert deny_list_feed.hits == 4


# --- Before the first successful fetch --------------------------------------------------------


def test_no_list_before_the_first_successful_fetch(deny_list_feed, fake_clock):
    # given a feed that is down from the start
    deny_list_feed.status = HTTPStatus.SERVICE_UNAVAILABLE
    config = config_for(deny_list_feed)
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    # when the list is asked for, then again once the backoff passed and the feed is back
    missing = cache.current(config=config)
    deny_list_feed.status = HTTPStatus.OK
    still_backing_off = cache.current(config=config)
    fake_clock.advance(1)
    fetched = cache.current(config=config)
    # then there is none until a fetch succeeds
    assert missing is None
    assert still_backing_off is None
    assert fetched is not None


def test_fail_closed_refuses_tokens_while_there_is_no_list(deny_list_feed, fake_clock, caplog):
    # given the default policy and a feed that is down
    deny_list_feed.status = HTTPStatus.SERVICE_UNAVAILABLE
    config = config_for(deny_list_feed)
    # when a token is checked
    # then it is refused: it cannot be shown not to be revoked
    with (
        caplog.at_level(logging.WARNING, logger=deny_list.__name__),
        pytest.raises(errors.InvalidToken) as refused,
    ):
        check_not_revoked(jti="any", config=config)
    assert refused.value.description == errors.MSG_DENY_LIST_UNAVAILABLE
    assert "refusing tokens until it succeeds" in caplog.text


def test_fail_open_accepts_tokens_while_there_is_no_list(deny_list_feed, fake_clock, caplog):
    # given DENY_LIST_FAIL_CLOSED off and a feed that is down
    deny_list_feed.status = HTTPStatus.SERVICE_UNAVAILABLE
    config = config_for(deny_list_feed, DENY_LIST_FAIL_CLOSED=False)
    # when a token is checked
    with caplog.at_level(logging.WARNING, logger=deny_list.__name__):
        check_not_revoked(jti="any", config=config)
    # then it passes (as if the deny list were off), and the operator is warned
    assert "accepting tokens unchecked" in caplog.text


@pytest.mark.parametrize("fail_closed", [True, False])
def test_a_denied_token_is_refused_whatever_the_failure_policy(deny_list_feed, fake_clock, fail_closed):
    # given a list holding a revoked token, then a feed outage
    deny_list_feed.deny("leaked")
    config = config_for(deny_list_feed, DENY_LIST_FAIL_CLOSED=fail_closed)
    check_not_revoked(jti="fine", config=config)
    deny_list_feed.status = HTTPStatus.SERVICE_UNAVAILABLE
    fake_clock.advance(REFRESH + 1)
    # when the revoked token and another one are checked
    with pytest.raises(errors.InvalidToken) as refused:
        check_not_revoked(jti="leaked", config=config)
    check_not_revoked(jti="fine", config=config)
    # then the revoked one is refused with the last good list
    assert refused.value.description == errors.MSG_TOKEN_REVOKED


# --- Threads ----------------------------------------------------------------------------------


def test_requests_during_a_refresh_use_the_last_list_without_waiting(deny_list_feed, fake_clock):
    # given a cache holding a list, and a refresh stuck in a slow feed
    deny_list_feed.deny("leaked")
    config = config_for(deny_list_feed, JWKS_TIMEOUT=30)
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    cache.current(config=config)
    deny_list_feed.gate = threading.Event()
    deny_list_feed.entered.clear()
    fake_clock.advance(REFRESH + 1)
    refresher = threading.Thread(target=cache.current, kwargs={"config": config})
    refresher.start()
    assert deny_list_feed.entered.wait(timeout=10)
    # when other requests ask for the list meanwhile
    seen = []
    others = [threading.Thread(target=lambda: seen.append(denied_jtis(cache, config))) for _ in range(4)]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + 3  # far longer than reading a cache; the stuck fetch waits 30 s
    for thread in others:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    answered_while_stuck = len(seen)
    hits_while_stuck = deny_list_feed.hits
    deny_list_feed.gate.set()
    refresher.join(timeout=10)
    # then they all answered at once from the last list, and only one fetch was made
    assert answered_while_stuck == 4
    assert seen == [{"leaked"}] * 4
    assert hits_while_stuck == 2


def test_concurrent_first_requests_share_one_fetch(deny_list_feed, fake_clock):
    # given a cold cache and a feed that answers only when released
    deny_list_feed.deny("leaked")
    deny_list_feed.gate = threading.Event()
    config = config_for(deny_list_feed, JWKS_TIMEOUT=10)
    cache = DenyListCache(deny_list_feed.url, clock=fake_clock)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(denied_jtis(cache, config))) for _ in range(6)]
    # when six requests arrive while the first fetch is in flight
    threads[0].start()
    assert deny_list_feed.entered.wait(timeout=10)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.2)  # let them reach the lock (ordering only; no duration is asserted)
    deny_list_feed.gate.set()
    for thread in threads:
        thread.join(timeout=10)
    # then they waited for that fetch instead of each fetching
    assert deny_list_feed.hits == 1
    assert seen == [{"leaked"}] * 6


# --- The shared caches ------------------------------------------------------------------------


def test_one_cache_per_feed_uri_until_cleared(deny_list_feed, fake_clock):
    # given the cache for a feed
    config = config_for(deny_list_feed)
    cache = deny_list_cache(config)
    # when asked for again, for another API's feed, and after a clear
    again = deny_list_cache(config)
    other = deny_list_cache(config_for(deny_list_feed, DENY_LIST_URI=deny_list_feed.url + "x"))
    deny_list.clear_deny_list_cache()
    after_clear = deny_list_cache(config)
    # then one cache per URI, on the module's clock, until cleared
    assert again is cache
    assert other is not cache
    assert after_clear is not cache
    assert cache.clock is fake_clock
