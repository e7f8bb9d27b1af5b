"""The README's screenshots of the portal, made against a running demo (``make run``).

    python tests/e2e/screenshots.py --base-url http://127.0.0.1:8000 --demo var/demo.json \
        --out static/portcullis/screenshots

It first asks the token endpoint for a few tokens with the demo's M2M application (and has three
refused), so the dashboard's charts have bars; then it signs in to the portal as the demo's admin
in Debian's Chromium (Playwright, launched as ``tests/browser.py`` does) and saves PNGs at
1280x800, plus the dashboard at a phone's 390 px. Secrets never reach a PNG: every element that
holds one (the test token, a client secret) is masked.

Not a test (no ``test_`` prefix: pytest does not collect it); the browser tests check behaviour,
this only takes pictures. Rerun it after a change to the portal's look.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import requests
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script, tests/ is not importable otherwise
    sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ISSUED = 12  # tokens the demo's M2M application gets before the pictures
UNKNOWN_AUDIENCE = "https://payroll.example.com"  # an API the demo does not have: a refusal
# Every element that may hold a secret: masked in every picture.
SECRET_SELECTORS = (".portcullis-secret-value", "#test-token", "#client-secret")
# The token log is written by a background thread (TOKEN_LOG_FLUSH_SECONDS, 1 s by default):
# give it time before the dashboard reads the roll-ups.
FLUSH_WAIT_SECONDS = 3.0
MASK_COLOR = "#c8ced3"  # a quiet grey, not Playwright's default magenta
API_NAME = "Timesheets API"


@dataclass(frozen=True)
class Shot:
    """One picture: its file name, and how to bring the page to what it shows."""

    name: str
    prepare: Callable[[Page, str], None]


def issue_tokens(demo: dict, *, issued: int = ISSUED) -> None:
    """Tokens issued and refused over HTTP, as any client would ask for them.

    The refusals are the two a misconfigured client meets first: a wrong secret (401
    ``invalid_client``) and an API it has no grant for (403 ``access_denied``).
    """
    endpoint = f"{demo['issuer']}oauth/token"
    m2m = demo["m2m"]
    good = {
        "grant_type": "client_credentials",
        "client_id": m2m["client_id"],
        "client_secret": m2m["client_secret"],
        "audience": m2m["audience"],
    }
    attempts = [(good, HTTPStatus.OK)] * issued + [
        (good | {"client_secret": "not-the-secret"}, HTTPStatus.UNAUTHORIZED),
        (good | {"client_secret": "not-the-secret-either"}, HTTPStatus.UNAUTHORIZED),
        (good | {"audience": UNKNOWN_AUDIENCE}, HTTPStatus.FORBIDDEN),
    ]
    with requests.Session() as http:
        for data, expected in attempts:
            response = http.post(endpoint, data=data, timeout=30)
            if response.status_code != expected:
                raise SystemExit(
                    f"token endpoint answered {response.status_code}, not {expected}: {response.text}"
                )
    time.sleep(FLUSH_WAIT_SECONDS)


def sign_in(page: Page, base_url: str, demo: dict) -> None:
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", demo["admin"]["username"])
    page.fill("#id_password", demo["admin"]["password"])
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


def open_api(page: Page, base_url: str) -> None:
    """The demo API's Settings tab, found through the APIs list as an admin would."""
    page.goto(f"{base_url}/admin/apis/api/")
    page.get_by_role("link", name=API_NAME, exact=True).click()
    page.wait_for_selector("nav.portcullis-tabs")


def dashboard(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/")
    page.wait_for_selector("#chart-tokens-hourly")


def api_m2m(page: Page, base_url: str) -> None:
    open_api(page, base_url)
    page.click("#api-tab-m2m")
    page.wait_for_selector(".portcullis-m2m-list")


def api_test(page: Page, base_url: str) -> None:
    open_api(page, base_url)
    page.click("#api-tab-test")
    page.click("#get-test-token")
    page.wait_for_selector("#test-token-claims")
    # The page lands on the outcome (the form's #test-token-outcome): show it from the token's
    # heading down, the decoded header and claims.
    page.evaluate("document.getElementById('test-token-heading').scrollIntoView({block: 'start'})")


def application_create(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/applications/application/add/")
    page.wait_for_selector("#create-application")


def events(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/events/")
    page.wait_for_selector("#events-list")


DESKTOP_SHOTS = (
    Shot("dashboard.png", dashboard),
    Shot("api-m2m-applications.png", api_m2m),
    Shot("api-test.png", api_test),
    Shot("application-create.png", application_create),
    Shot("events.png", events),
)
PHONE_SHOTS = (Shot("dashboard-phone.png", dashboard),)


def take(page: Page, base_url: str, shot: Shot, out: Path) -> Path:
    shot.prepare(page, base_url)
    path = out / shot.name
    masks = [page.locator(selector) for selector in SECRET_SELECTORS]
    page.screenshot(
        path=str(path), type="png", mask=masks, mask_color=MASK_COLOR, animations="disabled", caret="hide"
    )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the running portal")
    parser.add_argument(
        "--demo", default="var/demo.json", type=Path, help="the demo's credentials (make run)"
    )
    parser.add_argument("--out", default="static/portcullis/screenshots", type=Path, help="where the PNGs go")
    parser.add_argument(
        "--no-tokens", action="store_true", help="take the pictures without issuing tokens first"
    )
    args = parser.parse_args(argv)
    base_url = args.base_url.rstrip("/")
    demo = json.loads(args.demo.read_text())
    args.out.mkdir(parents=True, exist_ok=True)

    if not args.no_tokens:
        issue_tokens(demo)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for viewport, shots in ((DESKTOP, DESKTOP_SHOTS), (PHONE, PHONE_SHOTS)):
                context = browser.new_context(viewport=viewport, device_scale_factor=1, color_scheme="light")
                page = context.new_page()
                page.set_default_timeout(30_000)
                sign_in(page, base_url, demo)
                for shot in shots:
                    path = take(page, base_url, shot, args.out)
                    print(f"{path} ({path.stat().st_size // 1024} KB)")
                context.close()
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
