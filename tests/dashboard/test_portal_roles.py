"""Membership roles in the portal: read-only members see everything of their tenant and change nothing.

Owners and admins change the tenant's configuration (their model permissions allowing); a
read-only member gets every list and page without a save button, and a 403 for every write,
including the custom views (rotate a secret, reveal one, set a password, reset MFA) and actions.
"""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client

from apps.apis.models import Api
from apps.applications.models import Application
from apps.audit.models import AuditEvent, TokenEvent
from apps.grants.models import ClientGrant
from apps.tenants.models import SigningKey, TenantMembership
from tests.dashboard.conftest import TenantWorld, admin_url
from tests.dashboard.test_scoping import ADMIN_OBJECTS
from tests.factories import ApiFactory, MembershipFactory

READ_ONLY = TenantMembership.Role.READ_ONLY
ADMIN = TenantMembership.Role.ADMIN
OWNER = TenantMembership.Role.OWNER

# Every tenant-scoped admin with an object in alpha (test_scoping's list, plus the members list).
PAGES = [*ADMIN_OBJECTS, pytest.param("tenants_tenantmembership", "membership", id="membership")]

# What a writer (an owner, for members) may do on each admin: the model permissions of the
# "Tenant admins" group. The rest is refused to everybody but superusers.
WRITER_MAY = {
    "tenants_tenant": {"change"},
    "apis_api": {"add", "change", "delete"},
    "applications_application": {"add", "change", "delete"},
    "grants_clientgrant": {"add", "change", "delete"},
    "grants_usergrant": {"delete"},
    "grants_deniedtoken": {"add", "delete"},
    "accounts_user": {"add", "change"},
    "token_rules_tokenrule": {"add", "change", "delete"},
    "accounts_role": {"add", "change", "delete"},
    "tenants_tenantmembership": {"add", "change", "delete"},
}


def object_of(client: Client, world: TenantWorld, attribute: str):
    if attribute == "membership":
        return TenantMembership.objects.get(user=client.user, tenant=world.tenant)
    return getattr(world, attribute)


def audit_count(world: TenantWorld) -> int:
    return AuditEvent.objects.filter(tenant=world.tenant).count()


@pytest.fixture
def read_only(member_of, alpha, bravo) -> Client:
    """A read-only member of alpha (bravo exists, and stays out of reach)."""
    return member_of(alpha.tenant, role=READ_ONLY)


@pytest.fixture
def owner(member_of, alpha) -> Client:
    return member_of(alpha.tenant, role=OWNER)


@pytest.mark.parametrize(("url_name", "attribute"), PAGES)
def test_a_read_only_member_sees_every_list_and_page_without_save_buttons(
    read_only, alpha, url_name, attribute
):
    # given a read-only member of alpha, and alpha's object of this kind
    obj = object_of(read_only, alpha, attribute)
    # when they open the list and the object's page
    changelist = read_only.get(admin_url(f"{url_name}_changelist"))
    page = read_only.get(admin_url(f"{url_name}_change", obj.pk))
    # then both are there, the object listed, with no way to add, save or delete
    assert changelist.status_code == HTTPStatus.OK
    assert page.status_code == HTTPStatus.OK
    listed, html = changelist.content.decode(), page.content.decode()
    assert admin_url(f"{url_name}_change", obj.pk) in listed
    assert admin_url(f"{url_name}_add") not in listed
    for button in ('name="_save"', 'name="_continue"', 'name="_addanother"'):
        assert button not in html
    assert admin_url(f"{url_name}_delete", obj.pk) not in html
    # and the header says what they are
    assert 'id="portal-role"' in html and "Read-only" in html


@pytest.mark.parametrize(("url_name", "attribute"), PAGES)
def test_a_read_only_member_is_refused_every_write(read_only, alpha, url_name, attribute):
    # given a read-only member of alpha and alpha's object
    obj = object_of(read_only, alpha, attribute)
    model = type(obj)
    rows, events = model.objects.count(), audit_count(alpha)
    # when they post an add, a change and a delete anyway
    add = read_only.post(admin_url(f"{url_name}_add"), {"tenant": alpha.tenant.pk, "name": "x"})
    change = read_only.post(admin_url(f"{url_name}_change", obj.pk), {"name": "changed"})
    delete = read_only.post(admin_url(f"{url_name}_delete", obj.pk), {"post": "yes"})
    # then each is forbidden, and nothing changed
    assert (add.status_code, change.status_code, delete.status_code) == (HTTPStatus.FORBIDDEN,) * 3
    assert model.objects.filter(pk=obj.pk).exists()
    assert model.objects.count() == rows
    assert audit_count(alpha) == events


