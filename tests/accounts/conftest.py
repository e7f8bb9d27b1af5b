"""Fixtures for the end-user sign-in tests: a tenant, one of its end users, and a browser-like client."""

from __future__ import annotations

import re

import pytest
import requests
from django.contrib.sessions.backends.db import SessionStore

from apps.accounts.models import User
from apps.tenants.models import Tenant
from tests.factories import TenantFactory, UserFactory

CSRF_FIELD_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def tenant(db) -> Tenant:
    return TenantFactory(slug="acme", name="Acme Corporation")


@pytest.fixture
def end_user(tenant) -> User:
    return UserFactory(tenant=tenant, username="alice@acme.example")


def csrf_token(response: requests.Response) -> str:
    """The CSRF token a page's form carries (the matching cookie is in the session's jar)."""
    match = CSRF_FIELD_RE.search(response.text)
    assert match, f"no CSRF field on {response.url}"
    return match.group(1)


def post_form(http: requests.Session, path: str, data: dict, *, query: str = "") -> requests.Response:
    """GET the page (for its CSRF token), then POST ``data`` the way the browser's form would."""
    page = http.get(path + query)
    assert page.status_code == 200, page.text
    return http.post(path, data={"csrfmiddlewaretoken": csrf_token(page), **data}, allow_redirects=False)


def sign_in(
    http: requests.Session, tenant: Tenant, username: str, password: str, **extra
) -> requests.Response:
    return post_form(http, f"/t/{tenant.slug}/login", {"username": username, "password": password, **extra})


def session_of(http: requests.Session) -> SessionStore | None:
    """The server-side session behind the client's session cookie, if it exists."""
    key = http.cookies.get("sessionid")
    if not key:
        return None
    store = SessionStore(session_key=key)
    return store if store.exists(key) else None


@pytest.fixture
def portal_admin(tenant) -> User:
    """A portal admin of ``tenant`` (the actor of admin changes)."""
    from apps.accounts.services import portal_admin_create

    return portal_admin_create(username="pat", password="portal admin's long passphrase", tenants=[tenant])
