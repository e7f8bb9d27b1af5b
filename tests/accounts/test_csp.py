"""No page can be framed or run inline code: CSP and X-Frame-Options on the pages, the admin still works."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.test import Client

from apps.accounts.services import portal_admin_create

INLINE_CODE_RE = re.compile(r"<style|<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def _directives(response) -> dict[str, str]:
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name] = value
    return directives


def test_the_login_page_cannot_be_framed_nor_run_inline_code(http, tenant):
    # when
    response = http.get(f"/t/{tenant.slug}/login")

    # then
    assert response.headers["X-Frame-Options"] == "DENY"
    directives = _directives(response)
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    for source in ("script-src", "style-src"):
        assert source not in directives  # so default-src 'self' applies: files only, nothing inline
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert not INLINE_CODE_RE.search(response.text)


def test_form_action_does_not_block_the_redirect_to_a_client(http, tenant):
    # A sign-in or consent POST ends in a redirect to the client's redirect_uri (another origin,
    # or a native app's private-use scheme); Chromium checks form-action on that redirect too.
    directives = _directives(http.get(f"/t/{tenant.slug}/login"))
    assert "form-action" not in directives


@pytest.mark.parametrize("path", ["/", "/no/such/page"])
def test_the_portal_pages_need_no_inline_style(http, db, settings, path):
    settings.DEBUG = False
    response = http.get(path)
    assert "Content-Security-Policy" in response.headers
    assert not INLINE_CODE_RE.search(response.text)
    assert "/static/portcullis/page.css" in response.text


def test_the_admin_pages_under_the_policy_have_no_inline_code(db, tenant):
    # given a portal admin of the tenant
    admin = portal_admin_create(username="pat", password="portal admin's long passphrase", tenants=[tenant])
    client = Client()
    client.force_login(admin)

    # when they open the pages they use most
    for path in ("/admin/", "/admin/accounts/user/", "/admin/applications/application/add/"):
        response = client.get(path)

        # then each has the policy and nothing the policy would block
        assert response.status_code == HTTPStatus.OK, path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert not INLINE_CODE_RE.search(response.content.decode()), path
