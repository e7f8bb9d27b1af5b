"""The admin in a real browser (Debian's Chromium through Playwright) against the live server.

A portal admin signs in, registers an M2M application, sees its secret exactly once,
grants it one scope of an API, and the secret they copied gets a token.
"""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from apps.accounts.services import portal_admin_create
from apps.applications.models import Application
from tests.factories import ApiFactory, ApplicationFactory, TenantFactory

pytestmark = pytest.mark.browser

PASSWORD = "browser admin's long passphrase"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_portal_admin_registers_an_m2m_app_whose_secret_works(page: Page, live_server) -> None:
    # given a tenant with an API of two scopes (and another API), and a portal admin of that tenant
    tenant = TenantFactory(slug="browser-co")
    api = ApiFactory(
        tenant=tenant,
        identifier="https://reports.example.com",
        scopes={"read:reports": "Read reports", "write:reports": "Write reports"},
    )
    ApiFactory(tenant=tenant, identifier="https://billing.example.com", scopes={"read:invoices": ""})
    portal_admin_create(username="bea", password=PASSWORD, tenants=[tenant])
    base = live_server.url

    # when the admin signs in
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "bea")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("Portcullis")

    # and registers a machine-to-machine application
    page.goto(f"{base}/admin/applications/application/add/")
    page.select_option("#id_tenant", str(tenant.pk))
    page.fill("#id_name", "Reports exporter")
    page.check(f"input[name=app_type][value={Application.AppType.MACHINE_TO_MACHINE.value}]")
    page.click("input[name=_save]")

    # then the secret is on the page, exactly once
    secret = page.locator("#client-secret").inner_text().strip()
    assert len(secret) >= 40
    assert page.content().count(secret) == 1
    application = Application.objects.get(tenant=tenant, name="Reports exporter")
    assert application.client_id in page.content()

    # and never again: not on the application's page, nor after a reload of it, nor in the list
    page.click("#secret-continue")
    expect(page.locator("#application_form")).to_be_visible()
    assert secret not in page.content()
    page.reload()
    assert secret not in page.content()
    page.goto(f"{base}/admin/applications/application/")
    assert secret not in page.content()

    # when the admin grants it the API with one scope
    page.goto(f"{base}/admin/grants/clientgrant/add/")
    page.select_option("#id_application", str(application.pk))
    page.select_option("#id_api", str(api.pk))
    # (only the chosen API's scopes are on offer)
    expect(page.locator("input[name=scopes][value='read:invoices']")).to_be_hidden()
    page.check("input[name=scopes][value='read:reports']")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    # then the secret shown once gets a token for that API with that scope
    response = requests.post(
        f"{base}/t/{tenant.slug}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": application.client_id,
            "client_secret": secret,
            "audience": api.identifier,
        },
        timeout=10,
    )
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json()["scope"] == "read:reports"


def test_the_token_rules_dry_run_shows_a_refusal_whole(page: Page, live_server) -> None:
    # given an application without a client grant for an API with a long identifier
    tenant = TenantFactory(slug="browser-rules")
    api = ApiFactory(tenant=tenant, identifier="https://" + "very-long-api-name." * 4 + "example.com")
    application = ApplicationFactory(tenant=tenant, app_type=Application.AppType.MACHINE_TO_MACHINE.value)
    portal_admin_create(username="rui", password=PASSWORD, tenants=[tenant])
    base = live_server.url
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "rui")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    # when they dry-run the pair
    page.goto(f"{base}/admin/token_rules/tokenrule/dry-run/?application={application.pk}&api={api.pk}")
    refusal = page.locator("#dry-run-refusal")
    # then the refusal the token endpoint would give is there, wrapped inside the page, not cut off
    expect(refusal).to_contain_text("access_denied")
    assert refusal.evaluate("e => e.scrollWidth <= e.clientWidth")
