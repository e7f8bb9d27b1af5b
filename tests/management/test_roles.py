"""The Management API's ``roles`` endpoints and users' roles and permissions over real HTTP, with the
one consequence that matters: a role assigned through the API shows in the user's next token."""

from __future__ import annotations

from http import HTTPStatus

import jwt
import pytest

from apps.accounts.models import Role, UserRole
from apps.accounts.rbac.services import MSG_ROLE_NAME_TAKEN
from apps.apis.services import api_update
from apps.audit.models import AuditEvent
from apps.management.api.user_shapes import MSG_PERMISSION_NOT_FOUND
from apps.management.services import MANAGEMENT_SCOPES
from apps.oauth.claims import user_subject
from tests.factories import ApiFactory, RoleFactory, UserFactory
from tests.management.conftest import management_session
from tests.management.test_users import assert_error
from tests.oauth.test_password_grant import TRUSTED_GRANT_TYPES, password_form
from tests.oauth.user_flow import make_user_setup


def permission(api, name: str) -> dict:
    return {"resource_server_identifier": api.identifier, "permission_name": name}


def rid(role) -> str:
    return f"rol_{role.pk}"


def test_roles_are_created_listed_read_updated_and_deleted(mgmt):
    # create
    created = mgmt.call("POST", "roles", json={"name": "Approver", "description": "Approves timesheets"})
    assert created.status_code == HTTPStatus.OK, created.text
    role = Role.objects.get(tenant=mgmt.tenant, name="Approver")
    assert created.json() == {"id": rid(role), "name": "Approver", "description": "Approves timesheets"}
    RoleFactory(tenant=mgmt.tenant, name="Reader")
    # list, filtered by name
    assert [r["name"] for r in mgmt.call("GET", "roles").json()] == ["Approver", "Reader"]
    assert [r["name"] for r in mgmt.call("GET", "roles", params={"name_filter": "APPR"}).json()] == [
        "Approver"
    ]
    page = mgmt.call("GET", "roles", params={"include_totals": "true", "per_page": 1}).json()
    assert (page["total"], len(page["roles"])) == (2, 1)
    # read, update
    assert mgmt.call("GET", f"roles/{rid(role)}").json()["name"] == "Approver"
    updated = mgmt.call("PATCH", f"roles/{rid(role)}", json={"description": "Signs off"})
    assert updated.json() == {"id": rid(role), "name": "Approver", "description": "Signs off"}
    # delete
    assert mgmt.call("DELETE", f"roles/{rid(role)}").status_code == HTTPStatus.NO_CONTENT
    assert_error(mgmt.call("GET", f"roles/{rid(role)}"), HTTPStatus.NOT_FOUND, "inexistent_role")
    actor = f"client {mgmt.client_id}"
    types = set(
        AuditEvent.objects.filter(tenant=mgmt.tenant, actor_label=actor).values_list("type", flat=True)
    )
    assert {AuditEvent.Type.ROLE_CREATED, AuditEvent.Type.ROLE_UPDATED, AuditEvent.Type.ROLE_DELETED} <= types


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (
            {"name": "reader"},
            HTTPStatus.CONFLICT,
            "role_name_taken",
            MSG_ROLE_NAME_TAKEN.format(name="reader"),
        ),
        ({}, HTTPStatus.BAD_REQUEST, "invalid_body", "name:"),
        ({"name": 7}, HTTPStatus.BAD_REQUEST, "invalid_body", "Expected type string."),
        ({"name": "X", "permissions": []}, HTTPStatus.BAD_REQUEST, "invalid_body", "Additional properties"),
    ],
)
def test_bad_role_input_is_refused(mgmt, body, status, code, message):
    RoleFactory(tenant=mgmt.tenant, name="Reader")
    assert_error(mgmt.call("POST", "roles", json=body), status, code, message)
    assert Role.objects.filter(tenant=mgmt.tenant).count() == 1


