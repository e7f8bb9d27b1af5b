"""Roles and users' roles and permissions in the admin, written through apps.accounts.rbac.services."""

from __future__ import annotations

import re
from http import HTTPStatus

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Role
from apps.accounts.rbac.services import MSG_CROSS_TENANT, user_roles_assign
from apps.apis.models import Scope
from apps.audit.models import AuditEvent
from tests.dashboard.conftest import admin_url
from tests.factories import RoleFactory, UserFactory


def checkbox_values(html: str, name: str) -> set[str]:
    return set(re.findall(rf'name="{name}" value="(\d+)"', html))


def scope(world, value: str) -> Scope:
    return Scope.objects.get(api=world.api, value=value)


def test_portal_admin_creates_a_role_with_permissions(portal_client, portal_admin, alpha):
    # when they create a role granting two of alpha's scopes
    response = portal_client.post(
        admin_url("accounts_role_add"),
        {
            "tenant": alpha.tenant.pk,
            "name": "Timesheet approver",
            "description": "Approves",
            "permission_scopes": [scope(alpha, "read:things").pk, scope(alpha, "write:things").pk],
        },
    )
    # then the role exists with them, and the audit trail names the admin
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    role = Role.objects.get(tenant=alpha.tenant, name="Timesheet approver")
    assert set(role.permissions.values_list("value", flat=True)) == {"read:things", "write:things"}
    assert AuditEvent.objects.get(type=AuditEvent.Type.ROLE_CREATED, target=role.name).actor == portal_admin


def test_the_role_form_offers_only_the_admins_tenants_scopes(portal_client, alpha, bravo):
    # when a portal admin of alpha opens the add form and an existing role's page
    add_html = portal_client.get(admin_url("accounts_role_add")).content.decode()
    change_html = portal_client.get(admin_url("accounts_role_change", alpha.role.pk)).content.decode()
    # then alpha's scopes are offered, bravo's never
    own = {str(pk) for pk in alpha.api.scopes.values_list("pk", flat=True)}
    foreign = {str(pk) for pk in bravo.api.scopes.values_list("pk", flat=True)}
    for html in (add_html, change_html):
        assert checkbox_values(html, "permission_scopes") == own
        assert not checkbox_values(html, "permission_scopes") & foreign


def test_a_foreign_scope_is_refused(portal_client, superuser_client, alpha, bravo):
    # given bravo's scope
    foreign = scope(bravo, "read:things").pk
    form = {"tenant": alpha.tenant.pk, "name": "Sneaky", "permission_scopes": [foreign]}
    # when a portal admin of alpha posts it: the form never offered it
    response = portal_client.post(admin_url("accounts_role_add"), form)
    assert response.status_code == HTTPStatus.OK
    assert "Select a valid choice" in response.content.decode()
    # when a superuser (offered every tenant's scopes) posts it for alpha: the service refuses it
    response = superuser_client.post(admin_url("accounts_role_add"), form)
    assert response.status_code == HTTPStatus.OK
    assert MSG_CROSS_TENANT in response.content.decode()
    # then no role was created
    assert not Role.objects.filter(name="Sneaky").exists()


def test_a_taken_name_is_a_form_error(portal_client, alpha):
    response = portal_client.post(
        admin_url("accounts_role_add"), {"tenant": alpha.tenant.pk, "name": alpha.role.name.upper()}
    )
    assert response.status_code == HTTPStatus.OK
    assert "already exists in this tenant" in response.content.decode()
    assert Role.objects.filter(tenant=alpha.tenant).count() == 1


def test_changing_a_role_renames_it_and_sets_its_permissions(portal_client, portal_admin, alpha):
    # when
    response = portal_client.post(
        admin_url("accounts_role_change", alpha.role.pk),
        {"name": "Writers", "description": "", "permission_scopes": [scope(alpha, "write:things").pk]},
    )
    # then
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    alpha.role.refresh_from_db()
    assert alpha.role.name == "Writers"
    assert list(alpha.role.permissions.values_list("value", flat=True)) == ["write:things"]
    event = AuditEvent.objects.filter(type=AuditEvent.Type.ROLE_PERMISSIONS_CHANGED).order_by("-pk").first()
    assert event.actor == portal_admin


def test_deleting_a_role(portal_client, alpha):
    response = portal_client.post(admin_url("accounts_role_delete", alpha.role.pk), {"post": "yes"})
    assert response.status_code == HTTPStatus.FOUND
    assert not Role.objects.filter(pk=alpha.role.pk).exists()
    assert AuditEvent.objects.filter(type=AuditEvent.Type.ROLE_DELETED).exists()


def test_assigning_roles_and_permissions_on_the_users_page(portal_client, portal_admin, alpha, bravo):
    # given the user's page offers alpha's roles and scopes only
    url = admin_url("accounts_user_change", alpha.end_user.pk)
    html = portal_client.get(url).content.decode()
    assert checkbox_values(html, "roles") == {str(alpha.role.pk)}
    assert str(bravo.role.pk) not in checkbox_values(html, "roles")
    # when the admin gives the user the role and a direct permission
    response = portal_client.post(
        url, {"roles": [alpha.role.pk], "direct_permissions": [scope(alpha, "delete:things").pk]}
    )
    # then the user has them, audited with the admin as actor, and the role's page lists the user
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    assert list(alpha.end_user.roles.all()) == [alpha.role]
    assert list(alpha.end_user.api_permissions.values_list("scope__value", flat=True)) == ["delete:things"]
    for type_ in (AuditEvent.Type.USER_ROLES_CHANGED, AuditEvent.Type.USER_PERMISSIONS_CHANGED):
        assert AuditEvent.objects.get(type=type_, target=alpha.end_user.username).actor == portal_admin
    role_page = portal_client.get(admin_url("accounts_role_change", alpha.role.pk)).content.decode()
    assert admin_url("accounts_user_change", alpha.end_user.pk) in role_page
    # and the user's own fields did not become editable
    assert 'name="username"' not in html


def test_a_foreign_role_cannot_be_assigned(portal_client, alpha, bravo):
    response = portal_client.post(
        admin_url("accounts_user_change", alpha.end_user.pk), {"roles": [bravo.role.pk]}
    )
    assert response.status_code == HTTPStatus.OK
    assert "Select a valid choice" in response.content.decode()
    assert not alpha.end_user.roles.exists()


def test_portal_admins_pages_stay_read_only(superuser_client, portal_admin):
    response = superuser_client.post(admin_url("accounts_user_change", portal_admin.pk), {"roles": []})
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_the_role_list_costs_the_same_queries_whatever_the_rows(portal_client, alpha):
    def list_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = portal_client.get(admin_url("accounts_role_changelist"))
        assert response.status_code == HTTPStatus.OK
        return len(queries.captured_queries)

    # given the list with one role
    baseline = list_queries()
    # when five more roles, each with permissions and users, are added
    for index in range(5):
        role = RoleFactory(
            tenant=alpha.tenant, name=f"Role {index}", permissions=list(alpha.api.scopes.all())
        )
        user_roles_assign(user=UserFactory(tenant=alpha.tenant), roles=[role])
    # then the list costs the same number of queries, and shows permissions and user counts
    assert list_queries() == baseline
    html = portal_client.get(admin_url("accounts_role_changelist"), {"q": "Role 3"}).content.decode()
    assert "delete:things, read:things, write:things" in html
    assert admin_url("accounts_role_change", alpha.role.pk) not in html  # the search narrowed the list
