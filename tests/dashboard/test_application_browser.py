"""The application pages in a real browser (Debian's Chromium through Playwright) against the live server.

A portal admin creates a machine-to-machine application through the short form, copies its
secret with the keyboard from the one page that shows it, finds their way through the tabs,
and the copied secret gets a token over HTTP once the application is granted an API.
"""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus

import jwt
import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from apps.accounts.services import portal_admin_create
from apps.applications.models import Application
from apps.grants.services import client_grant_create
from tests.factories import ApiFactory, TenantFactory

pytestmark = pytest.mark.browser

PASSWORD = "application pages' long passphrase"


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    # The live server is on localhost, a secure context: the Clipboard API is there to use.
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"], base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page: Page, username: str) -> None:
    page.goto("/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("Portcullis")


def test_an_m2m_app_created_by_type_gets_a_token_with_the_secret_copied_once(page: Page, live_server) -> None:
    # given a tenant with an API, and a portal admin of it
    tenant = TenantFactory(slug="apps-browser")
    api = ApiFactory(tenant=tenant, identifier="https://ledger.example.com", scopes={"read:ledger": "Read"})
    portal_admin_create(username="ada", password=PASSWORD, tenants=[tenant])
    sign_in(page, "ada")

    # when they create an application: name and type, the type picked by its label
    page.goto("/admin/applications/application/add/")
    page.select_option("#id_tenant", str(tenant.pk))
    page.get_by_label("Name").fill("Ledger sync")
    page.get_by_label("Machine to machine").check()
    expect(page.locator("#id_grant_types")).to_have_count(0)
    page.click("#create-application")

    # then the secret is shown, once on the page, and the copy button is reached with Tab
    secret = page.locator("#client-secret").inner_text().strip()
    assert len(secret) >= 40
    assert page.content().count(secret) == 1
    page.locator("#client-secret").click()
    page.keyboard.press("Tab")
    expect(page.locator("#copy-secret")).to_be_focused()
    # and Enter copies it
    page.keyboard.press("Enter")
    expect(page.locator(".portcullis-copy-status")).to_have_text("Copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == secret
    application = Application.objects.get(tenant=tenant, name="Ledger sync")
    assert application.grant_types == ["client_credentials"]

    # when they continue to the application's page
    page.click("#secret-continue")
    # then it opens on Settings, the other sections hidden, and the secret is nowhere
    expect(page.locator("#tab-settings")).to_be_visible()
    expect(page.locator("#tab-credentials")).to_be_hidden()
    assert secret not in page.content()
    # and the Credentials tab, chosen with the keyboard, shows the client id and no secret
    page.locator("nav.portcullis-tabs a", has_text="Credentials").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#tab-credentials")).to_be_visible()
    expect(page.locator("#tab-settings")).to_be_hidden()
    expect(page.locator("#tab-credentials")).to_contain_text(application.client_id)
    expect(page.locator("#tab-credentials")).to_contain_text("Hidden. Portcullis keeps only a hash of it")
    assert page.url.endswith("#tab-credentials")
    # and Grant types offers client credentials only
    page.locator("nav.portcullis-tabs a", has_text="Grant types").click()
    expect(page.locator("#tab-grant-types input[type=checkbox]")).to_have_count(1)

    # when they open Quickstart before any grant, it says to authorize the application for an API
    page.locator("nav.portcullis-tabs a", has_text="Quickstart").click()
    expect(page.locator("#quickstart-todo")).to_contain_text("Authorize this application for an API first")
    # and once it is granted the API (through the service), the curl snippet names that API
    client_grant_create(tenant=tenant, application=application, api=api, scopes=["read:ledger"])
    page.reload()
    curl = page.locator("#snippet-1").inner_text()
    assert f"{live_server.url}/t/{tenant.slug}/oauth/token" in curl
    assert f"-d client_id={application.client_id}" in curl
    assert "--data-urlencode audience=https://ledger.example.com" in curl
    assert secret not in page.content()

    # then the secret copied from the page gets a token over HTTP, as the snippet asks for it
    response = requests.post(
        f"{live_server.url}/t/{tenant.slug}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": application.client_id,
            "client_secret": copied,
            "audience": api.identifier,
        },
        timeout=10,
    )
    assert response.status_code == HTTPStatus.OK, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["aud"], claims["scope"]) == (
        f"{application.client_id}@clients",
        api.identifier,
        "read:ledger",
    )


def test_a_bad_callback_shows_on_the_uris_tab(page: Page) -> None:
    # given a regular web application, and a portal admin
    tenant = TenantFactory(slug="apps-browser-uris")
    portal_admin_create(username="uma", password=PASSWORD, tenants=[tenant])
    sign_in(page, "uma")
    page.goto("/admin/applications/application/add/")
    page.select_option("#id_tenant", str(tenant.pk))
    page.get_by_label("Name").fill("Storefront")
    page.get_by_label("Regular web application").check()
    page.click("#create-application")
    page.click("#secret-continue")

    # when they enter a callback with a fragment on the Application URIs tab and save
    page.locator("nav.portcullis-tabs a", has_text="Application URIs").click()
    page.get_by_label("Allowed callback URLs").fill("https://shop.example.com/cb#top")
    page.click("input[name=_continue]")

    # then the page comes back on that tab, with the message on the field
    expect(page.locator("#tab-application-uris")).to_be_visible()
    expect(page.locator("#tab-settings")).to_be_hidden()
    expect(page.locator("#tab-application-uris .errorlist")).to_have_text(
        "'https://shop.example.com/cb#top' must not contain a fragment (the part from #)."
    )
    # and a good one is saved, and the page stays on the tab
    page.get_by_label("Allowed callback URLs").fill("https://shop.example.com/callback")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(page.locator("#tab-application-uris")).to_be_visible()
    assert (
        Application.objects.get(tenant=tenant, name="Storefront").redirect_uris
        == "https://shop.example.com/callback"
    )
