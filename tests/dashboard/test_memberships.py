"""Owners manage their tenant's members (add, change roles, remove); a tenant never loses its last owner."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError

from apps.audit.models import AuditEvent
from apps.tenants.models import TenantMembership
from apps.tenants.services import (
    MembershipErrorCode,
    membership_create,
    membership_delete,
    membership_update,
)
from tests.dashboard.conftest import admin_url
from tests.factories import MembershipFactory, PortalAdminFactory, UserFactory

OWNER = TenantMembership.Role.OWNER
ADMIN = TenantMembership.Role.ADMIN
READ_ONLY = TenantMembership.Role.READ_ONLY


def member_events(tenant) -> list[dict]:
    return list(
        AuditEvent.objects.filter(
            tenant=tenant, type=AuditEvent.Type.TENANT_UPDATED, data__changed=["members"]
        )
        .order_by("created_at", "pk")
        .values_list("data", flat=True)
    )


# --- the services -------------------------------------------------------------------------------


def test_membership_create_adds_a_portal_admin_with_a_role_and_audits_it(alpha):
    # given a portal admin who is not a member of alpha, and alpha's owner
    owner = MembershipFactory(tenant=alpha.tenant, role=OWNER).user
    newcomer = PortalAdminFactory(username="newcomer")
    # when the owner adds them as read-only
    membership = membership_create(tenant=alpha.tenant, user=newcomer, role=READ_ONLY, actor=owner)
    # then they are a read-only member, and the event names them and the owner
    assert (membership.tenant, membership.user, membership.role) == (alpha.tenant, newcomer, READ_ONLY)
    event = AuditEvent.objects.filter(tenant=alpha.tenant, target="newcomer").latest("created_at")
    assert event.actor == owner
    assert event.data == {"changed": ["members"], "member": "newcomer", "action": "added", "role": READ_ONLY}


@pytest.mark.parametrize(
    ("make_user", "role", "code"),
    [
        pytest.param(lambda world: UserFactory(tenant=world.tenant), ADMIN, MembershipErrorCode.NOT_PORTAL_ADMIN, id="end-user"),
        pytest.param(lambda world: UserFactory(tenant=None), ADMIN, MembershipErrorCode.NOT_PORTAL_ADMIN, id="not-staff"),
        pytest.param(lambda world: MembershipFactory(tenant=world.tenant).user, ADMIN, MembershipErrorCode.ALREADY_MEMBER, id="member"),
        pytest.param(lambda world: PortalAdminFactory(), "superuser", MembershipErrorCode.INVALID_ROLE, id="unknown-role"),
    ],
)  # fmt: skip
def test_membership_create_refusals_have_codes(alpha, make_user, role, code):
    # given a user who cannot become a member with that role
    user = make_user(alpha)
    before = TenantMembership.objects.count()
    # when / then the service refuses, with the code, and adds nothing
    with pytest.raises(ValidationError) as refused:
        membership_create(tenant=alpha.tenant, user=user, role=role)
    assert refused.value.code == code
    assert TenantMembership.objects.count() == before


def test_membership_update_changes_the_role_and_audits_the_change(alpha):
    # given an admin member, and an owner
    MembershipFactory(tenant=alpha.tenant, role=OWNER)
    membership = MembershipFactory(tenant=alpha.tenant, role=ADMIN)
    # when they are made read-only
    membership_update(membership=membership, role=READ_ONLY)
    # then the role changed and the event says from what to what
    membership.refresh_from_db()
    assert membership.role == READ_ONLY
    assert member_events(alpha.tenant)[-1] == {
        "changed": ["members"],
        "member": membership.user.username,
        "action": "role_changed",
        "role": READ_ONLY,
        "role_before": ADMIN,
    }


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda membership: membership_update(membership=membership, role=ADMIN), id="demote"),
        pytest.param(lambda membership: membership_delete(membership=membership), id="remove"),
    ],
)
def test_the_last_owner_can_be_neither_demoted_nor_removed(alpha, change):
    # given a tenant with one owner (and an admin)
    owner = MembershipFactory(tenant=alpha.tenant, role=OWNER)
    MembershipFactory(tenant=alpha.tenant, role=ADMIN)
    events = member_events(alpha.tenant)
    # when the owner is demoted or removed
    with pytest.raises(ValidationError) as refused:
        change(owner)
    # then it is refused with last_owner, and the owner is still the owner
    assert refused.value.code == MembershipErrorCode.LAST_OWNER
    assert TenantMembership.objects.get(pk=owner.pk).role == OWNER
    assert member_events(alpha.tenant) == events


def test_an_owner_may_leave_once_another_owner_exists(alpha):
    # given two owners
    first = MembershipFactory(tenant=alpha.tenant, role=OWNER)
    MembershipFactory(tenant=alpha.tenant, role=OWNER)
    # when the first is removed
    membership_delete(membership=first)
    # then they are gone, and the event says so
    assert not TenantMembership.objects.filter(pk=first.pk).exists()
    assert member_events(alpha.tenant)[-1]["action"] == "removed"


# --- the members page ----------------------------------------------------------------------------


@pytest.fixture
def owner(member_of, alpha, bravo):
    return member_of(alpha.tenant, role=OWNER)


def test_an_owner_adds_a_member_by_username(owner, alpha):
    # given a portal admin who is not a member of alpha
    PortalAdminFactory(username="casey")
    # when alpha's owner opens the add page (the tenant comes preselected) and adds them read-only
    page = owner.get(admin_url("tenants_tenantmembership_add")).content.decode()
    response = owner.post(
        admin_url("tenants_tenantmembership_add"),
        {"tenant": alpha.tenant.pk, "username": "Casey", "role": READ_ONLY},
    )
    # then casey is a read-only member of alpha, recorded as the owner's doing
    assert f'<option value="{alpha.tenant.pk}" selected>' in page
    assert response.status_code == HTTPStatus.FOUND
    membership = TenantMembership.objects.get(tenant=alpha.tenant, user__username="casey")
    assert membership.role == READ_ONLY
    assert AuditEvent.objects.get(tenant=alpha.tenant, target="casey").actor == owner.user


def test_an_unknown_username_is_refused_on_the_form(owner, alpha):
    # when the owner adds someone who is no portal admin (an end user of alpha, say)
    response = owner.post(
        admin_url("tenants_tenantmembership_add"),
        {"tenant": alpha.tenant.pk, "username": alpha.end_user.username, "role": ADMIN},
    )
    # then the form says so and nothing is added
    assert response.status_code == HTTPStatus.OK
    assert "No portal admin has this username" in response.content.decode()
    assert not TenantMembership.objects.filter(user=alpha.end_user).exists()


def test_an_owner_changes_a_role_and_removes_a_member(owner, alpha):
    # given an admin member of alpha
    membership = MembershipFactory(tenant=alpha.tenant, role=ADMIN)
    # when the owner makes them read-only, then removes them
    changed = owner.post(admin_url("tenants_tenantmembership_change", membership.pk), {"role": READ_ONLY})
    role_after_change = TenantMembership.objects.get(pk=membership.pk).role
    removed = owner.post(admin_url("tenants_tenantmembership_delete", membership.pk), {"post": "yes"})
    # then both took effect
    assert (changed.status_code, removed.status_code) == (HTTPStatus.FOUND, HTTPStatus.FOUND)
    assert role_after_change == READ_ONLY
    assert not TenantMembership.objects.filter(pk=membership.pk).exists()


def test_the_members_page_refuses_to_demote_the_last_owner(owner, alpha):
    # given alpha's only owner, on their own membership page
    mine = TenantMembership.objects.get(user=owner.user, tenant=alpha.tenant)
    # when they make themselves an admin
    response = owner.post(admin_url("tenants_tenantmembership_change", mine.pk), {"role": ADMIN})
    # then the page says why not, and they stay owner
    assert response.status_code == HTTPStatus.OK
    assert "last owner" in response.content.decode()
    assert TenantMembership.objects.get(pk=mine.pk).role == OWNER


@pytest.mark.parametrize("role", [ADMIN, READ_ONLY])
def test_admins_and_read_only_members_see_the_members_but_cannot_manage_them(member_of, alpha, role):
    # given a member of alpha who is not an owner, and another member
    client = member_of(alpha.tenant, role=role)
    other = MembershipFactory(tenant=alpha.tenant, role=ADMIN)
    # when they open the list and try each change
    listed = client.get(admin_url("tenants_tenantmembership_changelist"))
    add = client.post(
        admin_url("tenants_tenantmembership_add"),
        {"tenant": alpha.tenant.pk, "username": PortalAdminFactory().username, "role": OWNER},
    )
    change = client.post(admin_url("tenants_tenantmembership_change", other.pk), {"role": OWNER})
    delete = client.post(admin_url("tenants_tenantmembership_delete", other.pk), {"post": "yes"})
    # then they see the members, and each change is forbidden
    assert listed.status_code == HTTPStatus.OK
    assert other.user.username in listed.content.decode()
    assert (add.status_code, change.status_code, delete.status_code) == (HTTPStatus.FORBIDDEN,) * 3
    assert TenantMembership.objects.get(pk=other.pk).role == ADMIN
    assert TenantMembership.objects.filter(tenant=alpha.tenant).count() == 2


def test_an_owner_sees_and_manages_only_their_tenants_members(owner, alpha, bravo):
    # given a member of bravo
    theirs = MembershipFactory(tenant=bravo.tenant, role=ADMIN)
    # when alpha's owner lists members and opens bravo's
    listed = owner.get(admin_url("tenants_tenantmembership_changelist")).content.decode()
    page = owner.get(admin_url("tenants_tenantmembership_change", theirs.pk))
    removed = owner.post(admin_url("tenants_tenantmembership_delete", theirs.pk), {"post": "yes"})
    # then bravo's member is out of reach
    assert theirs.user.username not in listed
    assert (page.status_code, removed.status_code) == (HTTPStatus.NOT_FOUND, HTTPStatus.NOT_FOUND)
    assert TenantMembership.objects.filter(pk=theirs.pk).exists()


def test_a_superuser_manages_any_tenants_members(superuser_client, alpha, bravo):
    # given a member of bravo
    membership = MembershipFactory(tenant=bravo.tenant, role=ADMIN)
    # when a superuser (all tenants) makes them an owner
    response = superuser_client.post(
        admin_url("tenants_tenantmembership_change", membership.pk), {"role": OWNER}
    )
    # then it is done
    assert response.status_code == HTTPStatus.FOUND
    assert TenantMembership.objects.get(pk=membership.pk).role == OWNER
