"""The end user's authorized applications page: what they granted, and Revoke (over real HTTP)."""

from __future__ import annotations

from http import HTTPStatus

from apps.apis.services import api_update
from apps.grants.models import UserGrant
from tests.factories import UserGrantFactory
from tests.oauth.test_refresh_and_revocation import refresh, tokens_for
from tests.oauth.user_flow import authorize, csrf_of, log_in, web  # noqa: F401


def page_path(setup) -> str:
    return f"/t/{setup.tenant.slug}/account/applications"


def test_signed_out_user_is_sent_to_login(http, web):  # noqa: F811
    response = http.get(page_path(web), allow_redirects=False)
    assert response.status_code == HTTPStatus.FOUND
    assert response.headers["Location"].startswith(f"/t/{web.tenant.slug}/login?next=")


def test_revoke_refuses_the_refresh_token_and_consent_is_asked_again(http, web):  # noqa: F811
    # given a user who consented and whose app holds a refresh token
    api_update(api=web.api, skip_consent_for_first_party=False)
    body = tokens_for(http, web)
    # when they open the page
    page = http.get(page_path(web))
    # then the app is listed with each permission and when it was granted
    assert page.status_code == HTTPStatus.OK
    assert web.application.name in page.text and "Read things" in page.text and "<time" in page.text
    grant = UserGrant.objects.get()
    # when they click Revoke
    url = f"{page_path(web)}/{grant.pk}/revoke"
    response = http.post(
        url, data={"csrfmiddlewaretoken": csrf_of(page.text)}, headers={"Referer": http.base_url + url}
    )
    # then the app is gone, its refresh token refused, and consent shows again
    assert response.status_code == HTTPStatus.OK
    assert "You have not authorized any application yet." in response.text
    assert refresh(http, web, body["refresh_token"]).status_code == HTTPStatus.BAD_REQUEST
    again = authorize(http, web, decision=None)
    assert again.status_code == HTTPStatus.OK and 'name="decision"' in again.text


def test_a_user_cannot_revoke_someone_elses_grant(http, web):  # noqa: F811
    # given another user's grant in the same tenant
    others = UserGrantFactory(user__tenant=web.tenant, application=web.application, api=web.api)
    assert log_in(http, web).status_code == HTTPStatus.FOUND
    assert http.get(page_path(web)).status_code == HTTPStatus.OK
    url = f"{page_path(web)}/{others.pk}/revoke"
    # when they post to its revoke URL (with a valid CSRF token: the cookie's secret)
    response = http.post(
        url, data={"csrfmiddlewaretoken": http.cookies["csrftoken"]}, headers={"Referer": http.base_url + url}
    )
    assert response.status_code == HTTPStatus.OK and "no longer exists" in response.text
    # then it still exists
    assert UserGrant.objects.filter(pk=others.pk).exists()


def test_revoke_without_csrf_is_refused(http, web):  # noqa: F811
    tokens_for(http, web)
    grant = UserGrant.objects.get()
    response = http.post(f"{page_path(web)}/{grant.pk}/revoke")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert UserGrant.objects.filter(pk=grant.pk).exists()


def test_a_user_of_another_tenant_neither_sees_nor_revokes_this_tenants_grants(http, web, db):  # noqa: F811
    # given a grant in this tenant, and a user signed in to another tenant
    from tests.oauth.user_flow import make_user_setup

    tokens_for(http, web)
    grant = UserGrant.objects.get()
    other = make_user_setup()
    http.cookies.clear()
    assert log_in(http, other).status_code == HTTPStatus.FOUND
    # when they open this tenant's page and post to the grant's revoke URL
    page = http.get(page_path(web), allow_redirects=False)
    url = f"{page_path(web)}/{grant.pk}/revoke"
    revoke = http.post(
        url,
        data={"csrfmiddlewaretoken": http.cookies["csrftoken"]},
        headers={"Referer": http.base_url + url},
        allow_redirects=False,
    )
    # then both send them to this tenant's login, and the grant stands
    for response in (page, revoke):
        assert response.status_code == HTTPStatus.FOUND
        assert response.headers["Location"].startswith(f"/t/{web.tenant.slug}/login?next=")
    assert UserGrant.objects.filter(pk=grant.pk).exists()
