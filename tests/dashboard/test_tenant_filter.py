"""Changelists stay one page's worth of work however many tenants there are (``make scale``).

The tenant filter lists the tenants only while they are few (``TenantFilter``).
"""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest

from apps.dashboard import admin_base
from tests.dashboard.conftest import TenantWorld, admin_url

# (admin URL prefix, the TenantWorld attribute holding one of its rows)
CHANGELISTS = [
    pytest.param("applications_application", "application", id="applications"),
    pytest.param("apis_api", "api", id="apis"),
    pytest.param("accounts_user", "end_user", id="users"),
    pytest.param("tenants_signingkey", "signing_key", id="signing-keys"),
    pytest.param("token_rules_tokenrule", "token_rule", id="token-rules"),
]
TENANT_FILTER_HEADING = "By tenant"


def tenant_filter_links(html: str) -> set[str]:
    """Tenant ids the page links to as filter choices."""
    return set(re.findall(r"tenant__id__exact=(\d+)", html))


@pytest.mark.parametrize(("url_name", "attribute"), CHANGELISTS)
def test_the_tenant_filter_lists_every_tenant_while_they_are_few(
    superuser_client, alpha: TenantWorld, bravo: TenantWorld, url_name, attribute
):
    # when a superuser opens the changelist
    html = superuser_client.get(admin_url(f"{url_name}_changelist")).content.decode()
    # then the filter offers both tenants
    assert TENANT_FILTER_HEADING in html
    assert tenant_filter_links(html) == {str(alpha.tenant.pk), str(bravo.tenant.pk)}


@pytest.mark.parametrize(("url_name", "attribute"), CHANGELISTS)
def test_past_the_bound_the_tenant_filter_lists_no_tenant_but_the_rows_are_all_there(
    superuser_client, alpha: TenantWorld, bravo: TenantWorld, monkeypatch, url_name, attribute
):
    # given more tenants than the filter lists
    monkeypatch.setattr(admin_base, "TENANT_FILTER_MAX_CHOICES", 1)
    # when a superuser opens the changelist
    response = superuser_client.get(admin_url(f"{url_name}_changelist"))
    # then no tenant is offered, and every tenant's rows are listed
    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert TENANT_FILTER_HEADING not in html
    assert tenant_filter_links(html) == set()
    for world in (alpha, bravo):
        assert admin_url(f"{url_name}_change", getattr(world, attribute).pk) in html


@pytest.mark.parametrize(("url_name", "attribute"), CHANGELISTS)
def test_past_the_bound_a_tenant_selected_in_the_url_filters_and_shows(
    superuser_client, alpha: TenantWorld, bravo: TenantWorld, monkeypatch, url_name, attribute
):
    # given more tenants than the filter lists
    monkeypatch.setattr(admin_base, "TENANT_FILTER_MAX_CHOICES", 1)
    # when a superuser filters by alpha through the URL
    url = admin_url(f"{url_name}_changelist") + f"?tenant__id__exact={alpha.tenant.pk}"
    html = superuser_client.get(url).content.decode()
    # then only alpha's rows are listed, and the filter shows alpha (selected), not bravo
    assert admin_url(f"{url_name}_change", getattr(alpha, attribute).pk) in html
    assert admin_url(f"{url_name}_change", getattr(bravo, attribute).pk) not in html
    assert TENANT_FILTER_HEADING in html
    assert str(bravo.tenant.pk) not in tenant_filter_links(html)


def test_past_the_bound_a_member_still_cannot_select_a_foreign_tenant(
    portal_client, alpha: TenantWorld, bravo: TenantWorld, monkeypatch
):
    # given a member of alpha only, and a bound that even one tenant exceeds
    monkeypatch.setattr(admin_base, "TENANT_FILTER_MAX_CHOICES", 0)
    # when they put bravo in the URL
    url = admin_url("applications_application_changelist") + f"?tenant__id__exact={bravo.tenant.pk}"
    html = portal_client.get(url).content.decode()
    # then bravo appears nowhere: not as a filter choice, not as a row
    assert bravo.tenant.slug not in html
    assert admin_url("applications_application_change", bravo.application.pk) not in html