def test_role_permissions_are_added_listed_and_removed(mgmt):
    api = ApiFactory(tenant=mgmt.tenant)
    role = RoleFactory(tenant=mgmt.tenant)
    path = f"roles/{rid(role)}/permissions"
    added = mgmt.call(
        "POST", path, json={"permissions": [permission(api, "read:things"), permission(api, "write:things")]}
    )
    assert added.status_code == HTTPStatus.CREATED, added.text
    listed = mgmt.call("GET", path).json()
    assert listed[0] == {
        "resource_server_identifier": api.identifier,
        "permission_name": "read:things",
        "resource_server_name": api.name,
        "description": "Read things",
    }
    assert [p["permission_name"] for p in listed] == ["read:things", "write:things"]
    removed = mgmt.call("DELETE", path, json={"permissions": [permission(api, "read:things")]})
    assert removed.status_code == HTTPStatus.NO_CONTENT, removed.text
    assert [p["permission_name"] for p in mgmt.call("GET", path).json()] == ["write:things"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"permissions": []}, "permissions:"),
        ({"permissions": [{"permission_name": "read:things"}]}, "resource_server_identifier:"),
        ({"permissions": "read:things"}, "permissions:"),
    ],
)
def test_bad_permission_bodies_are_refused(mgmt, body, message):
    role = RoleFactory(tenant=mgmt.tenant)
    assert_error(
        mgmt.call("POST", f"roles/{rid(role)}/permissions", json=body),
        HTTPStatus.BAD_REQUEST,
        "invalid_body",
        message,
    )


def test_a_permission_of_another_tenants_api_is_not_found_here(mgmt, other_mgmt):
    theirs = ApiFactory(tenant=other_mgmt.tenant)
    role = RoleFactory(tenant=mgmt.tenant)
    response = mgmt.call(
        "POST", f"roles/{rid(role)}/permissions", json={"permissions": [permission(theirs, "read:things")]}
    )
    expected = MSG_PERMISSION_NOT_FOUND.format(name="read:things", identifier=theirs.identifier)
    assert_error(response, HTTPStatus.BAD_REQUEST, "invalid_body", expected)
    assert not role.role_permissions.exists()


def test_role_users_and_user_roles_agree(mgmt):
    role = RoleFactory(tenant=mgmt.tenant, name="Reader")
    ada = UserFactory(tenant=mgmt.tenant, email="ada@example.com")
    bob = UserFactory(tenant=mgmt.tenant, email="bob@example.com")
    # assign the role to users through the role
    response = mgmt.call("POST", f"roles/{rid(role)}/users", json={"users": [user_subject(ada)]})
    assert response.status_code == HTTPStatus.OK, response.text
    # and to a user through the user
    response = mgmt.call("POST", f"users/{user_subject(bob)}/roles", json={"roles": [rid(role)]})
    assert response.status_code == HTTPStatus.NO_CONTENT, response.text
    users = mgmt.call("GET", f"roles/{rid(role)}/users").json()
    assert users == [
        {"user_id": user_subject(ada), "email": "ada@example.com", "name": "ada@example.com"},
        {"user_id": user_subject(bob), "email": "bob@example.com", "name": "bob@example.com"},
    ]
    assert mgmt.call("GET", f"users/{user_subject(ada)}/roles").json() == [
        {"id": rid(role), "name": "Reader", "description": ""}
    ]
    # removing it from one user
    removed = mgmt.call("DELETE", f"users/{user_subject(bob)}/roles", json={"roles": [rid(role)]})
    assert removed.status_code == HTTPStatus.NO_CONTENT
    assert list(UserRole.objects.filter(role=role).values_list("user_id", flat=True)) == [ada.pk]
    event = AuditEvent.objects.filter(type=AuditEvent.Type.USER_ROLES_CHANGED).first()
    assert event.actor_label == f"client {mgmt.client_id}"


