"""Paths of the end-user pages, and the one rule for where ``next`` may send a browser.

A ``next`` parameter is attacker-controlled (anyone can send a victim a login link), so it is
accepted only as a path under the same tenant's issuer: an open redirect would let a phishing
link borrow our sign-in page's credibility, and a cross-tenant one would land a user signed in
to tenant A on tenant B's pages.
"""

from __future__ import annotations

from urllib.parse import unquote, urlencode, urlsplit

from django.utils.http import url_has_allowed_host_and_scheme

# Longer than any authorize request we expect (a URL carrying a PKCE challenge, a redirect_uri
# and a few scopes), short enough that nobody stores a page's worth of data in it.
NEXT_MAX_LENGTH = 2048
DOT_SEGMENTS = frozenset({".", ".."})


def tenant_path(tenant, suffix: str = "") -> str:
    """``/t/<slug>/<suffix>``: the tenant's pages hang under its issuer path."""
    return f"/t/{tenant.slug}/{suffix}"


def default_after_login_path(tenant) -> str:
    """Where a sign-in without a usable ``next`` lands: the user's authorized applications."""
    return tenant_path(tenant, "account/applications")


def login_path(tenant, *, next_path: str | None = None) -> str:
    """The tenant's sign-in page, returning to ``next_path`` (which the page checks again)."""
    path = tenant_path(tenant, "login")
    return f"{path}?{urlencode({'next': next_path})}" if next_path else path


def mfa_login_path(tenant, *, next_path: str | None = None) -> str:
    """The login page's second step (a one-time code), returning to ``next_path`` (checked again there)."""
    path = tenant_path(tenant, "login/mfa")
    return f"{path}?{urlencode({'next': next_path})}" if next_path else path


def account_mfa_path(tenant) -> str:
    """The end user's MFA settings page."""
    return tenant_path(tenant, "account/mfa")


def logout_path(tenant, *, next_path: str | None = None) -> str:
    """The tenant's sign-out page, returning to ``next_path`` (which the page checks again)."""
    path = tenant_path(tenant, "logout")
    return f"{path}?{urlencode({'next': next_path})}" if next_path else path


def safe_next_path(value: str | None, *, tenant) -> str | None:
    """``value`` if it is a relative path under ``/t/<tenant>/``, else None.

    Refused: any scheme or host (``https://evil.example``, ``//evil.example``), a backslash
    anywhere (browsers read ``/\\evil`` as ``//evil``), control characters and whitespace
    (browsers drop tabs and newlines inside URLs), and in the path - also once percent-decoded,
    since browsers normalise ``%2e%2e`` - an empty or dot segment that could climb out of the
    tenant (``/t/a/../b/``, ``/t/a//x``). The query may carry URLs (an authorize request's
    ``redirect_uri``): it cannot change where the browser goes.
    """
    if not value or len(value) > NEXT_MAX_LENGTH:
        return None
    if not value.startswith(tenant_path(tenant)):
        return None
    if "\\" in value or any(ord(char) <= 0x20 or ord(char) == 0x7F for char in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    path = unquote(parts.path)
    if "\\" in path or "//" in path or DOT_SEGMENTS.intersection(path.split("/")):
        return None
    # Django's own check as a second opinion (it knows more browser quirks than we list here).
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=None):
        return None
    return value


def requested_next_path(request) -> str | None:
    """The checked ``next`` of a tenant page's request: from the hidden field of a POST, from the
    query of a GET (``safe_next_path``)."""
    params = request.POST if request.method == "POST" else request.GET
    return safe_next_path(params.get("next"), tenant=request.tenant)
