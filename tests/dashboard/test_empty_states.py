"""A new tenant's empty lists say what to do first, with a link to add the first row when the user may."""

from __future__ import annotations

import html
from http import HTTPStatus

import pytest
from django.contrib import admin

from apps.dashboard.admin_base import EMPTY_MESSAGE_DEFAULT, EMPTY_MESSAGES, TenantScopedAdmin
from apps.tenants.models import TenantMembership
from tests.dashboard.conftest import admin_url
from tests.factories import TenantFactory

# The lists a new tenant starts with empty, and whether its owner may add the first row there.
EMPTY_AT_FIRST = [
    pytest.param("apis.api", True, id="apis"),
    pytest.param("applications.application", True, id="applications"),
    pytest.param("grants.clientgrant", True, id="client-grants"),
    pytest.param("grants.usergrant", False, id="user-grants"),
    pytest.param("grants.deniedtoken", True, id="deny-list"),
    pytest.param("token_rules.tokenrule", True, id="token-rules"),
    pytest.param("accounts.user", True, id="users"),
    pytest.param("accounts.role", True, id="roles"),
    pytest.param("accounts.loginblock", False, id="sign-in-blocks"),
    pytest.param("audit.tokenevent", False, id="token-log"),
]


def changelist(label: str) -> str:
    return admin_url(f"{label.replace('.', '_')}_changelist")


def add_url(label: str) -> str:
    return admin_url(f"{label.replace('.', '_')}_add")


@pytest.fixture
def newcomer(db):
    return TenantFactory(slug="fresh-start", name="Fresh Start")


@pytest.mark.parametrize(("label", "addable"), EMPTY_AT_FIRST)
def test_a_new_tenants_empty_list_says_what_to_do_first(member_of, newcomer, label, addable):
    # given the owner of a tenant just created
    client = member_of(newcomer, role=TenantMembership.Role.OWNER)
    # when they open one of its lists
    response = client.get(changelist(label))
    # then the list says what to do first, with a link to add one where they may
    page = html.unescape(response.content.decode())
    assert response.status_code == HTTPStatus.OK
    assert 'id="portal-empty-state"' in page
    assert EMPTY_MESSAGES[label] in page
    assert (f'href="{add_url(label)}" id="portal-empty-add"' in page) == addable


@pytest.mark.parametrize(("label", "addable"), EMPTY_AT_FIRST)
def test_a_read_only_member_gets_the_message_without_the_link(member_of, newcomer, label, addable):
    client = member_of(newcomer, role=TenantMembership.Role.READ_ONLY)
    page = html.unescape(client.get(changelist(label)).content.decode())
    assert EMPTY_MESSAGES[label] in page
    assert 'id="portal-empty-add"' not in page


def test_a_search_that_finds_nothing_is_not_an_empty_tenant(member_of, newcomer):
    # given the owner of an empty tenant
    client = member_of(newcomer, role=TenantMembership.Role.OWNER)
    # when they search the (empty) API list
    page = client.get(changelist("apis.api"), {"q": "billing"}).content.decode()
    # then it is the search's empty answer, not the first-step message
    assert 'id="portal-empty-state"' not in page
    assert 'value="billing"' in page


def test_a_list_with_rows_has_no_first_step_message(portal_client, alpha):
    # given alpha, which has an API / when its admin lists APIs / then there is no first-step message
    page = portal_client.get(changelist("apis.api")).content.decode()
    assert 'id="portal-empty-state"' not in page


def test_a_filter_that_leaves_nothing_is_not_an_empty_tenant(portal_client, alpha):
    # given alpha, whose API list is not empty / when a filter leaves no row
    page = portal_client.get(changelist("apis.api"), {"is_system__exact": "1"}).content.decode()
    # then the message does not claim the tenant has none
    assert 'id="portal-empty-state"' not in page


def test_every_list_a_tenant_admin_sees_has_its_own_first_step():
    # given every tenant-scoped admin but the token rows' (superusers only, written by the flows)
    scoped = {
        model._meta.label_lower: model_admin
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, TenantScopedAdmin) and model._meta.app_label != "oauth"
    }
    # then each says something of its own when empty
    assert len(scoped) >= 14
    for label, model_admin in scoped.items():
        assert model_admin.get_empty_message(None) != EMPTY_MESSAGE_DEFAULT, label
