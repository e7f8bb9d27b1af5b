"""RP-initiated logout (OIDC RP-Initiated Logout 1.0), the token log of user grants, userinfo per tenant."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

from apps.applications.services import application_update
from apps.audit.models import TokenEvent
from apps.oauth.views.logout import MSG_CLIENT_MISMATCH, MSG_UNREGISTERED
from tests.oauth.test_refresh_and_revocation import refresh, tokens_for
from tests.oauth.user_flow import make_user_setup, web  # noqa: F401

LOGGED_OUT = "https://app.example.com/logged-out"


def signed_in(http, setup) -> bool:
    response = http.get(f"/t/{setup.tenant.slug}/account/applications", allow_redirects=False)
    return response.status_code == HTTPStatus.OK


def test_logout_with_id_token_hint_returns_to_a_registered_url_with_state(http, web):  # noqa: F811
    # given a signed-in user and the client's registered logout URL
    application_update(application=web.application, logout_urls=[LOGGED_OUT])
    id_token = tokens_for(http, web)["id_token"]
    assert signed_in(http, web)
    # when the client sends the browser to the end-session endpoint
    response = http.get(
        f"/t/{web.tenant.slug}/oidc/logout",
        params={"id_token_hint": id_token, "post_logout_redirect_uri": LOGGED_OUT, "state": "bye"},
        allow_redirects=False,
    )
    # then the session is over and the browser goes back with the state
    assert response.status_code == HTTPStatus.FOUND
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == LOGGED_OUT
    assert dict(parse_qsl(location.query)) == {"state": "bye"}
    assert not signed_in(http, web)


def test_logout_never_redirects_to_an_unregistered_url(http, web):  # noqa: F811
    id_token = tokens_for(http, web)["id_token"]
    response = http.get(
        f"/t/{web.tenant.slug}/oidc/logout",
        params={"id_token_hint": id_token, "post_logout_redirect_uri": "https://evil.example/"},
        allow_redirects=False,
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert MSG_UNREGISTERED in response.text
    assert signed_in(http, web)


def test_logout_without_a_hint_asks_the_user_first(http, web):  # noqa: F811
    tokens_for(http, web)
    response = http.get(f"/t/{web.tenant.slug}/oidc/logout", allow_redirects=False)
    assert response.status_code == HTTPStatus.OK
    assert 'name="confirm"' in response.text
    assert signed_in(http, web)


def test_logout_refuses_a_hint_issued_to_another_client(http, web):  # noqa: F811
    id_token = tokens_for(http, web)["id_token"]
    response = http.get(
        f"/t/{web.tenant.slug}/oidc/logout", params={"id_token_hint": id_token, "client_id": "someone-else"}
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert MSG_CLIENT_MISMATCH in response.text


def test_user_grant_exchanges_are_in_the_token_log(http, web):  # noqa: F811
    # when a code is exchanged, a refresh succeeds and one fails
    body = tokens_for(http, web)
    assert refresh(http, web, body["refresh_token"]).status_code == HTTPStatus.OK
    assert refresh(http, web, "not-a-token").status_code == HTTPStatus.BAD_REQUEST
    # then each is logged with Auth0's type, the subject's audience and the jti
    types = list(TokenEvent.objects.order_by("created_at").values_list("type", flat=True))
    assert types == [
        TokenEvent.Type.SUCCESS_AUTHORIZATION_CODE,
        TokenEvent.Type.SUCCESS_REFRESH_TOKEN,
        TokenEvent.Type.FAILED_REFRESH_TOKEN,
    ]
    issued = TokenEvent.objects.get(type=TokenEvent.Type.SUCCESS_AUTHORIZATION_CODE)
    assert issued.audience == web.api.identifier and issued.jti


def test_userinfo_of_another_tenant_refuses_the_token(http, web, db):  # noqa: F811
    other = make_user_setup()
    token = tokens_for(http, web)["access_token"]
    response = http.get(f"/t/{other.tenant.slug}/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == HTTPStatus.UNAUTHORIZED