def test_user_permissions_list_direct_ones_and_their_roles(mgmt):
    api = ApiFactory(tenant=mgmt.tenant)
    user = UserFactory(tenant=mgmt.tenant)
    path = f"users/{user_subject(user)}/permissions"
    role = RoleFactory(tenant=mgmt.tenant, name="Reader")
    mgmt.call(
        "POST", f"roles/{rid(role)}/permissions", json={"permissions": [permission(api, "read:things")]}
    )
    mgmt.call("POST", f"users/{user_subject(user)}/roles", json={"roles": [rid(role)]})
    added = mgmt.call(
        "POST", path, json={"permissions": [permission(api, "delete:things"), permission(api, "read:things")]}
    )
    assert added.status_code == HTTPStatus.CREATED, added.text
    listed = {p["permission_name"]: p["sources"] for p in mgmt.call("GET", path).json()}
    assert listed == {
        "delete:things": [{"source_id": "", "source_name": "", "source_type": "DIRECT"}],
        "read:things": [
            {"source_id": "", "source_name": "", "source_type": "DIRECT"},
            {"source_id": rid(role), "source_name": "Reader", "source_type": "ROLE"},
        ],
    }
    removed = mgmt.call("DELETE", path, json={"permissions": [permission(api, "read:things")]})
    assert removed.status_code == HTTPStatus.NO_CONTENT
    listed = {p["permission_name"]: p["sources"] for p in mgmt.call("GET", path).json()}
    assert [s["source_type"] for s in listed["read:things"]] == ["ROLE"]


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "roles", "read:roles"),
        ("POST", "roles", "create:roles"),
        ("GET", "roles/{id}", "read:roles"),
        ("PATCH", "roles/{id}", "update:roles"),
        ("DELETE", "roles/{id}", "delete:roles"),
        ("GET", "roles/{id}/permissions", "read:roles"),
        ("POST", "roles/{id}/permissions", "update:roles"),
        ("DELETE", "roles/{id}/permissions", "update:roles"),
        ("GET", "roles/{id}/users", ("read:roles", "read:role_members")),
        ("POST", "roles/{id}/users", ("update:roles", "create:role_members")),
    ],
)
def test_each_roles_endpoint_needs_its_scope(mgmt, method, path, scope):
    role = RoleFactory(tenant=mgmt.tenant, name="Keep")
    needed = (scope,) if isinstance(scope, str) else scope
    token = mgmt.token([s for s in MANAGEMENT_SCOPES if s not in needed])
    response = mgmt.call(method, path.format(id=rid(role)), token=token, json={"name": "Changed"})
    body = assert_error(response, HTTPStatus.FORBIDDEN, "insufficient_scope")
    assert body["message"] == "Insufficient scope, expected any of: " + ", ".join(needed)
    assert Role.objects.get(pk=role.pk).name == "Keep"


def test_auth0s_role_member_scopes_alone_read_assign_and_remove_role_members(mgmt):
    # given a role, two users, and tokens with only Auth0's role-member scopes
    role = RoleFactory(tenant=mgmt.tenant, name="Reader")
    ada, bob = UserFactory(tenant=mgmt.tenant), UserFactory(tenant=mgmt.tenant)
    read, create, delete = (mgmt.token([f"{verb}:role_members"]) for verb in ("read", "create", "delete"))
    # when each does its part of Auth0's role-member endpoints
    assigned = mgmt.call(
        "POST", f"roles/{rid(role)}/users", token=create, json={"users": [user_subject(ada)]}
    )
    given = mgmt.call("POST", f"users/{user_subject(bob)}/roles", token=create, json={"roles": [rid(role)]})
    members = mgmt.call("GET", f"roles/{rid(role)}/users", token=read)
    roles_of_bob = mgmt.call("GET", f"users/{user_subject(bob)}/roles", token=read)
    removed = mgmt.call(
        "DELETE", f"users/{user_subject(bob)}/roles", token=delete, json={"roles": [rid(role)]}
    )
    # then all of it works, and the scopes do nothing more
    assert (assigned.status_code, given.status_code) == (HTTPStatus.OK, HTTPStatus.NO_CONTENT)
    assert [u["user_id"] for u in members.json()] == [user_subject(ada), user_subject(bob)]
    assert [r["id"] for r in roles_of_bob.json()] == [rid(role)]
    assert removed.status_code == HTTPStatus.NO_CONTENT
    assert list(UserRole.objects.filter(role=role).values_list("user_id", flat=True)) == [ada.pk]
    for method, path in [("GET", f"roles/{rid(role)}"), ("GET", f"users/{user_subject(ada)}")]:
        assert_error(mgmt.call(method, path, token=read), HTTPStatus.FORBIDDEN, "insufficient_scope")
    refused = mgmt.call(
        "DELETE", f"users/{user_subject(ada)}/roles", token=create, json={"roles": [rid(role)]}
    )
    assert_error(refused, HTTPStatus.FORBIDDEN, "insufficient_scope", "delete:role_members")


