"""The portal's frame in a real browser (Debian's Chromium through Playwright) against the live server.

A portal admin of two tenants switches between them from the keyboard; a read-only member finds
nothing to change; the pages fit a laptop and a phone without sideways scrolling.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from apps.accounts.services import portal_admin_create
from apps.tenants.models import TenantMembership
from tests.factories import ApiFactory, MembershipFactory, PortalAdminFactory, TenantFactory

pytestmark = pytest.mark.browser

PASSWORD = "browser admin's long passphrase"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("Portcullis")


def tab_to(page: Page, element_id: str, *, limit: int = 25) -> None:
    """Press Tab from the top of the page until ``element_id`` has the focus (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} is not reachable with Tab")


def test_a_two_tenant_admin_switches_tenant_with_the_keyboard(page: Page, live_server) -> None:
    # given two tenants with an API each, and a portal admin of both
    acme = TenantFactory(slug="acme", name="Acme Corp")
    globex = TenantFactory(slug="globex", name="Globex")
    ApiFactory(tenant=acme, name="Anvils API", identifier="https://anvils.acme.example")
    ApiFactory(tenant=globex, name="Gadgets API", identifier="https://gadgets.globex.example")
    portal_admin_create(username="kim", password=PASSWORD, tenants=[acme, globex])
    base = live_server.url
    sign_in(page, base, "kim")

    # when they open the APIs: they work in Acme (the first), and see Acme's API only
    page.goto(f"{base}/admin/apis/api/")
    select = page.locator("#portal-tenant-select")
    expect(select.locator("option:checked")).to_have_text("Acme Corp (acme)")
    expect(page.locator("#result_list")).to_contain_text("Anvils API")
    expect(page.locator("#result_list")).not_to_contain_text("Gadgets API")

    # and switch to Globex with the keyboard alone: Tab to the labelled select, arrow, Tab, Enter
    page.keyboard.press("Escape")
    page.locator("body").focus()
    tab_to(page, "portal-tenant-select")
    assert page.evaluate("document.activeElement.labels[0].textContent") == "Tenant"
    page.keyboard.press("ArrowDown")
    expect(select).to_have_value(str(globex.pk))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "portal-tenant-switch"
    page.keyboard.press("Enter")

    # then they are back on the APIs, in Globex: its name in the header, its API in the list
    page.wait_for_url(f"{base}/admin/apis/api/")
    expect(page.locator("#portal-tenant-select option:checked")).to_have_text("Globex (globex)")
    expect(page.locator("#result_list")).to_contain_text("Gadgets API")
    expect(page.locator("#result_list")).not_to_contain_text("Anvils API")


def test_a_read_only_member_finds_nothing_to_change(page: Page, live_server) -> None:
    # given a read-only member of a tenant with an API
    tenant = TenantFactory(slug="lookers", name="Lookers Ltd")
    api = ApiFactory(tenant=tenant, name="Reports API")
    viewer = PortalAdminFactory(username="vic", password=PASSWORD)
    MembershipFactory(tenant=tenant, user=viewer, role=TenantMembership.Role.READ_ONLY)
    base = live_server.url
    sign_in(page, base, "vic")
    # when they open the API list and the API
    page.goto(f"{base}/admin/apis/api/")
    expect(page.locator("#portal-role")).to_have_text("Read-only")
    expect(page.locator("#portal-tenant-name")).to_have_text("Lookers Ltd")
    assert page.locator("a.addlink").count() == 0
    page.click("text=Reports API")
    # then the page shows the API with no field to type in and no button to save or delete
    expect(page.locator("#content")).to_contain_text(api.identifier)
    assert page.locator("#api_form input[name=name]").count() == 0
    assert page.locator("input[name=_save], a.deletelink").count() == 0


def _no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


PAGES = [
    "/admin/apis/api/",
    "/admin/tenants/tenantmembership/",
    "/admin/tenants/tenantmembership/add/",
    "/admin/tenants/tenant/{tenant}/change/",
    "/admin/tenants/signingkey/",
    "/admin/accounts/user/",
    "/admin/accounts/role/",
    "/admin/grants/clientgrant/",
    "/admin/token_rules/tokenrule/",
    "/admin/audit/auditevent/",
]


@pytest.mark.parametrize("viewport", ["laptop", "phone"])
def test_the_portal_fits_a_laptop_and_a_phone(page: Page, phone: Page, live_server, viewport) -> None:
    # given the owner of two tenants, with long names
    long_name = "Northwind Traders International Holdings"
    first = TenantFactory(slug="amalgamated-northwind-traders", name=long_name)
    second = TenantFactory(slug="contoso", name="Contoso")
    owner = PortalAdminFactory(username="olu", password=PASSWORD)
    MembershipFactory(tenant=first, user=owner, role=TenantMembership.Role.OWNER)
    MembershipFactory(tenant=second, user=owner, role=TenantMembership.Role.OWNER)
    browser_page = page if viewport == "laptop" else phone
    base = live_server.url
    sign_in(browser_page, base, "olu")
    # when they open each page of the frame / then none scrolls sideways, and the switcher is on screen
    for path in PAGES:
        browser_page.goto(base + path.format(tenant=first.pk))
        assert _no_sideways_scroll(browser_page), f"{path} scrolls sideways at {viewport} width"
        switcher = browser_page.locator("#portal-tenant-switcher")
        expect(switcher).to_be_visible()
        box = switcher.bounding_box()
        width = browser_page.viewport_size["width"]
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, path
    # and the empty Roles list of the new tenant says what to do first, within the screen
    browser_page.goto(f"{base}/admin/accounts/role/")
    expect(browser_page.locator("#portal-empty-state")).to_be_visible()
    assert _no_sideways_scroll(browser_page)
