"""Roles, role permissions, user roles and direct permissions: services, refusals with codes, audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.models import RolePermission, UserPermission, UserRole
from apps.accounts.rbac import services
from apps.accounts.rbac.selectors import user_permissions_for_api
from apps.apis.models import Scope
from apps.apis.services import api_scopes_set
from apps.audit.models import AuditEvent
from apps.grants.models import ClientGrant
from tests.factories import (
    ApiFactory,
    ApplicationFactory,
    ClientGrantFactory,
    RoleFactory,
    TenantFactory,
    UserFactory,
)


@pytest.fixture
def api(db):
    return ApiFactory()


def scopes_of(api, *values: str) -> list[Scope]:
    return list(Scope.objects.filter(api=api, value__in=values).order_by("value"))


def last_event(type_: str) -> AuditEvent:
    return AuditEvent.objects.filter(type=type_).order_by("-pk").first()


def held(role) -> set[str]:
    return set(role.permissions.values_list("value", flat=True))


def test_role_create_grants_its_permissions_and_is_audited(api):
    # when
    role = services.role_create(
        tenant=api.tenant,
        name="  Approver ",
        description="Approves",
        permissions=scopes_of(api, "read:things"),
    )
    # then
    assert role.name == "Approver"
    assert held(role) == {"read:things"}
    created = last_event(AuditEvent.Type.ROLE_CREATED)
    assert (created.tenant_id, created.target) == (api.tenant_id, "Approver")
    changed = last_event(AuditEvent.Type.ROLE_PERMISSIONS_CHANGED)
    assert changed.data["added"] == [{"api": api.identifier, "scope": "read:things"}]


@pytest.mark.parametrize("name", ["approver", "APPROVER", " Approver "])
def test_role_names_are_unique_per_tenant_case_insensitively(api, name):
    # given
    RoleFactory(tenant=api.tenant, name="Approver")
    # when / then
    with pytest.raises(ValidationError) as refused:
        services.role_create(tenant=api.tenant, name=name)
    assert refused.value.error_dict["name"][0].code == services.ROLE_NAME_TAKEN
    # and another tenant may use the name
    assert services.role_create(tenant=TenantFactory(), name=name).pk


def test_a_role_cannot_grant_another_tenants_scope(api):
    # given a scope of another tenant's API
    foreign = scopes_of(ApiFactory(), "read:things")
    # when / then
    with pytest.raises(ValidationError) as refused:
        services.role_create(tenant=api.tenant, name="Sneaky", permissions=foreign)
    assert refused.value.code == services.CROSS_TENANT
    role = RoleFactory(tenant=api.tenant)
    for change in (services.role_permissions_add, services.role_permissions_set):
        with pytest.raises(ValidationError) as refused:
            change(role=role, scopes=foreign)
        assert refused.value.code == services.CROSS_TENANT
    assert not RolePermission.objects.filter(role=role).exists()


def test_role_update_renames_and_sets_permissions(api):
    # given
    role = RoleFactory(tenant=api.tenant, name="Reader", permissions=scopes_of(api, "read:things"))
    # when
    services.role_update(
        role=role, name="Writer", permissions=scopes_of(api, "write:things", "delete:things")
    )
    # then
    role.refresh_from_db()
    assert role.name == "Writer"
    assert held(role) == {"write:things", "delete:things"}
    assert last_event(AuditEvent.Type.ROLE_UPDATED).data["changed"] == ["name"]
    changed = last_event(AuditEvent.Type.ROLE_PERMISSIONS_CHANGED).data
    assert [d["scope"] for d in changed["added"]] == ["delete:things", "write:things"]
    assert [d["scope"] for d in changed["removed"]] == ["read:things"]


def test_role_update_refuses_a_taken_name_and_unknown_fields(api):
    RoleFactory(tenant=api.tenant, name="Taken")
    role = RoleFactory(tenant=api.tenant, name="Mine")
    with pytest.raises(ValidationError) as refused:
        services.role_update(role=role, name="taken")
    assert refused.value.error_dict["name"][0].code == services.ROLE_NAME_TAKEN
    with pytest.raises(ValidationError):
        services.role_update(role=role, tenant=TenantFactory())
    # a rename to the same name in another case is the same role: allowed
    assert services.role_update(role=role, name="MINE").name == "MINE"


def test_permission_changes_that_change_nothing_are_not_audited(api):
    role = RoleFactory(tenant=api.tenant, permissions=scopes_of(api, "read:things"))
    before = AuditEvent.objects.count()
    services.role_permissions_add(role=role, scopes=scopes_of(api, "read:things"))
    services.role_permissions_remove(role=role, scopes=scopes_of(api, "write:things"))
    assert AuditEvent.objects.count() == before
    services.role_permissions_remove(role=role, scopes=scopes_of(api, "read:things"))
    assert held(role) == set()
    assert AuditEvent.objects.count() == before + 1


def test_role_delete_takes_its_permissions_from_its_users(api):
    # given a user holding read:things only through a role
    user = UserFactory(tenant=api.tenant)
    role = RoleFactory(tenant=api.tenant, permissions=scopes_of(api, "read:things"))
    services.user_roles_assign(user=user, roles=[role])
    assert user_permissions_for_api(tenant_id=api.tenant_id, user_id=user.pk, api_id=api.pk) == {
        "read:things"
    }
    # when
    services.role_delete(role=role)
    # then
    assert user_permissions_for_api(tenant_id=api.tenant_id, user_id=user.pk, api_id=api.pk) == frozenset()
    assert last_event(AuditEvent.Type.ROLE_DELETED).data["users"] == 1


def test_user_roles_assign_and_remove(api):
    user = UserFactory(tenant=api.tenant)
    first, second = (
        RoleFactory(tenant=api.tenant, name="First"),
        RoleFactory(tenant=api.tenant, name="Second"),
    )
    services.user_roles_assign(user=user, roles=[first, second, first])
    assert set(UserRole.objects.filter(user=user).values_list("role__name", flat=True)) == {"First", "Second"}
    event = last_event(AuditEvent.Type.USER_ROLES_CHANGED)
    assert (event.target, event.data["added"], event.tenant_id) == (
        user.username,
        ["First", "Second"],
        api.tenant_id,
    )
    services.user_roles_remove(user=user, roles=[first])
    assert list(UserRole.objects.filter(user=user).values_list("role__name", flat=True)) == ["Second"]
    assert last_event(AuditEvent.Type.USER_ROLES_CHANGED).data["removed"] == ["First"]


def test_cross_tenant_roles_users_and_scopes_are_refused(api):
    # given a user of the API's tenant, and another tenant's role and scope
    user = UserFactory(tenant=api.tenant)
    other_api = ApiFactory()
    foreign_role = RoleFactory(tenant=other_api.tenant)
    foreign_scope = scopes_of(other_api, "read:things")
    refusals = [
        lambda: services.user_roles_assign(user=user, roles=[foreign_role]),
        lambda: services.user_roles_remove(user=user, roles=[foreign_role]),
        lambda: services.user_permissions_add(user=user, scopes=foreign_scope),
        lambda: services.user_permissions_remove(user=user, scopes=foreign_scope),
        lambda: services.user_access_set(user=user, roles=[foreign_role]),
        lambda: services.user_access_set(user=user, scopes=foreign_scope),
    ]
    # when / then each is refused with the cross-tenant code, and nothing is written
    for refusal in refusals:
        with pytest.raises(ValidationError) as refused:
            refusal()
        assert refused.value.code == services.CROSS_TENANT
        assert refused.value.message == services.MSG_CROSS_TENANT
    assert not UserRole.objects.filter(user=user).exists()
    assert not UserPermission.objects.filter(user=user).exists()


def test_portal_admins_have_no_roles(api):
    portal_admin = UserFactory(tenant=None, username="portal-pat")
    role = RoleFactory(tenant=api.tenant)
    with pytest.raises(ValidationError) as refused:
        services.user_roles_assign(user=portal_admin, roles=[role])
    assert refused.value.code == services.NOT_AN_END_USER


def test_direct_permissions_add_remove_and_set(api):
    user = UserFactory(tenant=api.tenant)
    services.user_permissions_add(user=user, scopes=scopes_of(api, "read:things", "write:things"))
    assert set(user.api_permissions.values_list("scope__value", flat=True)) == {"read:things", "write:things"}
    services.user_permissions_remove(user=user, scopes=scopes_of(api, "write:things"))
    assert last_event(AuditEvent.Type.USER_PERMISSIONS_CHANGED).data["removed"] == [
        {"api": api.identifier, "scope": "write:things"}
    ]
    role = RoleFactory(tenant=api.tenant)
    services.user_access_set(user=user, roles=[role], scopes=scopes_of(api, "delete:things"))
    assert set(user.api_permissions.values_list("scope__value", flat=True)) == {"delete:things"}
    assert list(user.user_roles.values_list("role_id", flat=True)) == [role.pk]


def test_removing_a_scope_from_the_api_removes_it_from_roles_users_and_client_grants(api):
    # given read:things in a role, a user's direct permissions and a client grant
    role = RoleFactory(
        tenant=api.tenant, name="Readers", permissions=scopes_of(api, "read:things", "write:things")
    )
    user = UserFactory(tenant=api.tenant)
    services.user_permissions_add(user=user, scopes=scopes_of(api, "read:things"))
    grant = ClientGrantFactory(
        application=ApplicationFactory(tenant=api.tenant), api=api, scopes=["read:things", "write:things"]
    )
    # when the API stops defining read:things
    api_scopes_set(api=api, scopes={"write:things": "", "delete:things": ""})
    # then it is gone everywhere, and the audit event says where from
    assert held(role) == {"write:things"}
    assert not UserPermission.objects.filter(user=user).exists()
    assert ClientGrant.objects.get(pk=grant.pk).scopes == ["write:things"]
    event = last_event(AuditEvent.Type.API_UPDATED)
    assert event.data["removed"] == ["read:things"]
    assert event.data["client_grants_changed"] == [grant.application.client_id]
    assert event.data["roles_changed"] == ["Readers"]