def test_another_tenants_roles_and_users_are_not_found(mgmt, other_mgmt):
    theirs = RoleFactory(tenant=other_mgmt.tenant, name="Theirs")
    their_user = UserFactory(tenant=other_mgmt.tenant)
    mine = RoleFactory(tenant=mgmt.tenant, name="Mine")
    my_user = UserFactory(tenant=mgmt.tenant)
    assert_error(
        mgmt.call("GET", "roles", token=other_mgmt.token()), HTTPStatus.UNAUTHORIZED, "invalid_token"
    )
    for method, path in [
        ("GET", "roles/{id}"),
        ("PATCH", "roles/{id}"),
        ("DELETE", "roles/{id}"),
        ("GET", "roles/{id}/permissions"),
        ("GET", "roles/{id}/users"),
    ]:
        response = mgmt.call(method, path.format(id=rid(theirs)), json={"name": "Taken over"})
        assert_error(response, HTTPStatus.NOT_FOUND, "inexistent_role")
    # their role cannot be given to my user, nor my role to their user
    response = mgmt.call("POST", f"users/{user_subject(my_user)}/roles", json={"roles": [rid(theirs)]})
    assert_error(response, HTTPStatus.NOT_FOUND, "inexistent_role")
    response = mgmt.call("POST", f"roles/{rid(mine)}/users", json={"users": [user_subject(their_user)]})
    assert_error(response, HTTPStatus.NOT_FOUND, "inexistent_user")
    assert not UserRole.objects.exists()
    assert [r["name"] for r in mgmt.call("GET", "roles").json()] == ["Mine"]
    assert Role.objects.get(pk=theirs.pk).name == "Theirs"


@pytest.mark.parametrize("role_id", ["1", "rol_", "rol_x", "rol_²", "rol_" + "9" * 30])
def test_malformed_role_ids_are_not_found(mgmt, role_id):
    assert_error(mgmt.call("GET", f"roles/{role_id}"), HTTPStatus.NOT_FOUND, "inexistent_role")


def test_a_role_assigned_through_the_api_shows_in_the_next_tokens_permissions(http):
    # given an API that enforces RBAC, a user, and a role granting a permission
    setup = make_user_setup(grant_types=TRUSTED_GRANT_TYPES)
    api_update(api=setup.api, rbac_enabled=True, add_permissions_in_token=True)
    mgmt = management_session(http, tenant=setup.tenant)
    role = mgmt.call("POST", "roles", json={"name": "Reader"}).json()
    mgmt.call(
        "POST",
        f"roles/{role['id']}/permissions",
        json={"permissions": [permission(setup.api, "read:things")]},
    )

    def token_claims() -> dict:
        response = http.post(f"{setup.issuer_path}oauth/token", data=password_form(setup))
        assert response.status_code == HTTPStatus.OK, response.text
        return jwt.decode(response.json()["access_token"], options={"verify_signature": False})

    # before: the user holds nothing
    assert token_claims()["permissions"] == []
    # when the role is assigned through the API
    response = mgmt.call("POST", f"users/{user_subject(setup.user)}/roles", json={"roles": [role["id"]]})
    assert response.status_code == HTTPStatus.NO_CONTENT, response.text
    # then the next token carries its permission
    claims = token_claims()
    assert claims["permissions"] == ["read:things"] and "read:things" in claims["scope"].split()
