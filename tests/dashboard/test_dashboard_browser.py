"""The dashboard and the events page in a real browser (Debian's Chromium through Playwright), live server.

A tenant admin whose application got tokens over HTTP sees them charted; the admin of a fresh
tenant sees what to do first; the events page filters by type and application; the pages fit a
phone's width and trip no Content-Security-Policy violation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from http import HTTPStatus

import pytest
import requests
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from apps.accounts.services import portal_admin_create
from tests.conftest import make_m2m_setup
from tests.factories import TenantFactory

pytestmark = pytest.mark.browser

PASSWORD = "dashboard admin's long passphrase"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def csp_violations(page: Page) -> list[str]:
    """What the page's console says the policy blocked (Chromium logs each violation there)."""
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", watch)
    return violations


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def test_tokens_are_charted_and_the_events_page_filters_them(page: Page, csp_violations, live_server) -> None:
    # given a tenant whose M2M application got three tokens and was refused one, over HTTP
    setup = make_m2m_setup()
    portal_admin_create(username="dana", password=PASSWORD, tenants=[setup.tenant])
    token_url = f"{live_server.url}{setup.token_path()}"
    forms = (setup.form(), setup.form(client_secret="wrong-secret"), setup.form(), setup.form())
    statuses = [requests.post(token_url, data=form, timeout=10).status_code for form in forms]
    assert statuses == [HTTPStatus.OK, HTTPStatus.UNAUTHORIZED, HTTPStatus.OK, HTTPStatus.OK]

    # when its admin signs in
    sign_in(page, live_server.url, "dana")

    # then the dashboard charts them: two SVG images whose summaries have the counts, a hover title a bar
    hourly = page.locator("svg#chart-tokens-hourly[role=img]")
    expect(hourly).to_have_attribute(
        "aria-label", re.compile(r"^Tokens per hour, last 24 hours: 3 issued, 1 refused\.")
    )
    daily = page.locator("svg#chart-tokens-daily[role=img]")
    expect(daily).to_have_attribute(
        "aria-label", re.compile(r"^Tokens per day, last 30 days: 3 issued, 1 refused\.")
    )
    titles = hourly.locator("g.pc-bar-group > title").all_text_contents()
    assert len(titles) == 24 and all(re.search(r": \d+ issued, \d+ refused$", title) for title in titles)
    expect(page.locator("#dashboard-empty")).to_have_count(0)

    # when they follow "All events" and filter the refused requests
    page.click("#all-events-link")
    expect(page.locator("#events-list tr.pc-event-token")).to_have_count(4)
    page.select_option("#id_type", "feccft")
    page.click("#events-filter-submit")

    # then only the refusal is listed
    rows = page.locator("#events-list tbody tr.pc-event")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-type", "feccft")
    expect(rows.first).to_contain_text("invalid_client")

    # when they filter the application's issued tokens instead
    page.select_option("#id_type", "seccft")
    page.fill("#id_client_id", setup.client_id)
    page.click("#events-filter-submit")
    expect(rows).to_have_count(3)
    for index in range(3):
        expect(rows.nth(index)).to_contain_text(setup.client_id)
    assert csp_violations == []


def test_a_fresh_tenant_sees_its_first_steps_also_on_a_phone(page: Page, csp_violations, live_server) -> None:
    # given the admin of a tenant with nothing in it yet
    tenant = TenantFactory(slug="fresh-start", name="Fresh Start")
    portal_admin_create(username="fern", password=PASSWORD, tenants=[tenant])
    page.set_viewport_size(PHONE)

    # when they sign in
    sign_in(page, live_server.url, "fern")

    # then the dashboard says what to do first, links to it, and draws no chart
    empty = page.locator("#dashboard-empty")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("No tokens yet — create an API, then an application")
    expect(empty.get_by_role("link", name="Create an API and its permissions (scopes)")).to_have_attribute(
        "href", "/admin/apis/api/add/"
    )
    expect(page.locator("svg.pc-chart")).to_have_count(0)
    # and the figures and the model list are there, within a phone's width
    expect(page.locator("#figure-apis")).to_have_text("0")
    expect(page.get_by_role("link", name="Applications").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert csp_violations == []
