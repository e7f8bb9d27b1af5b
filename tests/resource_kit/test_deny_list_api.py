"""The deny list end to end: the Timesheets API (through the kit) polling a feed over real HTTP.

Tokens come from the live token endpoint; the feed is the fake one from ``deny_list_support``
(the issuer's own endpoint is tested where it lives), pointed at through ``DENY_LIST_URI``.
"""

from __future__ import annotations

import time
from http import HTTPStatus

import jwt
import pytest

from apps.resource_kit import errors
from tests.resource_kit.support import TIMESHEETS_PATH, assert_invalid_token, bearer

REFRESH = 30


def jti_of(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["jti"]


@pytest.fixture
def feed(resource_server, deny_list_feed):
    """The fake feed serving the Timesheets API's audience, and the kit polling it."""
    deny_list_feed.audience = resource_server.api.identifier
    resource_server.configure(DENY_LIST=True, DENY_LIST_URI=deny_list_feed.url, DENY_LIST_REFRESH=REFRESH)
    return deny_list_feed


def test_a_denied_token_is_refused_and_others_are_accepted(http, resource_server, feed):
    # given two real tokens, one of them on the issuer's deny list
    revoked = resource_server.caller("read:timesheets")
    other = resource_server.caller("read:timesheets")
    feed.deny(jti_of(revoked.token))
    # when both call the API
    refused = http.get(TIMESHEETS_PATH, headers=revoked.headers)
    accepted = http.get(TIMESHEETS_PATH, headers=other.headers)
    # then the revoked one gets RFC 6750 invalid_token, the other its timesheets
    assert_invalid_token(refused, errors.MSG_TOKEN_REVOKED)
    assert accepted.status_code == HTTPStatus.OK, accepted.content
    assert feed.hits == 1


def test_a_revocation_takes_effect_within_the_refresh_interval(http, resource_server, feed, fake_clock):
    # given a token the API accepted (so the list is cached)
    caller = resource_server.caller("read:timesheets")
    assert http.get(TIMESHEETS_PATH, headers=caller.headers).status_code == HTTPStatus.OK
    # when the issuer revokes it, and the API is called inside the interval, then after it
    feed.deny(jti_of(caller.token))
    fake_clock.advance(REFRESH - 1)
    inside = http.get(TIMESHEETS_PATH, headers=caller.headers)
    fake_clock.advance(2)
    after = http.get(TIMESHEETS_PATH, headers=caller.headers)
    # then it is still accepted until the next poll (the documented window), refused from then on
    assert inside.status_code == HTTPStatus.OK
    assert_invalid_token(after, errors.MSG_TOKEN_REVOKED)
    assert feed.hits == 2


def test_without_the_deny_list_the_feed_is_never_asked(http, resource_server, deny_list_feed):
    # given a revoked token, and a kit configured without DENY_LIST (the default)
    caller = resource_server.caller("read:timesheets")
    deny_list_feed.audience = resource_server.api.identifier
    deny_list_feed.deny(jti_of(caller.token))
    resource_server.configure(DENY_LIST_URI=deny_list_feed.url)
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=caller.headers)
    # then it is accepted until it expires, and no request reached the feed
    assert response.status_code == HTTPStatus.OK, response.content
    assert deny_list_feed.hits == 0


@pytest.mark.parametrize(
    ("jti", "expected"),
    [
        (None, errors.MSG_CLAIM_MISSING.format(claim="jti")),  # could never be revoked
        ("", errors.MSG_CLAIM_INVALID.format(claim="jti")),
        (7, errors.MSG_CLAIM_INVALID.format(claim="jti")),
    ],
)
def test_with_the_deny_list_a_token_needs_a_jti(http, resource_server, feed, jti, expected):
    # given a well-signed token whose jti is missing or unusable (RFC 9068 section 2.2 requires one)
    token = resource_server.forge(resource_server.claims(jti=jti))
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then it is refused before the feed is asked
    assert_invalid_token(response, expected)
    assert feed.hits == 0


def test_without_the_deny_list_a_token_without_jti_is_still_accepted(http, resource_server):
    # given a token without jti, and the deny list off (issuers that predate RFC 9068)
    token = resource_server.forge(resource_server.claims(jti=None))
    # when it is used
    response = http.get(TIMESHEETS_PATH, headers=bearer(token))
    # then nothing changed for configurations that did not opt in
    assert response.status_code == HTTPStatus.OK, response.content


def test_other_checks_come_first_and_forged_tokens_cause_no_fetch(http, resource_server, feed):
    # given a revoked token that has also expired, and a forged one naming a revoked jti
    now = int(time.time())
    expired = resource_server.forge(resource_server.claims(jti="gone", iat=now - 7200, exp=now - 3600))
    header, payload, _ = resource_server.forge(resource_server.claims(jti="gone")).split(".")
    forged = f"{header}.{payload}.{'A' * 342}"
    feed.deny("gone")
    # when they are used
    expired_response = http.get(TIMESHEETS_PATH, headers=bearer(expired))
    forged_response = http.get(TIMESHEETS_PATH, headers=bearer(forged))
    # then the signature and claim checks answer, and the feed was never asked
    assert_invalid_token(expired_response, errors.MSG_EXPIRED)
    assert_invalid_token(forged_response, errors.MSG_SIGNATURE_INVALID)
    assert feed.hits == 0


@pytest.mark.parametrize(
    ("fail_closed", "expected_status"),
    [(True, HTTPStatus.UNAUTHORIZED), (False, HTTPStatus.OK)],
)
def test_before_the_first_fetch_the_failure_policy_decides(
    http, resource_server, feed, fail_closed, expected_status
):
    # given a feed that is down since the API started
    feed.status = HTTPStatus.SERVICE_UNAVAILABLE
    resource_server.configure(**resource_server.config, DENY_LIST_FAIL_CLOSED=fail_closed)
    caller = resource_server.caller("read:timesheets")
    # when a valid token is used
    response = http.get(TIMESHEETS_PATH, headers=caller.headers)
    # then fail-closed refuses it (it cannot be shown not to be revoked); fail-open accepts it
    assert response.status_code == expected_status, response.content
    if fail_closed:
        assert_invalid_token(response, errors.MSG_DENY_LIST_UNAVAILABLE)


def test_an_outage_after_a_fetch_keeps_refusing_revoked_tokens(http, resource_server, feed, fake_clock):
    # given a list with a revoked token, fetched before the feed went away
    revoked = resource_server.caller("read:timesheets")
    other = resource_server.caller("read:timesheets")
    feed.deny(jti_of(revoked.token))
    assert http.get(TIMESHEETS_PATH, headers=other.headers).status_code == HTTPStatus.OK
    feed.stop()
    fake_clock.advance(REFRESH + 1)
    # when both tokens are used during the outage
    refused = http.get(TIMESHEETS_PATH, headers=revoked.headers)
    accepted = http.get(TIMESHEETS_PATH, headers=other.headers)
    # then the last good list still decides
    assert_invalid_token(refused, errors.MSG_TOKEN_REVOKED)
    assert accepted.status_code == HTTPStatus.OK, accepted.content
