"""The end-user pages and the admin in Debian's Chromium: the CSP blocks nothing they need.

Chromium reports every CSP violation on the console ("Refused to ..."); a page that needed
inline code, a framed page or a blocked form submission would show up there. A real browser
also sends the Origin header Django's CSRF check reads (a ``no-referrer`` policy makes it
"null" and refuses every sign-in, which no test with a plain HTTP client would notice).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from apps.accounts.services import portal_admin_create
from tests.factories import ApiFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "a long enough passphrase"


@pytest.fixture
def page_and_violations(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    yield page, violations
    context.close()


def test_an_end_user_signs_in_and_out_with_nothing_blocked(page_and_violations, live_server):
    # given an end user of a tenant
    page, violations = page_and_violations
    tenant = TenantFactory(slug="csp-co", name="CSP Company")
    user = UserFactory(tenant=tenant, username="carol@csp.example", password=PASSWORD)
    base = live_server.url

    # when they sign in, with the page styled from its stylesheet
    page.goto(f"{base}/t/{tenant.slug}/login?next=/t/{tenant.slug}/logout")
    expect(page.locator(".tenant")).to_have_text("CSP Company")
    assert page.locator("main.card").evaluate("element => getComputedStyle(element).maxWidth") != "none"
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    # then they land on next (here: the sign-out page, which knows them), and can sign out
    expect(page.locator("main")).to_contain_text(user.username)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("You are signed out")
    assert violations == []


def test_the_admin_works_under_the_policy(page_and_violations, live_server):
    # given a portal admin of a tenant with an API
    page, violations = page_and_violations
    tenant = TenantFactory(slug="csp-admin-co")
    ApiFactory(tenant=tenant)
    portal_admin_create(username="dana", password=PASSWORD, tenants=[tenant])
    base = live_server.url

    # when they sign in and open the pages they use, scripts included
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "dana")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("Portcullis")
    for path in (
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        "/admin/applications/application/add/",
        "/admin/grants/clientgrant/add/",
        "/admin/apis/api/",
    ):
        page.goto(f"{base}{path}")
        expect(page.locator("#content")).to_be_visible()

    # then the policy blocked nothing
    assert violations == []
