"""The portal looks like one product: one copy button, one tab bar, and the header's own links.

Copy buttons (a one-time secret, the API's test token, Quickstart snippets) all follow the one
convention of ``static/portcullis/copy_button.js``; the API's and the application's tab bars are
drawn by one stylesheet (``static/portcullis/portal.css``); the header links the dashboard and the
events page. In a real browser: ``test_portal_look_browser.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client

from apps.accounts.services import user_create
from apps.applications.models import Application
from apps.tenants.services import membership_add
from tests.dashboard.conftest import PORTAL_PASSWORD, TenantWorld, admin_url

COPY_SCRIPT = "/static/portcullis/copy_button.js"
PORTAL_CSS = "/static/portcullis/portal.css"


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    nav: str = ""  # the id or class of the <nav> it is in, if any

    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()


@dataclass
class Page(HTMLParser):
    """A page's start tags, in order, each with the nav it is in, and the scripts it runs."""

    elements: list[Element] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)  # each script's src, or "inline"
    _navs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), self._navs[-1] if self._navs else "")
        self.elements.append(element)
        if tag == "nav":
            self._navs.append(element.attrs.get("id") or element.attrs.get("class") or "nav")
        if tag == "script":
            self.scripts.append(element.attrs.get("src") or "inline")

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav" and self._navs:
            self._navs.pop()

    def in_nav(self, nav: str) -> list[Element]:
        return [element for element in self.elements if element.nav == nav]

    def with_class(self, name: str) -> list[Element]:
        return [element for element in self.elements if name in element.classes()]

    def ids(self) -> set[str]:
        return {element.attrs["id"] for element in self.elements if element.attrs.get("id")}

    def stylesheets(self) -> list[str]:
        return [
            e.attrs["href"] for e in self.elements if e.tag == "link" and e.attrs.get("rel") == "stylesheet"
        ]


def parsed(response) -> Page:
    assert response.status_code == HTTPStatus.OK, response.status_code
    page = Page()
    page.feed(response.content.decode())
    return page


# --- one copy button ---------------------------------------------------------------------------


def _secret_page(client: Client, world: TenantWorld):
    return client.post(
        admin_url("applications_application_add"),
        {"tenant": world.tenant.pk, "name": "Copy me", "app_type": Application.AppType.MACHINE_TO_MACHINE},
    )


def _test_token_page(client: Client, world: TenantWorld):
    return client.post(admin_url("apis_api_test", world.api.pk), {"application": world.application.pk})


def _quickstart_page(client: Client, world: TenantWorld):
    return client.get(admin_url("applications_application_quickstart", world.application.pk))


COPY_PAGES = {
    "one-time secret": (_secret_page, {"client-secret"}),
    "API test tab with a token": (
        _test_token_page,
        {"snippet-curl", "snippet-python", "snippet-node", "test-token"},
    ),
    "application quickstart": (_quickstart_page, {"snippet-1", "snippet-2", "snippet-3"}),
}


@pytest.mark.parametrize("page_name", COPY_PAGES)
def test_every_copy_button_follows_the_one_convention(portal_client, alpha, page_name):
    # given a page with things to copy (alpha's M2M application is granted alpha's API)
    open_page, copied = COPY_PAGES[page_name]
    # when the admin opens it
    page = parsed(open_page(portal_client, alpha))
    # then each copy button is a real button, hidden until copy_button.js shows it, and names by
    # data-copy-target an element of the page that holds what it copies
    buttons = page.with_class("portcullis-copy")
    assert {button.attrs.get("data-copy-target") for button in buttons} == copied
    assert copied <= page.ids()
    for button in buttons:
        assert button.tag == "button" and button.attrs.get("type") == "button"
        assert "hidden" in button.attrs
    # and each has a status element that tells a screen reader it copied
    statuses = page.with_class("portcullis-copy-status")
    assert len(statuses) == len(buttons)
    assert all(status.attrs.get("role") == "status" for status in statuses)
    # and the one script runs them, from a file: no other copy convention, no inline script
    assert COPY_SCRIPT in page.scripts
    assert "inline" not in page.scripts
    assert not [element for element in page.elements if "data-copy" in element.attrs]


def test_no_other_script_copies_anything():
    # given the portal's own scripts
    scripts = Path(settings.BASE_DIR, "static", "portcullis").glob("*.js")
    # then only copy_button.js touches the clipboard
    assert sorted(path.name for path in scripts if "clipboard" in path.read_text()) == ["copy_button.js"]


