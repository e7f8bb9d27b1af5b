"""The header's switcher is on every page: past a bound it lists no tenants but takes a slug (make scale)."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.dashboard import portal
from apps.dashboard.portal import SESSION_KEY
from tests.dashboard.conftest import admin_url, select_values
from tests.factories import TenantFactory

SWITCH_URL = "/admin/tenant/switch/"
SLUG_FIELD = 'name="portal_tenant_slug"'


@pytest.fixture
def many_tenants(monkeypatch):
    """More tenants than the switcher lists (the bound lowered to 1 for the test)."""
    monkeypatch.setattr(portal, "SWITCHER_MAX_CHOICES", 1)


def test_while_tenants_are_few_a_superuser_picks_from_all_of_them(superuser_client, alpha, bravo):
    # when a superuser opens a page
    html = superuser_client.get(admin_url("apis_api_changelist")).content.decode()
    # then the switcher lists every tenant and asks for no slug
    assert select_values(html, "portal_tenant") == {str(alpha.tenant.pk), str(bravo.tenant.pk)}
    assert SLUG_FIELD not in html


def test_past_the_bound_the_switcher_lists_no_tenant_and_asks_for_a_slug(
    superuser_client, alpha, bravo, many_tenants
):
    # when a superuser working in every tenant opens a page
    html = superuser_client.get(admin_url("apis_api_changelist")).content.decode()
    # then the switcher offers "All tenants" and a slug field, and lists no tenant
    assert '<option value="" selected>All tenants</option>' in html
    assert select_values(html, "portal_tenant") == set()
    assert SLUG_FIELD in html
    assert '<label for="portal-tenant-slug">' in html


def test_past_the_bound_a_superuser_switches_by_slug_and_sees_the_working_tenant(
    superuser_client, alpha, bravo, many_tenants
):
    # when a superuser types bravo's slug
    apis = admin_url("apis_api_changelist")
    response = superuser_client.post(
        SWITCH_URL, {"portal_tenant": "", "portal_tenant_slug": " bravo-corp ", "next": apis}
    )
    html = superuser_client.get(apis).content.decode()
    # then they work in bravo, which the switcher shows (alone), and see bravo's rows only
    assert response.status_code == HTTPStatus.FOUND
    assert superuser_client.session[SESSION_KEY] == bravo.tenant.pk
    assert select_values(html, "portal_tenant") == {str(bravo.tenant.pk)}
    assert f'<option value="{bravo.tenant.pk}" selected>' in html
    assert admin_url("apis_api_change", bravo.api.pk) in html
    assert admin_url("apis_api_change", alpha.api.pk) not in html


def test_a_member_cannot_switch_by_slug_to_a_tenant_they_are_not_in(member_of, alpha, bravo):
    # given a member of alpha only
    client = member_of(alpha.tenant)
    # when they post bravo's slug, or a slug that does not exist
    refused = [
        client.post(SWITCH_URL, {"portal_tenant_slug": slug, "next": "/admin/"}).status_code
        for slug in (bravo.tenant.slug, "no-such-tenant")
    ]
    # then both are not found, alike, and they still work in alpha
    assert refused == [HTTPStatus.NOT_FOUND, HTTPStatus.NOT_FOUND]
    assert client.session.get(SESSION_KEY) in (None, alpha.tenant.pk)


def test_a_superusers_page_reads_the_same_tenants_however_many_exist(
    superuser_client, alpha, bravo, many_tenants
):
    # given a superuser's page with two tenants
    url = admin_url("apis_api_changelist")
    superuser_client.get(url)
    with CaptureQueriesContext(connection) as before:
        superuser_client.get(url)
    # when ten more tenants exist
    TenantFactory.create_batch(10)
    with CaptureQueriesContext(connection) as after:
        html = superuser_client.get(url).content.decode()
    # then the page runs as many queries, and no new tenant is on it
    assert len(after.captured_queries) == len(before.captured_queries)
    assert select_values(html, "portal_tenant") == set()
