"""The tenant's sign-in page, over real HTTP: sessions, generic errors, tenants kept apart, safe ``next``."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from apps.accounts.errors import WRONG_CREDENTIALS_MESSAGE
from apps.accounts.sessions import AUTH_TIME_SESSION_KEY
from apps.audit.models import AuditEvent
from tests.accounts.conftest import csrf_token, post_form, session_of, sign_in
from tests.factories import TenantFactory, UserFactory

WRONG_CREDENTIALS_HTML = "Wrong email or password."


def test_the_login_page_shows_the_tenants_name_and_a_form(http, tenant):
    # when
    response = http.get(f"/t/{tenant.slug}/login")

    # then
    assert response.status_code == HTTPStatus.OK
    assert "Acme Corporation" in response.text
    assert 'name="username"' in response.text and 'name="password"' in response.text
    assert 'action="/t/acme/login"' in response.text


def test_a_correct_password_signs_the_user_in_and_goes_to_next(http, tenant, end_user):
    # given where the user was going
    next_path = f"/t/{tenant.slug}/authorize?client_id=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"
    before = int(time.time())

    # when
    response = sign_in(http, tenant, end_user.username, end_user.plaintext_password, next=next_path)

    # then the browser goes there, with a session of that user that knows when they signed in
    assert response.status_code == HTTPStatus.FOUND
    assert response.headers["Location"] == next_path
    session = session_of(http)
    assert session is not None
    assert session[SESSION_KEY] == str(end_user.pk)
    assert before <= session[AUTH_TIME_SESSION_KEY] <= int(time.time())


def test_next_from_the_query_string_is_carried_through_the_form(http, tenant, end_user):
    # given the login page opened with a next in its query
    next_path = f"/t/{tenant.slug}/consent?id=7"
    page = http.get(f"/t/{tenant.slug}/login", params={"next": next_path})
    assert f'name="next" value="{next_path}"' in page.text

    # when the form is posted as the browser would (the hidden field included)
    response = http.post(
        f"/t/{tenant.slug}/login",
        data={
            "csrfmiddlewaretoken": csrf_token(page),
            "username": end_user.username,
            "password": end_user.plaintext_password,
            "next": next_path,
        },
        allow_redirects=False,
    )

    # then
    assert response.headers["Location"] == next_path


def test_without_next_the_user_lands_on_their_applications(http, tenant, end_user):
    response = sign_in(http, tenant, end_user.username, end_user.plaintext_password)
    assert response.status_code == HTTPStatus.FOUND
    assert response.headers["Location"] == "/t/acme/account/applications"


def test_the_username_is_case_insensitive(http, tenant, end_user):
    response = sign_in(http, tenant, end_user.username.upper(), end_user.plaintext_password)
    assert response.status_code == HTTPStatus.FOUND


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example",
        "//evil.example",
        "/t/other-tenant/account/applications",
        "/\\evil",
        "/t/acme/../other-tenant/account/applications",
        "/t/acme//evil.example",
        "javascript:alert(1)",
    ],
)
def test_an_unsafe_next_falls_back_to_the_applications_page(http, tenant, end_user, next_path):
    # when
    response = sign_in(http, tenant, end_user.username, end_user.plaintext_password, next=next_path)

    # then the user is signed in, but not sent where the link said
    assert response.status_code == HTTPStatus.FOUND
    assert response.headers["Location"] == "/t/acme/account/applications"


def test_an_unsafe_next_is_not_put_into_the_form(http, tenant):
    response = http.get(f"/t/{tenant.slug}/login", params={"next": "https://evil.example"})
    assert "evil.example" not in response.text


def _deactivate(user):
    user.is_active = False
    user.save(update_fields=["is_active"])
    return user


@pytest.mark.parametrize("case", ["wrong password", "unknown user", "inactive user"])
def test_every_failed_sign_in_looks_the_same(http, tenant, end_user, case):
    # given one of three ways a sign-in fails
    username, password = end_user.username, end_user.plaintext_password
    if case == "wrong password":
        password = "not the password"
    elif case == "unknown user":
        username = "nobody@acme.example"
    else:
        _deactivate(end_user)

    # when
    response = sign_in(http, tenant, username, password)

    # then the same page, status and single generic message; nobody is signed in
    assert WRONG_CREDENTIALS_MESSAGE == WRONG_CREDENTIALS_HTML
    assert response.status_code == HTTPStatus.OK
    assert response.text.count(WRONG_CREDENTIALS_HTML) == 1
    assert "inactive" not in response.text.lower() and "not found" not in response.text.lower()
    session = session_of(http)
    assert session is None or SESSION_KEY not in session


def test_the_session_key_changes_at_sign_in(http, tenant, end_user):
    # given a session planted in the browser before sign-in (session fixation)
    planted = SessionStore()
    planted["innocent"] = True
    planted.create()
    http.get(f"/t/{tenant.slug}/login")  # the CSRF cookie tells us the domain the jar files cookies under
    domain = http.cookies.list_domains()[0]
    http.cookies.set("sessionid", planted.session_key, domain=domain, path="/")

    # when the user signs in
    response = sign_in(http, tenant, end_user.username, end_user.plaintext_password)

    # then they get a fresh session key, and the planted one is gone
    assert response.status_code == HTTPStatus.FOUND
    new_key = http.cookies.get("sessionid")
    assert new_key and new_key != planted.session_key
    assert not SessionStore().exists(planted.session_key)
    assert session_of(http)[SESSION_KEY] == str(end_user.pk)


def test_a_user_of_one_tenant_cannot_sign_in_on_another_tenants_page(http, end_user):
    # given another tenant, with a user of the same name and another password
    other = TenantFactory(slug="globex")
    UserFactory(tenant=other, username=end_user.username, password="globex's own long passphrase")

    # when acme's user signs in with acme's password on globex's page
    response = sign_in(http, other, end_user.username, end_user.plaintext_password)

    # then it is refused like any wrong password
    assert response.status_code == HTTPStatus.OK
    assert WRONG_CREDENTIALS_HTML in response.text
    session = session_of(http)
    assert session is None or SESSION_KEY not in session


def test_an_end_user_cannot_sign_in_to_the_admin(http, end_user):
    # when an end user tries their credentials on the admin's login page
    response = post_form(
        http,
        "/admin/login/",
        {"username": end_user.username, "password": end_user.plaintext_password, "next": "/admin/"},
    )

    # then the admin refuses them and stays closed
    assert response.status_code == HTTPStatus.OK
    assert "Please enter the correct username and password" in response.text
    admin = http.get("/admin/", allow_redirects=False)
    assert admin.status_code == HTTPStatus.FOUND
    assert admin.headers["Location"].startswith("/admin/login/")


def test_an_end_users_session_does_not_open_the_admin(http, tenant, end_user):
    # given an end user signed in on their tenant
    sign_in(http, tenant, end_user.username, end_user.plaintext_password)

    # when they open the admin
    response = http.get("/admin/", allow_redirects=False)

    # then they are sent to the admin's own login
    assert response.status_code == HTTPStatus.FOUND
    assert response.headers["Location"].startswith("/admin/login/")


def test_a_post_without_csrf_token_is_refused(http, tenant, end_user):
    # when the form is posted without the token (a cross-site form post, login CSRF)
    response = http.post(
        f"/t/{tenant.slug}/login",
        data={"username": end_user.username, "password": end_user.plaintext_password},
        allow_redirects=False,
    )

    # then Django's CSRF check refuses it and nobody is signed in
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "CSRF" in response.text
    assert session_of(http) is None
    assert not AuditEvent.objects.filter(type=AuditEvent.Type.USER_LOGIN).exists()


def test_sign_ins_and_refusals_are_audited_without_the_password(http, tenant, end_user):
    # when one sign-in fails and one succeeds
    sign_in(http, tenant, "Alice@Acme.example", "wrong horse battery staple")
    sign_in(http, tenant, end_user.username, end_user.plaintext_password)

    # then both are in the tenant's audit trail, with the username as typed and no password
    failed = AuditEvent.objects.get(tenant=tenant, type=AuditEvent.Type.USER_LOGIN_FAILED)
    assert failed.target == "Alice@Acme.example"
    assert failed.actor is None
    succeeded = AuditEvent.objects.get(tenant=tenant, type=AuditEvent.Type.USER_LOGIN)
    assert succeeded.target == end_user.username
    assert succeeded.actor == end_user
    for event in (failed, succeeded):
        assert event.data.get("ip") == "127.0.0.1"
        stored = f"{event.target} {event.actor_label} {event.data}"
        assert "horse battery staple" not in stored


def test_the_audited_username_is_truncated(http, tenant):
    sign_in(http, tenant, "x" * 200 + "@example.com", "whatever it is")
    failed = AuditEvent.objects.get(tenant=tenant, type=AuditEvent.Type.USER_LOGIN_FAILED)
    assert failed.target == "x" * 150


def test_the_login_page_is_not_cached(http, tenant):
    response = http.get(f"/t/{tenant.slug}/login")
    assert "no-store" in response.headers["Cache-Control"]
