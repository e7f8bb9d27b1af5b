"""One product in a real browser (Debian's Chromium through Playwright) against the live server.

The header's Dashboard and Events links work from the keyboard; the API's and the application's
tab bars look the same, at a laptop's width and a phone's, where they fit the screen; a copy
button copies from the keyboard, says so, and is not there at all without JavaScript. No page
trips the Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from apps.accounts.services import portal_admin_create
from apps.applications.models import Application
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory, TenantFactory

pytestmark = pytest.mark.browser

PASSWORD = "one product's long passphrase"
VIEWPORTS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# What makes a tab look like it does; compared between the API's tab bar and the application's.
TAB_STYLE = """tab => {
    const style = getComputedStyle(tab);
    return [style.fontWeight, style.color, style.backgroundColor, style.borderTopColor,
            style.borderBottomColor, style.borderRadius, style.boxShadow, style.paddingLeft,
            style.paddingTop, style.textDecorationLine];
}"""


def _context(browser: Browser, live_server, viewport: str = "laptop", **options) -> BrowserContext:
    context = browser.new_context(viewport=VIEWPORTS[viewport], base_url=live_server.url, **options)
    context.set_default_timeout(15_000)
    return context


def _watch_csp(page: Page) -> list[str]:
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security" in message.text else 0,
    )
    return violations


@pytest.fixture
def world(db) -> dict:
    """A tenant with an API, an M2M application granted it, and the tenant's portal admin."""
    tenant = TenantFactory(slug="one-product", name="One Product")
    api = ApiFactory(tenant=tenant, name="Invoices API", identifier="https://invoices.example.com")
    application = ApplicationFactory(
        tenant=tenant, name="Invoice sync", app_type=Application.AppType.MACHINE_TO_MACHINE
    )
    ClientGrantFactory(application=application, api=api)
    portal_admin_create(username="uno", password=PASSWORD, tenants=[tenant])
    return {"api": api, "application": application}


def sign_in(page: Page) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", "uno")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def tab_to(page: Page, reached: Callable[[], bool], *, limit: int = 80) -> None:
    """Press Tab from the top of the page until ``reached()``, as a keyboard user would."""
    page.locator("body").focus()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if reached():
            return
    raise AssertionError("not reachable with Tab")


def settled(page: Page) -> None:
    """Wait for the page's CSS transitions (links fade their colours) to end."""
    page.evaluate("Promise.all(document.getAnimations().map(animation => animation.finished))")


def test_the_header_leads_to_the_events_and_back_from_the_keyboard(
    browser: Browser, live_server, world
) -> None:
    # given the signed-in admin on the APIs list
    context = _context(browser, live_server)
    page = context.new_page()
    violations = _watch_csp(page)
    sign_in(page)
    page.goto("/admin/apis/api/")
    expect(page.locator("#portal-nav-events")).not_to_have_attribute("aria-current", "page")

    # when they Tab from the top of the page to "Events" and press Enter
    tab_to(page, lambda: page.evaluate("document.activeElement.id") == "portal-nav-events")
    page.keyboard.press("Enter")

    # then the events page opens, and the header marks it as the current page
    page.wait_for_url("**/admin/events/")
    expect(page.locator("#events-list")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Portal").get_by_role("link", name="Events")
    ).to_have_attribute("aria-current", "page")
    # and "Dashboard", next to it, leads back
    page.locator("#portal-nav-dashboard").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/")
    expect(page.locator("#portal-nav-dashboard")).to_have_attribute("aria-current", "page")
    assert violations == []
    context.close()


@pytest.mark.parametrize("viewport", ["laptop", "phone"])
def test_the_api_and_the_application_tab_bars_look_the_same(
    browser: Browser, live_server, world, viewport
) -> None:
    # given the signed-in admin, at a laptop's or a phone's width
    context = _context(browser, live_server, viewport)
    page = context.new_page()
    violations = _watch_csp(page)
    sign_in(page)
    looks = {}
    for name, url in (
        ("api", f"/admin/apis/api/{world['api'].pk}/m2m/"),
        ("application", f"/admin/applications/application/{world['application'].pk}/change/"),
    ):
        # when they open the API's tabs and the application's page
        page.goto(url)
        tabs = page.locator("nav.portcullis-tabs a")
        current = page.locator("nav.portcullis-tabs a[aria-current]")
        expect(current).to_have_count(1)
        other = page.locator("nav.portcullis-tabs a:not([aria-current])").first
        settled(page)
        looks[name] = (current.evaluate(TAB_STYLE), other.evaluate(TAB_STYLE))
        # then every tab is on the screen, and the page does not scroll sideways
        width = VIEWPORTS[viewport]["width"]
        for index in range(tabs.count()):
            box = tabs.nth(index).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (name, index)
        assert page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        ), name
    # and the current tab, and the others, look the same on both, the current one apart from the rest
    assert looks["api"] == looks["application"]
    assert looks["api"][0] != looks["api"][1]
    assert violations == []
    context.close()


def test_a_copy_button_copies_from_the_keyboard_and_needs_the_script(
    browser: Browser, live_server, world
) -> None:
    # given the signed-in admin on the application's Quickstart, allowed to use the clipboard
    context = _context(browser, live_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    violations = _watch_csp(page)
    sign_in(page)
    quickstart = f"/admin/applications/application/{world['application'].pk}/quickstart/"
    page.goto(quickstart)
    snippet = page.locator("#snippet-1").inner_text().strip()
    button = page.locator("button[data-copy-target=snippet-1]")
    expect(button).to_have_accessible_name("Copy the curl snippet")
    expect(button).to_be_visible()

    # when they reach the curl snippet's copy button with Tab and press Enter
    tab_to(page, lambda: page.evaluate("document.activeElement.dataset.copyTarget") == "snippet-1")
    expect(button).to_be_focused()
    page.keyboard.press("Enter")

    # then the snippet is on the clipboard, the button says so, and so does its status for a screen reader
    expect(page.locator("#snippet-1-title ~ .portcullis-copy-bar [role=status]")).to_have_text(
        "Copied to the clipboard."
    )
    expect(button).to_have_text("Copied the curl snippet")
    assert page.evaluate("navigator.clipboard.readText()") == snippet
    # and the button is ready again after a moment
    expect(button).to_have_text("Copy the curl snippet", timeout=5_000)
    assert violations == []
    context.close()

    # when the page is opened without JavaScript
    without_script = _context(browser, live_server, java_script_enabled=False)
    page = without_script.new_page()
    sign_in(page)
    page.goto(quickstart)
    # then the snippets are there, and no copy button that could do nothing
    expect(page.locator("#snippet-1")).to_be_visible()
    expect(page.locator("button.portcullis-copy")).to_have_count(3)
    for index in range(3):
        expect(page.locator("button.portcullis-copy").nth(index)).to_be_hidden()
    without_script.close()
