"""What every real-browser test shares: Debian's Chromium through Playwright, one per module.

Registered for the whole suite in ``tests/conftest.py`` (``pytest_plugins``); a browser test
module asks for the ``browser`` fixture and marks itself ``pytestmark = pytest.mark.browser``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# As the machine's own probe runs it: without the networking flags Chromium keeps trying
# hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def allow_orm_next_to_playwright() -> Iterator[None]:
    """Playwright's sync API runs an event loop in the test's thread, and Django then refuses ORM
    calls there as "async-unsafe". Nothing here shares a connection between threads, so allow
    them, for the module only."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(allow_orm_next_to_playwright: None) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
