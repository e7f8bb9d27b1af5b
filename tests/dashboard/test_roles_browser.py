"""Roles in a real browser: a portal admin creates a role from API scopes and assigns it to a user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from apps.accounts.models import Role
from apps.accounts.services import portal_admin_create
from tests.factories import ApiFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "browser admin's long passphrase"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_portal_admin_creates_a_role_and_assigns_it(page: Page, live_server) -> None:
    # given a tenant with a Timesheets API, an end user, and a portal admin of that tenant
    tenant = TenantFactory(slug="roles-co")
    ApiFactory(
        tenant=tenant,
        name="Timesheets API",
        scopes={"read:timesheets": "", "approve:timesheets": "", "delete:timesheets": ""},
    )
    user = UserFactory(tenant=tenant, username="jane@roles.example")
    portal_admin_create(username="rhea", password=PASSWORD, tenants=[tenant])
    base = live_server.url
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "rhea")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("Portcullis")

    # when they create a role with two of the API's scopes
    page.goto(f"{base}/admin/accounts/role/add/")
    page.select_option("#id_tenant", str(tenant.pk))
    page.fill("#id_name", "Timesheet approver")
    page.get_by_label("Timesheets API: read:timesheets").check()
    page.get_by_label("Timesheets API: approve:timesheets").check()
    page.click("input[name=_save]")

    # then the role list shows it with its permissions
    row = page.locator("#result_list tr", has_text="Timesheet approver")
    expect(row).to_contain_text("approve:timesheets, read:timesheets")

    # when they give it to the user on the user's page
    page.goto(f"{base}/admin/accounts/user/{user.pk}/change/")
    page.get_by_label("Timesheet approver").check()
    page.click("input[name=_save]")

    # then the role's page lists the user
    role = Role.objects.get(tenant=tenant, name="Timesheet approver")
    page.goto(f"{base}/admin/accounts/role/{role.pk}/change/")
    expect(page.get_by_role("link", name="jane@roles.example")).to_be_visible()
    assert list(user.roles.all()) == [role]
