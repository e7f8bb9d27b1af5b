"""Where ``next`` may send a browser: only to a path under the same tenant (no open redirect)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from apps.accounts.redirects import (
    NEXT_MAX_LENGTH,
    default_after_login_path,
    login_path,
    logout_path,
    safe_next_path,
)

ACME = SimpleNamespace(slug="acme")


@pytest.mark.parametrize(
    "candidate",
    [
        "/t/acme/account/applications",
        "/t/acme/",
        "/t/acme/authorize?response_type=code&client_id=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
        # an authorize request's query may carry a URL unencoded: it does not move the browser
        "/t/acme/authorize?client_id=abc&redirect_uri=https://app.example/cb&state=x#frag",
        "/t/acme/consent?id=42",
    ],
)
def test_a_path_under_the_same_tenant_is_kept(candidate):
    assert safe_next_path(candidate, tenant=ACME) == candidate


@pytest.mark.parametrize(
    "candidate",
    [
        None,
        "",
        "https://evil.example",
        "https://evil.example/t/acme/",
        "http:/t/acme/x",
        "//evil.example",
        "//evil.example/t/acme/",
        "///evil.example",
        "/\\evil",
        "\\\\evil.example",
        "/t/acme/\\evil",
        "/t/acme/%5cevil",
        "/t/acme//evil.example",
        "/t/acme/%2f%2fevil.example",
        "/t/acme/../other-tenant/account/applications",
        "/t/acme/%2e%2e/other-tenant/account/applications",
        "/t/acme/./account",
        "/t/other-tenant/account/applications",
        "/t/acme-evil/account",
        "/t/acme",
        "/T/acme/account",
        "t/acme/account",
        "javascript:alert(1)//t/acme/",
        "/t/acme/\t/evil",
        "/t/acme/\n//evil.example",
        "/t/acme/ account",
        "/t/acme/" + "a" * NEXT_MAX_LENGTH,
    ],
)
def test_anything_else_is_refused(candidate):
    assert safe_next_path(candidate, tenant=ACME) is None


def test_page_paths_hang_under_the_tenant():
    assert default_after_login_path(ACME) == "/t/acme/account/applications"
    assert login_path(ACME) == "/t/acme/login"
    assert login_path(ACME, next_path="/t/acme/authorize?a=1&b=2") == (
        "/t/acme/login?next=%2Ft%2Facme%2Fauthorize%3Fa%3D1%26b%3D2"
    )
    assert logout_path(ACME, next_path="/t/acme/") == "/t/acme/logout?next=%2Ft%2Facme%2F"
