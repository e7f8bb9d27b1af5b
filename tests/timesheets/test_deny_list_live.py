"""The sample Timesheets API refuses revoked tokens through the issuer's real deny-list feed.

Issue 6 item 3 end to end: the kit (DENY_LIST on, default DENY_LIST_URI = the tenant's own
/oauth/deny-list) polls Portcullis over HTTP; revocation happens through the real RFC 7009
endpoint and through the admin's service. The kit's clock is advanced instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus

import jwt

from apps.grants.services import token_deny
from apps.resource_kit import deny_list, errors
from apps.resource_kit.conf import load_config
from tests.resource_kit.support import TIMESHEETS_PATH, assert_invalid_token

REFRESH = 30


def test_revoked_token_is_refused_by_the_sample_api_after_one_refresh(http, resource_server, fake_clock):
    # given the API polling the tenant's feed, and a token it accepted (the list is now cached)
    resource_server.configure(DENY_LIST=True, DENY_LIST_REFRESH=REFRESH)
    revoked = resource_server.caller("read:timesheets")
    other = resource_server.caller("read:timesheets")
    assert http.get(TIMESHEETS_PATH, headers=revoked.headers).status_code == HTTPStatus.OK
    # when a security engineer deny-lists it (admin service), within the interval, then after it
    claims = jwt.decode(revoked.token, options={"verify_signature": False})
    token_deny(
        tenant=resource_server.tenant,
        jti=claims["jti"],
        audience=resource_server.api.identifier,
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        reason="leaked",
    )
    fake_clock.advance(REFRESH - 1)
    inside_window = http.get(TIMESHEETS_PATH, headers=revoked.headers)
    fake_clock.advance(2)
    refused = http.get(TIMESHEETS_PATH, headers=revoked.headers)
    accepted = http.get(TIMESHEETS_PATH, headers=other.headers)
    # then it passes only inside the documented window, and other tokens are unaffected
    assert inside_window.status_code == HTTPStatus.OK
    assert_invalid_token(refused, errors.MSG_TOKEN_REVOKED)
    assert accepted.status_code == HTTPStatus.OK, accepted.content


def test_token_revoked_at_the_revocation_endpoint_is_refused_by_the_sample_api(
    http, resource_server, fake_clock
):
    # given the API polling the tenant's feed, and an M2M token it accepted
    resource_server.configure(DENY_LIST=True, DENY_LIST_REFRESH=REFRESH)
    caller = resource_server.caller("read:timesheets")
    assert http.get(TIMESHEETS_PATH, headers=caller.headers).status_code == HTTPStatus.OK
    # when its own client revokes it (RFC 7009) and the interval passes
    revocation = http.post(
        f"/t/{resource_server.tenant.slug}/oauth/revoke",
        data={"token": caller.token, "token_type_hint": "access_token"},
        auth=(caller.client_id, caller.client_secret),
    )
    assert revocation.status_code == HTTPStatus.OK, revocation.content
    fake_clock.advance(REFRESH + 1)
    response = http.get(TIMESHEETS_PATH, headers=caller.headers)
    # then the API refuses it
    assert_invalid_token(response, errors.MSG_TOKEN_REVOKED)


def test_the_real_feed_is_revalidated_with_its_etag(http, resource_server, fake_clock):
    # given the API polling the tenant's feed by default
    resource_server.configure(DENY_LIST=True)
    config = load_config("TIMESHEETS_RESOURCE_SERVER")
    assert config.deny_list_uri == (
        f"{resource_server.issuer}oauth/deny-list?audience="
        + resource_server.api.identifier.replace(":", "%3A").replace("/", "%2F")
    )
    caller = resource_server.caller("read:timesheets")
    assert http.get(TIMESHEETS_PATH, headers=caller.headers).status_code == HTTPStatus.OK
    first = deny_list.deny_list_cache(config).current(config=config)
    # when the interval passes with nothing revoked
    fake_clock.advance(REFRESH + 1)
    again = deny_list.deny_list_cache(config).current(config=config)
    # then the issuer's ETag came back (a 304 keeps the same, empty, list)
    assert first is not None and first.etag
    assert again is not None and again.etag == first.etag
    assert dict(again.denied) == {}
