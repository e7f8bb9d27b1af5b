"""The API page's tabs in a real browser (Debian's Chromium through Playwright) against the live server.

A portal admin opens an API, adds a permission on the Permissions tab, switches an M2M application
on with that scope on the Machine to Machine Applications tab using only the keyboard, and on the
Test tab gets a test token whose decoded claims carry the scope; the copy button copies the token.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import jwt
import pytest
from playwright.sync_api import Browser, Page, expect

from apps.accounts.services import portal_admin_create
from apps.grants.models import ClientGrant
from tests.factories import ApiFactory, ApplicationFactory, TenantFactory

pytestmark = pytest.mark.browser

PASSWORD = "browser admin's long passphrase"


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_admin_adds_a_permission_authorizes_an_app_and_mints_a_test_token(page: Page, live_server) -> None:
    # given a tenant with an API of one scope, an M2M application without a grant, and its portal admin
    tenant = TenantFactory(slug="tabs-co")
    api = ApiFactory(
        tenant=tenant,
        name="Reports API",
        identifier="https://reports.example.com",
        scopes={"read:reports": "Read reports"},
    )
    application = ApplicationFactory(tenant=tenant, name="Reports exporter")
    portal_admin_create(username="tab", password=PASSWORD, tenants=[tenant])
    base = live_server.url
    refused: list[str] = []  # what the page's CSP blocked (inline code would be): must stay empty
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
    )

    page.goto(f"{base}/admin/")
    page.fill("#id_username", "tab")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    # when the admin opens the API and its Permissions tab
    page.goto(f"{base}/admin/apis/api/{api.pk}/change/")
    expect(page.locator("#api-tab-settings")).to_have_attribute("aria-current", "page")
    page.click("#api-tab-permissions")
    expect(page.locator("#api-tab-permissions")).to_have_attribute("aria-current", "page")

    # and adds a permission
    page.fill("#id_add-value", "export:reports")
    page.fill("#id_add-description", "Export reports")
    page.click("#add-permission")

    # then it is listed
    expect(page.locator(".messagelist")).to_contain_text("Permission export:reports added.")
    expect(page.locator('tr.permission-row[data-scope="export:reports"]')).to_be_visible()

    # when, on the M2M tab, they switch the application on and tick the new scope with the keyboard
    page.click("#api-tab-m2m")
    switch = page.get_by_role("switch", name="Reports exporter: Authorized")
    expect(switch).not_to_be_checked()
    scope_box = page.get_by_role("checkbox", name="export:reports (Export reports)")
    expect(scope_box).to_be_hidden()  # folded while the application is off
    switch.focus()
    page.keyboard.press("Space")
    expect(switch).to_be_checked()
    expect(scope_box).to_be_visible()
    scope_box.focus()
    page.keyboard.press("Space")
    expect(scope_box).to_be_checked()
    page.locator("#save-m2m").focus()
    page.keyboard.press("Enter")

    # then the application holds a client grant for exactly that scope
    expect(page.locator(".messagelist")).to_contain_text("Reports exporter authorized (export:reports)")
    expect(page.get_by_role("switch", name="Reports exporter: Authorized")).to_be_checked()
    grant = ClientGrant.objects.get(application=application, api=api)
    assert grant.scopes == ["export:reports"]

    # when, on the Test tab, they get a test token
    page.click("#api-tab-test")
    expect(page.locator("#snippet-curl")).to_contain_text(f"client_id={application.client_id}")
    page.click("#get-test-token")

    # then its decoded claims are on the page, with the granted scope and the API as audience
    claims = json.loads(page.locator("#test-token-claims").inner_text())
    assert claims["scope"] == "export:reports"
    assert claims["aud"] == api.identifier
    assert claims["sub"] == f"{application.client_id}@clients"
    token = page.locator("#test-token").inner_text().strip()
    assert jwt.decode(token, options={"verify_signature": False}) == claims
    assert json.loads(page.locator("#test-token-header").inner_text())["typ"] == "at+jwt"

    # and the copy button copies the token
    copy = page.locator('button[data-copy-target="test-token"]')
    copy.click()
    expect(copy).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    assert refused == []
