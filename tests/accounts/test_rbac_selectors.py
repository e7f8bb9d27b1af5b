"""``user_permissions_for_api``: direct permissions and roles' permissions, united, in one query."""

from __future__ import annotations

from apps.accounts.rbac.selectors import user_permissions_for_api
from apps.accounts.rbac.services import user_permissions_add, user_roles_assign
from apps.apis.models import Scope
from tests.factories import ApiFactory, RoleFactory, UserFactory


def scopes_of(api, *values: str) -> list[Scope]:
    return list(Scope.objects.filter(api=api, value__in=values))


def test_the_union_of_direct_and_role_permissions_for_one_api_in_one_query(db, django_assert_num_queries):
    # given a user with a direct permission and two roles, one of them spanning two APIs
    api = ApiFactory()
    other_api = ApiFactory(tenant=api.tenant)
    user = UserFactory(tenant=api.tenant)
    user_permissions_add(user=user, scopes=scopes_of(api, "delete:things"))
    user_roles_assign(
        user=user,
        roles=[
            RoleFactory(tenant=api.tenant, permissions=scopes_of(api, "read:things")),
            RoleFactory(
                tenant=api.tenant,
                permissions=[*scopes_of(api, "read:things"), *scopes_of(other_api, "write:things")],
            ),
        ],
    )
    # and another user's role, and a role nobody has, granting write:things on the API
    RoleFactory(tenant=api.tenant, permissions=scopes_of(api, "write:things"))
    user_roles_assign(
        user=UserFactory(tenant=api.tenant),
        roles=[RoleFactory(tenant=api.tenant, permissions=scopes_of(api, "write:things"))],
    )
    # when
    with django_assert_num_queries(1):
        held = user_permissions_for_api(tenant_id=api.tenant_id, user_id=user.pk, api_id=api.pk)
    # then only this user's permissions for this API
    assert held == frozenset({"delete:things", "read:things"})
    assert user_permissions_for_api(tenant_id=api.tenant_id, user_id=user.pk, api_id=other_api.pk) == {
        "write:things"
    }


def test_another_tenant_id_finds_nothing(db):
    api = ApiFactory()
    user = UserFactory(tenant=api.tenant)
    user_permissions_add(user=user, scopes=scopes_of(api, "read:things"))
    other_tenant_api = ApiFactory()
    assert user_permissions_for_api(tenant_id=other_tenant_api.tenant_id, user_id=user.pk, api_id=api.pk) == (
        frozenset()
    )