@pytest.mark.parametrize(("url_name", "attribute"), PAGES)
def test_a_writer_gets_the_forms_a_read_only_member_does_not(member_of, alpha, url_name, attribute):
    # given an owner of alpha (admins alike, but for members) and the same pages
    writer = member_of(alpha.tenant, role=OWNER)
    obj = object_of(writer, alpha, attribute)
    may = WRITER_MAY.get(url_name, set())
    # when they open the add, change and delete pages
    add = writer.get(admin_url(f"{url_name}_add"))
    change = writer.get(admin_url(f"{url_name}_change", obj.pk)).content.decode()
    delete = writer.get(admin_url(f"{url_name}_delete", obj.pk))
    # then what their model permissions allow is open to them (so the refusals above are the role's)
    assert (add.status_code == HTTPStatus.OK) == ("add" in may)
    assert ('name="_save"' in change) == ("change" in may)
    assert (delete.status_code == HTTPStatus.OK) == ("delete" in may)


@pytest.mark.parametrize("role", [ADMIN, OWNER])
def test_admins_and_owners_change_what_read_only_members_cannot(member_of, alpha, role):
    # given a writer of alpha
    client = member_of(alpha.tenant, role=role)
    # when they rename alpha's API
    response = client.post(
        admin_url("apis_api_change", alpha.api.pk),
        {
            "name": "Renamed",
            "signing_alg": alpha.api.signing_alg,
            "token_lifetime": alpha.api.token_lifetime,
            "scopes-TOTAL_FORMS": 0,
            "scopes-INITIAL_FORMS": 0,
        },
    )
    # then it is saved
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    assert Api.objects.get(pk=alpha.api.pk).name == "Renamed"


def _rotate_secret(world: TenantWorld) -> str:
    return admin_url("applications_application_rotate_secret", world.application.pk)


def _reveal_signing_secret(world: TenantWorld) -> str:
    api = ApiFactory(tenant=world.tenant, signing_alg=Api.SigningAlgorithm.HS256)
    return admin_url("apis_api_signing_secret", api.pk)


def _set_password(world: TenantWorld) -> str:
    return admin_url("accounts_user_password", world.end_user.pk)


def _reset_mfa(world: TenantWorld) -> str:
    return admin_url("accounts_user_reset_mfa", world.end_user.pk)


CUSTOM_VIEWS = [
    pytest.param(_rotate_secret, {}, id="rotate-client-secret"),
    pytest.param(_reveal_signing_secret, {}, id="reveal-signing-secret"),
    pytest.param(_set_password, {"new_password1": "a new long passphrase", "new_password2": "a new long passphrase"}, id="set-password"),
    pytest.param(_reset_mfa, {}, id="reset-mfa"),
]  # fmt: skip


@pytest.mark.parametrize(("url_of", "data"), CUSTOM_VIEWS)
@pytest.mark.parametrize("role", [READ_ONLY, ADMIN])
def test_custom_views_refuse_read_only_members(member_of, alpha, url_of, data, role):
    # given a member of alpha with this role, and a custom view's URL for alpha's object
    client = member_of(alpha.tenant, role=role)
    url = url_of(alpha)
    secret_hash = Application.objects.get(pk=alpha.application.pk).client_secret
    events = audit_count(alpha)
    # when they ask for it, and post to it
    asked, posted = client.get(url), client.post(url, data)
    # then a read-only member is refused both, and nothing happened; an admin is not refused
    if role == READ_ONLY:
        assert (asked.status_code, posted.status_code) == (HTTPStatus.FORBIDDEN, HTTPStatus.FORBIDDEN)
        assert Application.objects.get(pk=alpha.application.pk).client_secret == secret_hash
        assert audit_count(alpha) == events
    else:
        assert asked.status_code == HTTPStatus.OK
        assert posted.status_code in (HTTPStatus.OK, HTTPStatus.FOUND)
        assert audit_count(alpha) > events


def _post_action(client: Client, url_name: str, action: str, objects) -> None:
    client.post(
        admin_url(f"{url_name}_changelist"),
        {"action": action, "_selected_action": [obj.pk for obj in objects], "index": 0, "post": "yes"},
    )