# --- one tab bar -------------------------------------------------------------------------------

# (URL name, whose page, the tab the server marks current). The application's page marks none:
# without JavaScript it shows every section; section_tabs.js marks the one it shows.
TAB_PAGES = [
    ("apis_api_change", "api", "api-tab-settings"),
    ("apis_api_permissions", "api", "api-tab-permissions"),
    ("apis_api_m2m", "api", "api-tab-m2m"),
    ("apis_api_test", "api", "api-tab-test"),
    ("applications_application_change", "application", None),
    ("applications_application_quickstart", "application", "Quickstart"),
]


@pytest.mark.parametrize(("url_name", "owner", "current"), TAB_PAGES)
def test_every_tab_bar_is_the_portals_with_its_current_tab_marked(
    portal_client, alpha, url_name, owner, current
):
    # when the admin opens a page with tabs, of an API or of an application
    pk = alpha.api.pk if owner == "api" else alpha.application.pk
    response = portal_client.get(admin_url(url_name, pk))
    page = parsed(response)
    # then it has one tab bar, a labelled nav, styled by the portal's stylesheet
    navs = [
        element
        for element in page.elements
        if element.tag == "nav" and "portcullis-tabs" in element.classes()
    ]
    assert len(navs) == 1 and navs[0].attrs.get("aria-label")
    assert PORTAL_CSS in page.stylesheets()
    # and its page's tab, and no other, is marked as the current page
    tabs = [element for element in page.in_nav("portcullis-tabs") if element.tag == "a"]
    assert len(tabs) >= 4
    marked = [tab for tab in tabs if tab.attrs.get("aria-current") == "page"]
    if current is None:
        assert marked == []
    elif owner == "api":
        assert [tab.attrs["id"] for tab in marked] == [current]
    else:
        assert [tab.attrs["href"] for tab in marked] == [admin_url(url_name, pk)]


def test_only_the_portal_stylesheet_draws_the_tab_bar():
    # given the portal's stylesheets
    sheets = Path(settings.BASE_DIR, "static", "portcullis").glob("*.css")
    # then one of them styles nav.portcullis-tabs, and it is the one every admin page loads
    assert sorted(path.name for path in sheets if ".portcullis-tabs" in path.read_text()) == ["portal.css"]


# --- the header's links ------------------------------------------------------------------------


def _nav_links(page: Page) -> dict[str, str | None]:
    """The header nav's links: id -> its aria-current."""
    return {e.attrs["id"]: e.attrs.get("aria-current") for e in page.in_nav("portal-nav") if e.tag == "a"}


@pytest.mark.parametrize(
    ("url", "current"),
    [
        ("/admin/", "portal-nav-dashboard"),
        ("/admin/events/", "portal-nav-events"),
        ("/admin/apis/api/", None),
    ],
)
def test_the_header_links_the_dashboard_and_the_events(portal_client, alpha, url, current):
    # when a portal admin opens a page of the portal
    page = parsed(portal_client.get(url))
    # then the header's labelled nav links the dashboard and the events page, the open one marked
    nav = next(e for e in page.elements if e.attrs.get("id") == "portal-nav")
    assert nav.tag == "nav" and nav.attrs.get("aria-label") == "Portal"
    links = _nav_links(page)
    assert list(links) == ["portal-nav-dashboard", "portal-nav-events"]
    assert {link for link, marked in links.items() if marked == "page"} == ({current} if current else set())
    hrefs = {e.attrs["id"]: e.attrs["href"] for e in page.elements if e.attrs.get("id") in links}
    assert hrefs == {"portal-nav-dashboard": "/admin/", "portal-nav-events": "/admin/events/"}


def test_a_member_who_may_not_read_the_logs_is_not_linked_to_the_events(alpha):
    # given a staff member of alpha who may view APIs but neither log
    user = user_create(username="nolog", password=PORTAL_PASSWORD, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_api"))
    membership_add(tenant=alpha.tenant, user=user)
    client = Client()
    client.force_login(user)
    # when they open the APIs
    page = parsed(client.get("/admin/apis/api/"))
    # then the header links the dashboard only; the events page would refuse them
    assert list(_nav_links(page)) == ["portal-nav-dashboard"]
    assert client.get("/admin/events/").status_code == HTTPStatus.FORBIDDEN


def test_the_sign_in_page_has_no_portal_links(db):
    # when someone not signed in opens the sign-in page
    page = parsed(Client().get("/admin/login/"))
    # then the header has no links into the portal
    assert "portal-nav" not in page.ids()
