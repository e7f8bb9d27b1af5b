"""MFA in Debian's Chromium: set up an authenticator on the account page, then sign in with a code.

The secret is read from the page and the codes come from pyotp, as a phone's app would make them.
Nothing on these pages may trip the CSP (the QR code is inline SVG, no style or script).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from apps.accounts.mfa.selectors import MfaPolicy, mfa_enrolled
from apps.accounts.mfa.services import tenant_mfa_policy_set
from tests.factories import TenantFactory, UserFactory

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


def _sign_in(page: Page, base: str, tenant, username: str) -> None:
    page.goto(f"{base}/t/{tenant.slug}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_enrol_on_the_account_page_then_sign_in_with_a_code(page_and_violations, live_server):
    # given a signed-in end user without MFA
    page, violations = page_and_violations
    tenant = TenantFactory(slug="mfa-browser", name="MFA Browser Co")
    user = UserFactory(tenant=tenant, username="bea@mfa.example", password=PASSWORD)
    base = live_server.url
    _sign_in(page, base, tenant, user.username)
    expect(page.locator("h1")).to_have_text("Authorized applications")

    # when they open MFA from their account page and set up an authenticator
    page.click("text=Multi-factor authentication")
    expect(page.locator("[data-mfa-status]")).to_have_attribute("data-mfa-status", "off")
    page.click("button:has-text('Set up authenticator')")
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("[data-secret]").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.fill("input[name=code]", "000000" if totp.now() != "000000" else "111111")
    page.click("button:has-text('Confirm')")
    expect(page.locator(".error")).to_have_text("Invalid otp_code.")
    page.fill("input[name=code]", totp.now())
    page.click("button:has-text('Confirm')")

    # then the recovery codes are shown, once, and MFA is on
    codes = page.locator("[data-recovery-code]")
    expect(codes).to_have_count(10)
    page.click("[data-continue]")
    expect(page.locator("[data-mfa-status]")).to_have_attribute("data-mfa-status", "on")
    assert page.locator("[data-recovery-code]").count() == 0
    assert mfa_enrolled(user=user)

    # when they sign out and in again
    page.goto(f"{base}/t/{tenant.slug}/logout")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("You are signed out")
    _sign_in(page, base, tenant, user.username)

    # then the code step comes; the next step's code (the current one was used) signs them in
    expect(page.locator("h1")).to_have_text("Verify it's you")
    page.fill("input[name=code]", totp.at(time.time() + 30))
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Authorized applications")
    assert violations == []


def test_policy_always_enrols_at_sign_in_and_shows_recovery_codes(page_and_violations, live_server):
    # given a tenant that requires MFA, and a user who never set it up
    page, violations = page_and_violations
    tenant = TenantFactory(slug="mfa-always", name="MFA Always Co")
    tenant_mfa_policy_set(tenant=tenant, policy=MfaPolicy.ALWAYS, actor=None)
    user = UserFactory(tenant=tenant, username="cy@mfa.example", password=PASSWORD)
    base = live_server.url

    # when they sign in, they set up an authenticator as the second step
    _sign_in(page, base, tenant, user.username)
    expect(page.locator("h1")).to_have_text("Set up multi-factor authentication")
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("[data-secret]").inner_text().strip()
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")

    # then recovery codes once, and on to their account, signed in
    expect(page.locator("[data-recovery-code]")).to_have_count(10)
    page.click("[data-continue]")
    expect(page.locator("h1")).to_have_text("Authorized applications")
    assert violations == []
