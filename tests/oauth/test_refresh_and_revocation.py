"""Refresh tokens (rotation, reuse detection), revocation (RFC 7009) and userinfo, over real HTTP."""

from __future__ import annotations

import base64
import threading
from http import HTTPStatus

import requests

from apps.apis.services import api_update
from apps.grants.models import UserGrant
from apps.oauth.models import Grant, IDToken, RefreshToken
from tests.oauth.user_flow import authorize, exchange, location_params, web  # noqa: F401


def tokens_for(http, setup, **overrides) -> dict:
    response = exchange(http, setup, location_params(authorize(http, setup, **overrides))["code"])
    assert response.status_code == HTTPStatus.OK, response.text
    return response.json()


def refresh(http, setup, refresh_token: str, **extra):
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": setup.application.client_id,
        "client_secret": setup.application.plaintext_secret,
    } | extra
    return http.post(f"/t/{setup.tenant.slug}/oauth/token", data=data)


def test_refresh_rotates_and_a_reused_token_revokes_the_family(http, web):  # noqa: F811
    # given
    first = tokens_for(http, web)
    # when the refresh token is used
    second = refresh(http, web, first["refresh_token"])
    # then a new pair comes back, with a new refresh token
    assert second.status_code == HTTPStatus.OK, second.text
    rotated = second.json()["refresh_token"]
    assert rotated != first["refresh_token"]
    assert "id_token" in second.json()
    # when the old one is replayed (RFC 9700 4.14.2)
    replay = refresh(http, web, first["refresh_token"])
    # then it is refused and the whole family with it
    assert replay.status_code == HTTPStatus.BAD_REQUEST
    assert replay.json()["error"] == "invalid_grant"
    assert refresh(http, web, rotated).status_code == HTTPStatus.BAD_REQUEST


def test_no_refresh_token_without_offline_access_or_when_the_api_forbids_it(http, web):  # noqa: F811
    assert "refresh_token" not in tokens_for(http, web, scope="openid read:things")
    api_update(api=web.api, allow_offline_access=False)
    assert "refresh_token" not in tokens_for(http, web)


def test_refresh_may_narrow_but_not_widen_scope(http, web):  # noqa: F811
    first = tokens_for(http, web)
    narrowed = refresh(http, web, first["refresh_token"], scope="openid read:things")
    assert narrowed.status_code == HTTPStatus.OK, narrowed.text
    assert narrowed.json()["scope"] == "openid read:things"
    widened = refresh(http, web, narrowed.json()["refresh_token"], scope="openid write:things")
    assert widened.status_code == HTTPStatus.BAD_REQUEST
    assert widened.json()["error"] == "invalid_scope"


def test_refresh_token_of_another_client_is_refused(http, web):  # noqa: F811
    from tests.factories import ApplicationFactory

    other = ApplicationFactory(tenant=web.tenant, app_type="regular_web")
    first = tokens_for(http, web)
    response = http.post(
        f"/t/{web.tenant.slug}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": other.client_id,
            "client_secret": other.plaintext_secret,
        },
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "invalid_grant"


def test_codes_and_refresh_tokens_are_stored_only_as_hashes(http, web):  # noqa: F811
    response = authorize(http, web)
    code = location_params(response)["code"]
    assert not Grant.objects.filter(code__in=[]).exists()
    stored = Grant.objects.values_list("code", flat=True).get()
    assert stored != code and len(stored) == 64
    body = exchange(http, web, code).json()
    row = RefreshToken.objects.get()
    assert row.token == "" and body["refresh_token"] not in row.token_checksum


def test_revocation_of_a_refresh_token(http, web):  # noqa: F811
    # given
    body = tokens_for(http, web)
    secret = base64.b64encode(
        f"{web.application.client_id}:{web.application.plaintext_secret}".encode()
    ).decode()
    # when the client revokes its refresh token (client_secret_basic)
    response = http.post(
        f"/t/{web.tenant.slug}/oauth/revoke",
        data={"token": body["refresh_token"], "token_type_hint": "refresh_token"},
        headers={"Authorization": f"Basic {secret}"},
    )
    # then
    assert response.status_code == HTTPStatus.OK, response.text
    assert refresh(http, web, body["refresh_token"]).status_code == HTTPStatus.BAD_REQUEST


def test_revocation_needs_client_authentication(http, web):  # noqa: F811
    body = tokens_for(http, web)
    response = http.post(f"/t/{web.tenant.slug}/oauth/revoke", data={"token": body["refresh_token"]})
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error"] == "invalid_client"
    assert refresh(http, web, body["refresh_token"]).status_code == HTTPStatus.OK


def test_userinfo_returns_claims_by_scope(http, web):  # noqa: F811
    body = tokens_for(http, web, scope="openid profile read:things")
    response = http.get(
        f"/t/{web.tenant.slug}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == HTTPStatus.OK, response.text
    claims = response.json()
    assert claims["sub"] == f"auth0|{web.user.pk}"
    assert claims["name"] == "Jane Doe"
    assert "email" not in claims  # no email scope


def test_userinfo_refuses_a_token_after_its_grant_is_revoked(http, web):  # noqa: F811
    body = tokens_for(http, web)
    UserGrant.objects.get().delete()
    response = http.get(
        f"/t/{web.tenant.slug}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert refresh(http, web, body["refresh_token"]).status_code == HTTPStatus.BAD_REQUEST


def test_two_uses_of_one_refresh_token_at_once_issue_one_pair_and_leave_no_half_write(http, web):  # noqa: F811
    # given a refresh token
    body = tokens_for(http, web)
    id_tokens_before = IDToken.objects.count()
    barrier, statuses = threading.Barrier(2), []

    def use_it():
        session = requests.Session()
        barrier.wait()
        statuses.append(
            session.post(
                f"{http.base_url}/t/{web.tenant.slug}/oauth/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": body["refresh_token"],
                    "client_id": web.application.client_id,
                    "client_secret": web.application.plaintext_secret,
                },
                timeout=10,
            ).status_code
        )
        session.close()

    # when two requests present it at the same moment
    threads = [threading.Thread(target=use_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then exactly one pair was issued (the other request found the token retired, either while
    # the first was rotating it or as a reuse afterwards), and the refusal wrote no ID token
    assert sorted(statuses) == [HTTPStatus.OK, HTTPStatus.BAD_REQUEST], statuses
    assert IDToken.objects.count() == id_tokens_before + 1
