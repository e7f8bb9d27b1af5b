"""An end user and the sample web app in Debian's Chromium, against the live server.

The demo tenant is bootstrapped as ``make run`` does and the sample web app (``/sample/``)
reads its registration from the ``var/demo.json`` that it writes. Its redirect URI is on
localhost, so Auth0's rule applies: consent is asked the first time even though the app is
first party; once given, it is remembered until the user revokes it.
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
import pytest
import requests
from django.core.management import call_command
from playwright.sync_api import Browser, BrowserContext, Page, expect

from apps.accounts.models import User
from apps.core.oidc import OIDC_SCOPE_DESCRIPTIONS
from apps.resource_kit.jwks import clear_jwks_cache
from apps.timesheets.models import Timesheet
from tests.oauth.user_flow import pkce_pair

pytestmark = pytest.mark.browser

TENANT = "demo"
APP_NAME = "Timesheets Web"
# What the sample app asks for (apps/timesheets/webapp/config.py), and what the user sees for it.
REQUESTED_SCOPES = ["openid", "profile", "email", "read:timesheets", "offline_access"]
API_SCOPE_DESCRIPTIONS = {"read:timesheets": "Read timesheets"}
SAMPLE_COOKIE = "sample_web"
USER_FIRST, USER_LAST = "Jane", "Doe"
OWN_PROJECT, OTHERS_PROJECT = "Portcullis gate", "Someone else's moat"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """One browser profile per test: no cookie of one test reaches the next."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def csp_violations(page: Page) -> list[str]:
    """What the Content-Security-Policy blocked on the page (Chromium reports it on the console)."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return violations


@pytest.fixture
def demo(live_server, settings, tmp_path, transactional_db) -> Iterator[dict]:
    """The demo tenant as ``make run`` leaves it (var/demo.json in VAR_DIR, no SAMPLE_WEB), served
    by the live server, whose Timesheets API trusts the demo tenant's tokens. The demo user has a
    name and (besides any the demo creates) one timesheet of their own; someone else has another."""
    settings.PUBLIC_URL = live_server.url
    settings.VAR_DIR = tmp_path
    settings.SAMPLE_WEB = None
    settings.TIMESHEETS_RESOURCE_SERVER = {
        "ISSUER": f"{live_server.url}/t/{TENANT}/",
        "AUDIENCE": "https://timesheets.example.com",
        "ALGORITHMS": ["RS256", "ES256"],
    }
    clear_jwks_cache()
    call_command("bootstrap_demo", "--output", str(tmp_path / "demo.json"), stdout=io.StringIO())
    demo = json.loads((tmp_path / "demo.json").read_text())
    user = User.objects.get(tenant__slug=TENANT, username=demo["user"]["username"])
    user.first_name, user.last_name = USER_FIRST, USER_LAST
    user.save(update_fields=["first_name", "last_name"])
    demo["user"]["sub"] = f"auth0|{user.pk}"
    Timesheet.objects.create(
        owner_sub=demo["user"]["sub"], date="2026-11-23", hours="7.5", project=OWN_PROJECT
    )
    Timesheet.objects.create(
        owner_sub="auth0|someone-else", date="2026-11-23", hours="3", project=OTHERS_PROJECT
    )
    demo["user"]["timesheet_count"] = Timesheet.objects.filter(owner_sub=demo["user"]["sub"]).count()
    yield demo
    clear_jwks_cache()


# --- What the user does ---------------------------------------------------------------------
def navigations(page: Page) -> list[str]:
    """Every URL the page's main frame is sent to from now on, redirects included."""
    seen: list[str] = []
    page.on(
        "request",
        lambda request: (
            seen.append(request.url)
            if request.is_navigation_request() and request.frame == page.main_frame
            else None
        ),
    )
    return seen


def paths_of(urls: list[str]) -> list[str]:
    return [urlsplit(url).path for url in urls]


def start_sample_sign_in(page: Page, demo: dict) -> None:
    page.goto(demo["sample_url"])
    page.click("#sign-in")


def sign_in_on_server(page: Page, demo: dict) -> None:
    expect(page.locator("h1")).to_have_text("Sign in")
    assert urlsplit(page.url).path == f"/t/{TENANT}/login"
    page.fill("input[name=username]", demo["user"]["username"])
    page.fill("input[name=password]", demo["user"]["password"])
    page.click("button[type=submit]")


def expect_consent_page(page: Page) -> None:
    expect(page.locator("h1")).to_have_text(f"Authorize {APP_NAME}")
    assert urlsplit(page.url).path == f"/t/{TENANT}/consent"


def decide(page: Page, decision: str) -> None:
    page.click(f"button[name=decision][value={decision}]")


def expect_signed_in_to_sample(page: Page, demo: dict) -> None:
    expect(page.locator("#user-name")).to_have_text(f"{USER_FIRST} {USER_LAST}")
    assert urlsplit(page.url).path == urlsplit(demo["sample_url"]).path


def sign_in_and_allow(page: Page, demo: dict) -> None:
    """The first sign-in through the sample app: the server's login page, then consent."""
    start_sample_sign_in(page, demo)
    sign_in_on_server(page, demo)
    expect_consent_page(page)
    decide(page, "allow")
    expect_signed_in_to_sample(page, demo)


