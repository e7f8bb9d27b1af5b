"""The tenant's sign-out page: GET asks, POST signs out, then a safe ``next`` or a notice."""

from __future__ import annotations

from http import HTTPStatus

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from tests.accounts.conftest import post_form, session_of, sign_in


def test_get_asks_for_confirmation_and_keeps_the_session(http, tenant, end_user):
    # given a signed-in end user
    sign_in(http, tenant, end_user.username, end_user.plaintext_password)

    # when they open the sign-out page
    response = http.get(f"/t/{tenant.slug}/logout")

    # then they are asked, and still signed in
    assert response.status_code == HTTPStatus.OK
    assert 'action="/t/acme/logout"' in response.text and end_user.username in response.text
    assert session_of(http)[SESSION_KEY] == str(end_user.pk)


def test_post_ends_the_session(http, tenant, end_user):
    # given a signed-in end user
    sign_in(http, tenant, end_user.username, end_user.plaintext_password)
    old_key = http.cookies.get("sessionid")

    # when they confirm
    response = post_form(http, f"/t/{tenant.slug}/logout", {})

    # then the server-side session is gone and the page says so
    assert response.status_code == HTTPStatus.OK
    assert "You are signed out" in response.text
    assert not SessionStore().exists(old_key)
    session = session_of(http)
    assert session is None or SESSION_KEY not in session


def test_post_goes_to_a_safe_next(http, tenant, end_user):
    sign_in(http, tenant, end_user.username, end_user.plaintext_password)
    response = post_form(http, f"/t/{tenant.slug}/logout", {"next": "/t/acme/login?next=%2Ft%2Facme%2F"})
    assert response.status_code == HTTPStatus.FOUND
    assert response.headers["Location"] == "/t/acme/login?next=%2Ft%2Facme%2F"


def test_post_with_an_unsafe_next_just_says_signed_out(http, tenant, end_user):
    sign_in(http, tenant, end_user.username, end_user.plaintext_password)
    response = post_form(http, f"/t/{tenant.slug}/logout", {"next": "https://evil.example/"})
    assert response.status_code == HTTPStatus.OK
    assert "You are signed out" in response.text


def test_post_without_csrf_token_is_refused(http, tenant, end_user):
    # given a signed-in end user
    sign_in(http, tenant, end_user.username, end_user.plaintext_password)

    # when another site posts the sign-out form
    response = http.post(f"/t/{tenant.slug}/logout", data={}, allow_redirects=False)

    # then it is refused and the session lives on
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert session_of(http)[SESSION_KEY] == str(end_user.pk)