def test_actions_are_not_offered_to_read_only_members_and_do_nothing(read_only, alpha):
    # given alpha's keys, sign-in block and client grant
    keys = list(SigningKey.objects.for_tenant(alpha.tenant).values_list("kid", "state"))
    events = audit_count(alpha)
    # when a read-only member opens the lists and posts each action anyway
    pages = [
        read_only.get(admin_url(f"{name}_changelist")).content.decode()
        for name in ("tenants_signingkey", "accounts_loginblock", "grants_clientgrant")
    ]
    _post_action(
        read_only, "tenants_signingkey", "rotate_signing_keys", SigningKey.objects.for_tenant(alpha.tenant)
    )
    _post_action(read_only, "tenants_signingkey", "revoke_keys", SigningKey.objects.for_tenant(alpha.tenant))
    _post_action(read_only, "accounts_loginblock", "unblock", [alpha.login_block])
    _post_action(read_only, "grants_clientgrant", "delete_selected", [alpha.grant])
    # then none was offered, and nothing changed
    for page in pages:
        for action in ("rotate_signing_keys", "revoke_keys", "unblock", "delete_selected"):
            assert f'value="{action}"' not in page
    assert list(SigningKey.objects.for_tenant(alpha.tenant).values_list("kid", "state")) == keys
    assert alpha.login_block.__class__.objects.filter(pk=alpha.login_block.pk).exists()
    assert ClientGrant.objects.filter(pk=alpha.grant.pk).exists()
    assert audit_count(alpha) == events


def test_the_role_is_per_tenant(member_of, alpha, bravo):
    # given a portal admin who is read-only in alpha and an admin of bravo
    client = member_of(alpha.tenant, role=READ_ONLY)
    MembershipFactory(tenant=bravo.tenant, user=client.user, role=ADMIN)
    # when they work in alpha, then in bravo
    in_alpha = client.get(admin_url("apis_api_change", alpha.api.pk)).content.decode()
    client.post("/admin/tenant/switch/", {"portal_tenant": bravo.tenant.pk})
    in_bravo = client.get(admin_url("apis_api_change", bravo.api.pk)).content.decode()
    # then they may change bravo's API, not alpha's
    assert 'name="_save"' not in in_alpha
    assert 'name="_save"' in in_bravo


def test_a_read_only_member_is_shown_values_not_links_that_would_be_refused(read_only, alpha):
    # when a read-only member opens an end user and a client grant
    user_page = read_only.get(admin_url("accounts_user_change", alpha.end_user.pk)).content.decode()
    grant_page = read_only.get(admin_url("grants_clientgrant_change", alpha.grant.pk)).content.decode()
    # then the user's page offers no "Set password" or "Reset MFA" (both would be a 403)
    assert admin_url("accounts_user_password", alpha.end_user.pk) not in user_page
    assert admin_url("accounts_user_reset_mfa", alpha.end_user.pk) not in user_page
    # and the grant's scopes read as scopes, not as the stored list
    assert " ".join(alpha.grant.scopes) in grant_page


@pytest.mark.parametrize(
    ("tab", "data"),
    [
        pytest.param(
            "apis_api_permissions", {"action": "add", "value": "write:everything"}, id="permissions"
        ),
        pytest.param("apis_api_m2m", {"save": "1"}, id="m2m"),
        pytest.param("apis_api_test", {"client_id": "any"}, id="test-token"),
    ],
)
def test_a_read_only_member_sees_the_api_tabs_and_cannot_post_to_them(read_only, alpha, tab, data):
    # given a read-only member of alpha on one of its API's tabs
    url = admin_url(tab, alpha.api.pk)
    events, tokens = audit_count(alpha), TokenEvent.objects.filter(tenant=alpha.tenant).count()
    scopes = sorted(alpha.api.scopes.values_list("value", flat=True))

    # when they look at it, and post to it
    seen, posted = read_only.get(url), read_only.post(url, data)

    # then they see it, and the post is refused with nothing changed, minted or audited
    assert seen.status_code == HTTPStatus.OK
    assert posted.status_code == HTTPStatus.FORBIDDEN
    assert audit_count(alpha) == events
    assert TokenEvent.objects.filter(tenant=alpha.tenant).count() == tokens
    assert sorted(alpha.api.scopes.values_list("value", flat=True)) == scopes
