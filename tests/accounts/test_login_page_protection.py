"""Attack protection on the sign-in page, over real HTTP: the blocked and throttled answers."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.utils.html import escape

from apps.accounts.errors import ACCOUNT_BLOCKED_MESSAGE, IP_THROTTLED_MESSAGE, WRONG_CREDENTIALS_MESSAGE
from apps.accounts.models import LoginBlock
from apps.tenants.services import tenant_brute_force_protection_set, tenant_suspicious_ip_throttling_set
from tests.accounts.conftest import session_of, sign_in


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    """Counters start empty: in the database (without ``REDIS_URL``) rows are rolled back or flushed
    after each test; in a shared cache (with it) they would outlive the test, so it is emptied."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("username", ["alice@acme.example", "nobody@acme.example"])
def test_the_page_says_the_account_is_blocked_after_repeated_failures(http, tenant, end_user, username):
    # given a threshold of three
    tenant_brute_force_protection_set(tenant=tenant, enabled=True, max_attempts=3, block_duration_seconds=600)
    # when three wrong passwords are posted for the username, known or not
    for _ in range(3):
        response = sign_in(http, tenant, username, "not the password")
        assert response.status_code == HTTPStatus.OK
        assert escape(WRONG_CREDENTIALS_MESSAGE) in response.text
    # then the next attempt, even with alice's right password, gets the blocked page with 429
    response = sign_in(http, tenant, username, end_user.plaintext_password)
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert escape(ACCOUNT_BLOCKED_MESSAGE) in response.text
    assert "Retry-After" not in response.headers
    session = session_of(http)
    assert session is None or SESSION_KEY not in session
    assert LoginBlock.objects.get(tenant=tenant).ip == "127.0.0.1"


def test_a_throttled_ip_gets_429_with_retry_after(http, tenant, end_user):
    # given a throttle of three failures per hour from one IP
    tenant_suspicious_ip_throttling_set(tenant=tenant, enabled=True, max_attempts=3, window_seconds=3600)
    # when three different usernames fail from the browser's IP
    for n in range(3):
        sign_in(http, tenant, f"guess{n}@acme.example", "not the password")
    # then even alice's right password gets 429, the throttling message and when to come back
    response = sign_in(http, tenant, end_user.username, end_user.plaintext_password)
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert escape(IP_THROTTLED_MESSAGE) in response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
