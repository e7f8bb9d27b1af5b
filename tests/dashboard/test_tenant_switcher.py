"""The header's tenant switcher: the portal works in one tenant at a time, the one chosen there."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.dashboard.portal import SESSION_KEY
from apps.tenants.models import TenantMembership
from tests.dashboard.conftest import admin_url, select_values
from tests.factories import MembershipFactory

SWITCH_URL = "/admin/tenant/switch/"


@pytest.fixture
def both(member_of, alpha, bravo) -> Client:
    """An admin of alpha and bravo, working in alpha (the first by slug)."""
    return member_of(alpha.tenant, bravo.tenant)


def switch(client: Client, tenant_id: object, next_url: str = "/admin/") -> object:
    return client.post(SWITCH_URL, {"portal_tenant": tenant_id, "next": next_url})


def test_switching_changes_what_every_list_shows(both, alpha, bravo):
    # given an admin of alpha and bravo, working in alpha
    apis = admin_url("apis_api_changelist")
    before = both.get(apis).content.decode()
    # when they switch to bravo
    response = switch(both, bravo.tenant.pk, apis)
    after = both.get(apis).content.decode()
    # then they are back on the list, which now shows bravo's API and not alpha's
    assert response.status_code == HTTPStatus.FOUND and response["Location"] == apis
    assert admin_url("apis_api_change", alpha.api.pk) in before
    assert admin_url("apis_api_change", bravo.api.pk) not in before
    assert admin_url("apis_api_change", bravo.api.pk) in after
    assert admin_url("apis_api_change", alpha.api.pk) not in after
    # and the header's switcher shows bravo as the working tenant
    assert f'<option value="{bravo.tenant.pk}" selected>' in after


def test_another_tenants_object_is_not_found_until_the_user_switches(both, alpha, bravo):
    # given an admin of both, working in alpha
    url = admin_url("applications_application_change", bravo.application.pk)
    # when they open bravo's application by URL
    before = both.get(url)
    # then it is not found, though they are a member of bravo; after switching, it is there
    assert before.status_code == HTTPStatus.NOT_FOUND
    switch(both, bravo.tenant.pk)
    assert both.get(url).status_code == HTTPStatus.OK
    assert both.get(admin_url("applications_application_change", alpha.application.pk)).status_code == (
        HTTPStatus.NOT_FOUND
    )


@pytest.mark.parametrize("value", ["bravo", "999999", "", "not-a-number"])
def test_a_tenant_the_user_is_not_a_member_of_is_refused(member_of, alpha, bravo, value):
    # given an admin of alpha only
    client = member_of(alpha.tenant)
    tenant_id = bravo.tenant.pk if value == "bravo" else value
    # when they post bravo's id (or no tenant, or nonsense) to the switcher
    response = switch(client, tenant_id)
    # then it is not found, and they still work in alpha
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert SESSION_KEY not in client.session
    html = client.get(admin_url("apis_api_changelist")).content.decode()
    assert admin_url("apis_api_change", alpha.api.pk) in html


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/admin/",
        "//evil.example/admin/",
        "/\\evil.example/admin/",
        "javascript:alert(1)",
        "/t/alpha-corp/login",
        "",
    ],
)
def test_switching_never_redirects_off_the_portal(both, bravo, next_url):
    # when the switch names another site (or no page, or a page outside the portal) to go back to
    response = switch(both, bravo.tenant.pk, next_url)
    # then the user lands on the portal's home, in bravo
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/admin/"
    assert both.session[SESSION_KEY] == bravo.tenant.pk


def test_switching_from_an_objects_page_goes_to_its_list(both, alpha, bravo):
    # given an admin of both on alpha's API page (with a query string)
    page = admin_url("apis_api_change", alpha.api.pk) + "?_changelist_filters=q%3Dx"
    # when they switch to bravo
    response = switch(both, bravo.tenant.pk, page)
    # then they land on the APIs list (alpha's API would be a 404 in bravo)
    assert response["Location"] == admin_url("apis_api_changelist")


def test_the_switcher_is_a_post_form_for_staff_only(both, bravo):
    # a GET changes nothing, and a signed-out visitor is sent to sign in
    assert (
        both.get(SWITCH_URL, {"portal_tenant": bravo.tenant.pk}).status_code == HTTPStatus.METHOD_NOT_ALLOWED
    )
    anonymous = Client().post(SWITCH_URL, {"portal_tenant": bravo.tenant.pk})
    assert anonymous.status_code == HTTPStatus.FOUND and "/admin/login/" in anonymous["Location"]


def test_the_switch_needs_the_csrf_token(both, bravo):
    # given the admin's browser, with CSRF checks on
    client = Client(enforce_csrf_checks=True)
    client.force_login(both.user)
    # when a form without the token (another site's) posts to the switcher
    response = client.post(SWITCH_URL, {"portal_tenant": bravo.tenant.pk})
    # then it is refused
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_the_header_shows_a_labelled_switcher_only_with_a_choice(member_of, both, alpha, bravo):
    # given a member of one tenant, and a member of two
    single = member_of(bravo.tenant)
    # when each opens the portal
    one = single.get(admin_url("apis_api_changelist")).content.decode()
    two = both.get(admin_url("apis_api_changelist")).content.decode()
    # then the first sees their tenant's name and no switcher
    assert 'id="portal-tenant-name"' in one and bravo.tenant.name in one
    assert "portal-tenant-switcher" not in one
    # and the second a labelled select of their two tenants and a submit button
    assert '<label for="portal-tenant-select">Tenant</label>' in two
    assert select_values(two, "portal_tenant") == {str(alpha.tenant.pk), str(bravo.tenant.pk)}
    assert '<button type="submit" id="portal-tenant-switch">' in two


def test_a_superuser_may_work_in_all_tenants_or_one(superuser_client, alpha, bravo):
    # given a superuser (every tenant, by default)
    apis = admin_url("apis_api_changelist")
    everything = superuser_client.get(apis).content.decode()
    # when they choose alpha, then "All tenants" again
    switch(superuser_client, alpha.tenant.pk, apis)
    in_alpha = superuser_client.get(apis).content.decode()
    switch(superuser_client, "", apis)
    again = superuser_client.get(apis).content.decode()
    # then they saw both tenants' APIs, then alpha's only, then both again
    for api in (alpha.api, bravo.api):
        assert admin_url("apis_api_change", api.pk) in everything
        assert admin_url("apis_api_change", api.pk) in again
    assert admin_url("apis_api_change", bravo.api.pk) not in in_alpha
    assert '<option value="" selected>All tenants</option>' in everything


def test_add_forms_preselect_the_working_tenant_and_offer_no_other(both, alpha, bravo):
    # given an admin of both, working in bravo
    switch(both, bravo.tenant.pk)
    # when they open an add form with a tenant picker
    html = both.get(admin_url("token_rules_tokenrule_add")).content.decode()
    # then bravo is the only choice, preselected; the application picker offers bravo's only
    assert select_values(html, "tenant") == {str(bravo.tenant.pk)}
    assert f'<option value="{bravo.tenant.pk}" selected>' in html
    assert str(alpha.application.pk) not in select_values(html, "application")


def test_a_removed_membership_stops_the_choice(both, alpha, bravo):
    # given an admin of both working in bravo
    switch(both, bravo.tenant.pk)
    # when they are removed from bravo
    TenantMembership.objects.filter(user=both.user, tenant=bravo.tenant).delete()
    # then they work in alpha again, and bravo's rows are gone from their lists
    html = both.get(admin_url("apis_api_changelist")).content.decode()
    assert admin_url("apis_api_change", alpha.api.pk) in html
    assert admin_url("apis_api_change", bravo.api.pk) not in html


def test_memberships_are_read_once_per_request(both, alpha, bravo):
    # given a member of two tenants (each with another member)
    MembershipFactory(tenant=alpha.tenant)
    MembershipFactory(tenant=bravo.tenant)
    # when they open a list (scoping, pickers, permissions and the header all ask for the tenant)
    with CaptureQueriesContext(connection) as queries:
        both.get(admin_url("apis_api_changelist"))
    # then the memberships were read once
    membership_reads = [q for q in queries.captured_queries if "tenants_tenantmembership" in q["sql"]]
    assert len(membership_reads) == 1