def authorize_url(demo: dict, *, challenge: str, state: str, **extra: str) -> str:
    """An authorization request of the demo's web app, as the sample app would build it."""
    params = {
        "response_type": "code",
        "client_id": demo["web"]["client_id"],
        "redirect_uri": demo["web"]["redirect_uri"],
        "scope": " ".join(REQUESTED_SCOPES),
        "audience": demo["m2m"]["audience"],
        "state": state,
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{demo['issuer']}authorize?{urlencode(params)}"


def redirects_to(seen: list[str], redirect_uri: str) -> list[str]:
    """The navigations that reached the client's redirect URI (the sample app's callback, which
    refuses a response to a request it did not make, so the code stays unredeemed)."""
    return [url for url in seen if url.split("?", 1)[0] == redirect_uri]


# --- The tests ------------------------------------------------------------------------------
def test_sign_in_consent_and_code_exchange_show_the_users_timesheets(
    page: Page, demo: dict, csp_violations: list[str]
) -> None:
    # given a visitor of the sample app who is not signed in anywhere
    seen = navigations(page)

    # when they click Sign in and sign in on the server's page
    start_sample_sign_in(page, demo)
    sign_in_on_server(page, demo)

    # then the consent page names the app and the API, and lists every requested permission
    # (but openid) with its description: the API's own for its scopes
    expect_consent_page(page)
    expect(page.locator("main")).to_contain_text(f"{APP_NAME} is requesting access")
    expect(page.locator("main")).to_contain_text("Timesheets API")
    items = page.locator("ul.permissions li")
    expect(items).to_have_count(len(REQUESTED_SCOPES) - 1)
    descriptions = API_SCOPE_DESCRIPTIONS | OIDC_SCOPE_DESCRIPTIONS
    for scope in REQUESTED_SCOPES[1:]:
        item = items.filter(has=page.locator("code", has_text=scope))
        expect(item).to_have_count(1)
        expect(item).to_contain_text(descriptions[scope])
    expect(page.locator("main")).not_to_contain_text("third-party")

    # when they allow
    decide(page, "allow")

    # then they are back on the sample app, which exchanged the code: it shows their name, their
    # timesheets (from the API, with the access token) and nobody else's, and the granted scopes
    expect_signed_in_to_sample(page, demo)
    expect(page.locator("#user-email")).to_have_text(demo["user"]["username"])
    expect(page.locator("#timesheets")).to_contain_text(OWN_PROJECT)
    expect(page.locator("#timesheets tbody tr")).to_have_count(demo["user"]["timesheet_count"])
    expect(page.locator("#timesheets")).not_to_contain_text(OTHERS_PROJECT)
    expect(page.locator("#api-error")).to_have_count(0)
    assert sorted(page.locator("code.scope").all_inner_texts()) == sorted(REQUESTED_SCOPES)
    expect(page.locator("#token-expiry")).to_contain_text("A refresh token is held.")
    # and the code went through the sample app's callback, once; no page needed what the CSP blocks
    assert paths_of(seen).count("/sample/callback") == 1
    assert csp_violations == []


def test_deny_sends_access_denied_back_to_the_app(page: Page, demo: dict) -> None:
    # given a user on the consent page of the sample app
    start_sample_sign_in(page, demo)
    sign_in_on_server(page, demo)
    expect_consent_page(page)

    # when they deny
    decide(page, "deny")

    # then the sample app says so, with the error the server sent, and nobody is signed in there
    expect(page.locator("h2")).to_have_text("You did not allow access")
    expect(page.locator("#error-detail")).to_contain_text("access_denied")
    assert urlsplit(page.url).path == "/sample/callback"
    assert dict(parse_qsl(urlsplit(page.url).query))["error"] == "access_denied"
    page.goto(demo["sample_url"])
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#user-name")).to_have_count(0)


def test_a_second_sign_in_does_not_ask_for_consent_again(
    page: Page, context: BrowserContext, demo: dict
) -> None:
    # given a user who allowed the app once, and then lost the app's session (not the server's)
    sign_in_and_allow(page, demo)
    context.clear_cookies(name=SAMPLE_COOKIE)
    page.goto(demo["sample_url"])
    expect(page.locator("#sign-in")).to_be_visible()
    seen = navigations(page)

    # when they sign in to the app again
    page.click("#sign-in")

    # then they are signed in straight away: no login page (the server session) and no consent
    # page (the remembered grant)
    expect_signed_in_to_sample(page, demo)
    expect(page.locator("#timesheets")).to_contain_text(OWN_PROJECT)
    paths = paths_of(seen)
    assert f"/t/{TENANT}/authorize" in paths
    assert f"/t/{TENANT}/consent" not in paths
    assert f"/t/{TENANT}/login" not in paths


def test_silent_authentication_returns_a_code_with_a_session_and_a_grant(page: Page, demo: dict) -> None:
    # given a user signed in on the server who allowed the app
    sign_in_and_allow(page, demo)
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    seen = navigations(page)

    # when the browser is sent to authorize with prompt=none
    page.goto(authorize_url(demo, challenge=challenge, state=state, prompt="none"))

    # then it lands on the redirect URI with a code and the state, without any page in between
    captured = redirects_to(seen, demo["web"]["redirect_uri"])
    assert len(captured) == 1, seen
    params = dict(parse_qsl(urlsplit(captured[0]).query))
    assert params["state"] == state
    assert params["iss"] == demo["issuer"]
    assert "error" not in params
    assert paths_of(seen) == [f"/t/{TENANT}/authorize", "/sample/callback"]
    # and the code is good for this client, with the PKCE verifier
    tokens = requests.post(
        f"{demo['issuer']}oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": demo["web"]["redirect_uri"],
            "client_id": demo["web"]["client_id"],
            "client_secret": demo["web"]["client_secret"],
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert tokens.status_code == HTTPStatus.OK, tokens.text
    claims = jwt.decode(tokens.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == demo["user"]["sub"]
    assert claims["azp"] == demo["web"]["client_id"]


def test_silent_authentication_without_a_session_answers_login_required(page: Page, demo: dict) -> None:
    # given a browser signed in nowhere
    _, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    seen = navigations(page)

    # when it is sent to authorize with prompt=none
    page.goto(authorize_url(demo, challenge=challenge, state=state, prompt="none"))

    # then it lands on the redirect URI with login_required, never on the login page
    captured = redirects_to(seen, demo["web"]["redirect_uri"])
    assert len(captured) == 1, seen
    params = dict(parse_qsl(urlsplit(captured[0]).query))
    assert params["error"] == "login_required"
    assert params["state"] == state
    assert "code" not in params
    assert f"/t/{TENANT}/login" not in paths_of(seen)


def test_revoking_the_app_kills_its_refresh_token_and_brings_consent_back(
    page: Page, demo: dict, csp_violations: list[str]
) -> None:
    # given a user who allowed the app, whose refresh token works
    started = datetime.now(UTC)
    sign_in_and_allow(page, demo)
    page.click("text=Refresh tokens")
    expect(page.locator(".notice")).to_contain_text("Tokens refreshed.")
    expect_signed_in_to_sample(page, demo)

    # when they open their authorized applications
    page.goto(f"{demo['issuer']}account/applications")

    # then the app is listed with its permissions and when they were granted
    row = page.locator("tr", has_text=APP_NAME)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Timesheets API")
    expect(row.locator("ul.permissions")).to_contain_text(API_SCOPE_DESCRIPTIONS["read:timesheets"])
    expect(row.locator("code", has_text="read:timesheets")).to_have_count(1)
    granted = datetime.fromisoformat(row.locator("time").get_attribute("datetime"))
    assert started - timedelta(seconds=5) <= granted <= datetime.now(UTC) + timedelta(seconds=5)

    # when they revoke it
    row.locator("button", has_text="Revoke").click()

    # then it is gone from the page
    expect(page.locator("[role=status]")).to_contain_text(f"Access for {APP_NAME} was revoked")
    expect(page.locator("tr", has_text=APP_NAME)).to_have_count(0)
    expect(page.locator("main")).to_contain_text("You have not authorized any application yet.")

    # and the app's refresh token is refused: the app signs the user out
    page.goto(demo["sample_url"])
    expect_signed_in_to_sample(page, demo)
    page.click("text=Refresh tokens")
    expect(page.locator(".notice")).to_contain_text("invalid_grant")
    expect(page.locator(".notice")).to_contain_text("You have been signed out here")
    expect(page.locator("#sign-in")).to_be_visible()

    # and signing in through the app asks for consent again (the server session still stands)
    page.click("#sign-in")
    expect_consent_page(page)
    assert csp_violations == []


def test_the_sample_apps_buttons_work_in_a_browser(page: Page, demo: dict) -> None:
    # given a user signed in to the sample app (and so to the server)
    sign_in_and_allow(page, demo)

    # when they refresh the tokens
    with page.expect_response(lambda response: urlsplit(response.url).path == "/sample/refresh") as posted:
        page.click("text=Refresh tokens")

    # then the app takes the form (a redirect home, not the CSRF check's 403), shows the new
    # expiry and still knows them
    assert posted.value.status == HTTPStatus.FOUND
    expect(page.locator(".notice")).to_contain_text("Tokens refreshed.")
    expect_signed_in_to_sample(page, demo)

    # when they sign out
    with page.expect_response(lambda response: urlsplit(response.url).path == "/sample/logout") as posted:
        page.click("button:has-text('Sign out')")

    # then the app takes the form too, and they are signed out of the app and of the server
    # (RP-initiated logout with the ID token as hint: no confirmation page), so the next sign-in
    # shows the server's login page
    assert posted.value.status == HTTPStatus.FOUND
    expect(page.locator(".notice")).to_contain_text(
        "You are signed out of Timesheets and of the authorization server."
    )
    expect(page.locator("#sign-in")).to_be_visible()
    page.click("#sign-in")
    expect(page.locator("h1")).to_have_text("Sign in")
