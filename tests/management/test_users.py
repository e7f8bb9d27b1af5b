"""The Management API's ``users`` endpoints over real HTTP: Auth0's shapes, scopes, tenancy, bad input,
audit, and what a change through the API does to signing in."""

from __future__ import annotations

from http import HTTPStatus

import pyotp
import pytest

from apps.accounts.mfa.services import otp_verify, totp_associate
from apps.accounts.models import LoginBlock, MfaAuthenticator, User
from apps.accounts.services import (
    MSG_USER_EXISTS,
    USER_EXISTS,
    end_user_create,
    user_block_set,
    user_delete,
    user_update,
)
from apps.audit.models import AuditEvent
from apps.management.api.users import MSG_BAD_QUERY, MSG_UNKNOWN_CONNECTION
from apps.oauth.claims import user_subject
from apps.tenants.selectors import DEFAULT_DATABASE_CONNECTION
from tests.factories import LoginBlockFactory, UserFactory
from tests.management.conftest import management_session
from tests.oauth.test_password_grant import TRUSTED_GRANT_TYPES, password_form
from tests.oauth.user_flow import make_user_setup

PASSWORD = "a long and unusual passphrase 42"


def new_user(**overrides) -> dict:
    return {
        "connection": DEFAULT_DATABASE_CONNECTION,
        "email": "ada@example.com",
        "password": PASSWORD,
        "given_name": "Ada",
        "family_name": "Lovelace",
    } | overrides


def assert_error(response, status: HTTPStatus, code: str, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["statusCode"] == status and body["errorCode"] == code, body
    assert body["error"] == status.phrase
    if message is not None:
        assert message in body["message"], body
    return body


# --- create, read, list ------------------------------------------------------------------------------
def test_a_user_is_created_in_the_database_connection_in_auth0s_shape(mgmt):
    # when the management client creates a user
    response = mgmt.call("POST", "users", json=new_user())
    # then it is there, in Auth0's shape, with the email as username
    assert response.status_code == HTTPStatus.CREATED, response.text
    body = response.json()
    user = User.objects.get(tenant=mgmt.tenant, email="ada@example.com")
    assert body["user_id"] == f"auth0|{user.pk}"
    assert {k: body[k] for k in ("email", "username", "given_name", "family_name", "name", "blocked")} == {
        "email": "ada@example.com",
        "username": "ada@example.com",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "name": "Ada Lovelace",
        "blocked": False,
    }
    assert body["identities"] == [
        {
            "connection": DEFAULT_DATABASE_CONNECTION,
            "user_id": str(user.pk),
            "provider": "auth0",
            "isSocial": False,
        }
    ]
    assert body["created_at"].endswith("Z") and body["last_login"] is None
    # and the calling client is the actor of the audit event
    event = AuditEvent.objects.get(tenant=mgmt.tenant, type=AuditEvent.Type.USER_CREATED)
    assert event.actor_label == f"client {mgmt.client_id}" and event.target == "ada@example.com"


def test_a_user_is_read_and_listed_with_a_simple_search(mgmt):
    # given three users
    ada = UserFactory(tenant=mgmt.tenant, username="ada", email="ada@example.com")
    UserFactory(tenant=mgmt.tenant, username="bob", email="bob@example.org")
    UserFactory(tenant=mgmt.tenant, username="carol", email="carol@example.org")
    # when one is read by its Auth0 id
    response = mgmt.call("GET", f"users/{user_subject(ada)}")
    # then
    assert response.status_code == HTTPStatus.OK and response.json()["username"] == "ada"

    def usernames(**params) -> list[str]:
        listed = mgmt.call("GET", "users", params=params)
        assert listed.status_code == HTTPStatus.OK, listed.text
        return [user["username"] for user in listed.json()]

    # and the list searches emails and usernames
    assert usernames() == ["ada", "bob", "carol"]
    assert usernames(q="example.org") == ["bob", "carol"]
    assert usernames(q='email:"BOB@example.org"', search_engine="v3") == ["bob"]
    assert usernames(q="username:carol") == ["carol"]
    assert usernames(q=f'user_id:"{user_subject(ada)}"') == ["ada"]
    # and pages come in Auth0's envelope
    page = mgmt.call("GET", "users", params={"per_page": 2, "page": 1, "include_totals": "true"}).json()
    assert (page["start"], page["limit"], page["total"], [u["username"] for u in page["users"]]) == (
        2,
        2,
        3,
        ["carol"],
    )


def test_users_are_sorted_as_sort_asks_and_paged_in_that_order(mgmt):
    # given three users created in this order, one of whom has signed in
    carol = UserFactory(tenant=mgmt.tenant, username="carol", email="carol@example.com", first_name="Carol")
    UserFactory(tenant=mgmt.tenant, username="ada", email="ada@example.com", first_name="Ada")
    UserFactory(tenant=mgmt.tenant, username="bob", email="bob@example.com", first_name="Bob")
    User.objects.filter(pk=carol.pk).update(last_login="2026-01-01T00:00:00Z")

    def usernames(**params) -> list[str]:
        listed = mgmt.call("GET", "users", params=params)
        assert listed.status_code == HTTPStatus.OK, listed.text
        body = listed.json()
        return [user["username"] for user in (body["users"] if isinstance(body, dict) else body)]

    # then
    assert usernames() == ["carol", "ada", "bob"]  # by creation without sort
    assert usernames(sort="email:1") == ["ada", "bob", "carol"]
    assert usernames(sort="email:-1") == ["carol", "bob", "ada"]
    assert usernames(sort="created_at:-1") == ["bob", "ada", "carol"]
    assert usernames(sort="given_name:1", q="example.com") == ["ada", "bob", "carol"]
    assert usernames(sort="last_login:-1")[0] == "carol"  # never signed in: last, either way
    assert usernames(sort="last_login:1")[0] == "carol"
    assert usernames(sort="username:-1", per_page=2, page=1, include_totals="true") == ["ada"]


@pytest.mark.parametrize(
    "sort", ["email", "email:2", "email:asc", ":1", "logins_count:1", "app_metadata.plan:1"]
)
def test_a_sort_it_cannot_answer_is_refused(mgmt, sort):
    assert_error(
        mgmt.call("GET", "users", params={"sort": sort}),
        HTTPStatus.BAD_REQUEST,
        "invalid_query_string",
        "Query validation error: 'sort' must be <field>:1",
    )


@pytest.mark.parametrize("q", ["app_metadata.plan:gold", "email:a OR name:b"])
def test_a_search_it_cannot_answer_is_refused(mgmt, q):
    assert_error(
        mgmt.call("GET", "users", params={"q": q}),
        HTTPStatus.BAD_REQUEST,
        "invalid_query_string",
        MSG_BAD_QUERY,
    )


# --- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (new_user(connection="Other-Connection"), "inexistent_connection", MSG_UNKNOWN_CONNECTION),
        (new_user(nickname="ada"), "invalid_body", "Additional properties not allowed: nickname"),
        (new_user(email=42), "invalid_body", "email: Expected type string."),
        (new_user(blocked="yes"), "invalid_body", "blocked: Expected type boolean."),
        (new_user(email="not-an-email"), "invalid_body", "email:"),
        ({"connection": DEFAULT_DATABASE_CONNECTION, "email": "x@example.com"}, "invalid_body", "password:"),
        (new_user(password="short"), "password_strength_error", "PasswordStrengthError:"),
        (new_user(username="x" * 151), "invalid_body", "username:"),
        (["not", "an", "object"], "invalid_body", "Payload validation error"),
    ],
)
def test_bad_input_is_refused_in_auth0s_shape(mgmt, body, code, message):
    response = mgmt.call("POST", "users", json=body)
    assert_error(response, HTTPStatus.BAD_REQUEST, code, message)
    assert not User.objects.filter(tenant=mgmt.tenant).exists()


@pytest.mark.parametrize(
    "taken", [{"email": "ADA@example.com"}, {"email": "x@example.com", "username": "ADA"}]
)
def test_a_taken_email_or_username_is_a_conflict(mgmt, taken):
    # given a user
    UserFactory(tenant=mgmt.tenant, username="ada", email="ada@example.com")
    # when another is created with the same email or username (any case)
    response = mgmt.call("POST", "users", json=new_user(**taken))
    # then Auth0's 409
    assert_error(response, HTTPStatus.CONFLICT, "user_exists", MSG_USER_EXISTS)


# --- update, block, delete -----------------------------------------------------------------------------
def test_a_user_is_updated_and_blocked_in_one_patch(mgmt):
    user = UserFactory(tenant=mgmt.tenant, username="ada", email="ada@example.com")
    # when
    response = mgmt.call(
        "PATCH",
        f"users/{user_subject(user)}",
        json={"name": "Ada King", "email": "ada@king.example", "blocked": True},
    )
    # then
    assert response.status_code == HTTPStatus.OK, response.text
    body = response.json()
    assert (body["given_name"], body["family_name"], body["email"], body["blocked"]) == (
        "Ada",
        "King",
        "ada@king.example",
        True,
    )
    user.refresh_from_db()
    assert not user.is_active
    types = set(
        AuditEvent.objects.filter(tenant=mgmt.tenant, actor_label=f"client {mgmt.client_id}").values_list(
            "type", flat=True
        )
    )
    assert {AuditEvent.Type.USER_UPDATED, AuditEvent.Type.USER_ACCOUNT_BLOCKED} <= types


def test_patch_refuses_a_taken_email_and_changes_nothing(mgmt):
    UserFactory(tenant=mgmt.tenant, username="bob", email="bob@example.com")
    ada = UserFactory(tenant=mgmt.tenant, username="ada", email="ada@example.com")
    response = mgmt.call(
        "PATCH", f"users/{user_subject(ada)}", json={"email": "bob@example.com", "blocked": True}
    )
    assert_error(response, HTTPStatus.CONFLICT, "user_exists")
    ada.refresh_from_db()
    assert (ada.email, ada.is_active) == ("ada@example.com", True)


def test_a_deleted_user_is_gone_and_audited(mgmt):
    user = UserFactory(tenant=mgmt.tenant)
    response = mgmt.call("DELETE", f"users/{user_subject(user)}")
    assert response.status_code == HTTPStatus.NO_CONTENT, response.text
    assert not User.objects.filter(pk=user.pk).exists()
    assert AuditEvent.objects.get(type=AuditEvent.Type.USER_DELETED).actor_label == f"client {mgmt.client_id}"
    assert_error(mgmt.call("GET", f"users/{user_subject(user)}"), HTTPStatus.NOT_FOUND, "inexistent_user")


# --- scopes and tenancy -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "users", "read:users"),
        ("POST", "users", "create:users"),
        ("GET", "users/{id}", "read:users"),
        ("PATCH", "users/{id}", "update:users"),
        ("DELETE", "users/{id}", "delete:users"),
        ("GET", "users/{id}/roles", ("read:users", "read:role_members")),
        ("POST", "users/{id}/roles", ("update:users", "create:role_members")),
        ("DELETE", "users/{id}/roles", ("update:users", "delete:role_members")),
        ("GET", "users/{id}/permissions", "read:users"),
        ("DELETE", "users/{id}/permissions", "update:users"),
        ("GET", "users/{id}/authentication-methods", "read:authentication_methods"),
        ("DELETE", "users/{id}/authentication-methods", "delete:authentication_methods"),
        ("GET", "user-blocks/{id}", "read:users"),
        ("DELETE", "user-blocks/{id}", "update:users"),
    ],
)
def test_each_endpoint_needs_its_scope(mgmt, method, path, scope):
    # given a token with every scope but the one needed (or any of the ones that would do)
    user = UserFactory(tenant=mgmt.tenant)
    needed = (scope,) if isinstance(scope, str) else scope
    token = mgmt.token([s for s in mgmt_scopes() if s not in needed])
    # when
    response = mgmt.call(method, path.format(id=user_subject(user)), token=token, json={})
    # then 403 naming the scopes, and nothing changed
    body = assert_error(response, HTTPStatus.FORBIDDEN, "insufficient_scope")
    assert body["message"] == "Insufficient scope, expected any of: " + ", ".join(needed)
    assert User.objects.filter(pk=user.pk, is_active=True).exists()


def mgmt_scopes() -> list[str]:
    from apps.management.services import MANAGEMENT_SCOPES

    return list(MANAGEMENT_SCOPES)


def test_another_tenants_token_and_users_are_refused(mgmt, other_mgmt):
    mine = UserFactory(tenant=mgmt.tenant)
    theirs = UserFactory(tenant=other_mgmt.tenant)
    # a token of the other tenant is not accepted here
    assert_error(
        mgmt.call("GET", "users", token=other_mgmt.token()), HTTPStatus.UNAUTHORIZED, "invalid_token"
    )
    # and the other tenant's user does not exist here, whatever the method
    for method in ("GET", "PATCH", "DELETE"):
        response = mgmt.call(method, f"users/{user_subject(theirs)}", json={"blocked": True})
        assert_error(response, HTTPStatus.NOT_FOUND, "inexistent_user")
    for path in ("roles", "permissions", "authentication-methods"):
        assert_error(
            mgmt.call("GET", f"users/{user_subject(theirs)}/{path}"), HTTPStatus.NOT_FOUND, "inexistent_user"
        )
    assert_error(
        mgmt.call("GET", f"user-blocks/{user_subject(theirs)}"), HTTPStatus.NOT_FOUND, "inexistent_user"
    )
    # and the list holds only this tenant's users
    assert [u["user_id"] for u in mgmt.call("GET", "users").json()] == [user_subject(mine)]
    theirs.refresh_from_db()
    assert theirs.is_active


@pytest.mark.parametrize(
    "user_id", ["42", "auth0|", "auth0|abc", "auth0|²", "google-oauth2|1", "auth0|" + "9" * 40]
)
def test_malformed_user_ids_are_not_found(mgmt, user_id):
    assert_error(mgmt.call("GET", f"users/{user_id}"), HTTPStatus.NOT_FOUND, "inexistent_user")


# --- authentication methods and user blocks ---------------------------------------------------------------
def test_authentication_methods_are_listed_and_removed(mgmt):
    user = UserFactory(tenant=mgmt.tenant)
    # one confirmed authenticator and one association not yet confirmed
    association = totp_associate(tenant=mgmt.tenant, user=user)
    otp_verify(tenant=mgmt.tenant, user=user, code=pyotp.TOTP(association.secret).now(), ip=None)
    first = MfaAuthenticator.objects.get(pk=association.authenticator_id)
    second = MfaAuthenticator.objects.get(pk=totp_associate(tenant=mgmt.tenant, user=user).authenticator_id)
    base = f"users/{user_subject(user)}/authentication-methods"
    # listed in Auth0's shape
    listed = mgmt.call("GET", base)
    assert listed.status_code == HTTPStatus.OK, listed.text
    assert [(m["id"], m["type"], m["confirmed"]) for m in listed.json()] == [
        (f"otp|dev_{first.pk}", "totp", True),
        (f"otp|dev_{second.pk}", "totp", False),
    ]
    # one removed (the pending one: removing the last confirmed one removes everything)
    assert mgmt.call("DELETE", f"{base}/otp|dev_{second.pk}").status_code == HTTPStatus.NO_CONTENT
    assert_error(
        mgmt.call("GET", f"{base}/otp|dev_{second.pk}"),
        HTTPStatus.NOT_FOUND,
        "inexistent_authentication_method",
    )
    assert mgmt.call("GET", f"{base}/otp|dev_{first.pk}").json()["id"] == f"otp|dev_{first.pk}"
    # then all of them
    assert mgmt.call("DELETE", base).status_code == HTTPStatus.NO_CONTENT
    assert mgmt.call("GET", base).json() == []
    assert AuditEvent.objects.filter(
        type=AuditEvent.Type.MFA_RESET, actor_label=f"client {mgmt.client_id}"
    ).exists()


def test_another_users_authentication_method_is_not_found(mgmt):
    user, other = UserFactory(tenant=mgmt.tenant), UserFactory(tenant=mgmt.tenant)
    theirs = totp_associate(tenant=mgmt.tenant, user=other).authenticator_id
    response = mgmt.call("DELETE", f"users/{user_subject(user)}/authentication-methods/otp|dev_{theirs}")
    assert_error(response, HTTPStatus.NOT_FOUND, "inexistent_authentication_method")
    assert other.mfa_authenticators.exists()


def test_brute_force_blocks_are_shown_and_lifted(mgmt):
    user = UserFactory(tenant=mgmt.tenant, username="ada@example.com")
    LoginBlockFactory(user=user, tenant=mgmt.tenant, ip="203.0.113.7")
    shown = mgmt.call("GET", f"user-blocks/{user_subject(user)}")
    assert shown.status_code == HTTPStatus.OK, shown.text
    assert shown.json() == {
        "blocked_for": [
            {"identifier": "ada@example.com", "ip": "203.0.113.7", "connection": DEFAULT_DATABASE_CONNECTION}
        ]
    }
    assert mgmt.call("DELETE", f"user-blocks/{user_subject(user)}").status_code == HTTPStatus.NO_CONTENT
    assert not LoginBlock.objects.filter(user=user).exists()
    assert mgmt.call("GET", f"user-blocks/{user_subject(user)}").json() == {"blocked_for": []}


# --- what it does to signing in -------------------------------------------------------------------------------
def test_a_user_created_through_the_api_signs_in_and_once_blocked_cannot(http):
    # given a tenant with a first-party app allowed the password grant, and its management client
    setup = make_user_setup(grant_types=TRUSTED_GRANT_TYPES)
    mgmt = management_session(http, tenant=setup.tenant)
    created = mgmt.call("POST", "users", json=new_user(email="grace@example.com"))
    assert created.status_code == HTTPStatus.CREATED, created.text
    form = password_form(setup, username="grace@example.com", password=PASSWORD)
    # when the new user signs in with the password grant: tokens
    signed_in = http.post(f"{setup.issuer_path}oauth/token", data=form)
    assert signed_in.status_code == HTTPStatus.OK, signed_in.text
    refresh_token = signed_in.json()["refresh_token"]
    # when the API blocks them
    blocked = mgmt.call("PATCH", f"users/{created.json()['user_id']}", json={"blocked": True})
    assert blocked.status_code == HTTPStatus.OK and blocked.json()["blocked"] is True
    # then neither their password nor their refresh token works any more
    refused = http.post(f"{setup.issuer_path}oauth/token", data=form)
    assert refused.status_code == HTTPStatus.FORBIDDEN, refused.text
    assert refused.json()["error"] == "invalid_grant"
    refreshed = http.post(
        f"{setup.issuer_path}oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": setup.application.client_id,
            "client_secret": setup.application.plaintext_secret,
        },
    )
    assert refreshed.status_code != HTTPStatus.OK, refreshed.text
    # and unblocked, they sign in again
    assert (
        mgmt.call("PATCH", f"users/{created.json()['user_id']}", json={"blocked": False}).status_code
        == HTTPStatus.OK
    )
    assert http.post(f"{setup.issuer_path}oauth/token", data=form).status_code == HTTPStatus.OK


def test_a_password_set_through_the_api_is_the_one_that_works(http):
    setup = make_user_setup(grant_types=TRUSTED_GRANT_TYPES)
    mgmt = management_session(http, tenant=setup.tenant)
    new_password = "another quite long passphrase 7"
    response = mgmt.call("PATCH", f"users/{user_subject(setup.user)}", json={"password": new_password})
    assert response.status_code == HTTPStatus.OK, response.text
    old = http.post(f"{setup.issuer_path}oauth/token", data=password_form(setup))
    new = http.post(f"{setup.issuer_path}oauth/token", data=password_form(setup, password=new_password))
    assert (old.status_code, new.status_code) == (HTTPStatus.FORBIDDEN, HTTPStatus.OK)


# --- the services ------------------------------------------------------------------------------------------
def test_user_services_refuse_taken_identifiers_and_record_only_changes(db):
    ada = end_user_create(tenant=UserFactory().tenant, email="ada@example.com", password=PASSWORD)
    tenant = ada.tenant
    with pytest.raises(Exception) as refused:
        end_user_create(tenant=tenant, email="x@example.com", username="ADA@example.com", password=PASSWORD)
    assert refused.value.code == USER_EXISTS
    # an update that changes nothing records nothing; blocking twice records once
    user_update(user=ada, first_name="")
    user_block_set(user=ada, blocked=True)
    user_block_set(user=ada, blocked=True)
    types = list(AuditEvent.objects.filter(tenant=tenant, target=ada.username).values_list("type", flat=True))
    assert types.count(AuditEvent.Type.USER_UPDATED) == 0
    assert types.count(AuditEvent.Type.USER_ACCOUNT_BLOCKED) == 1
    user_delete(user=ada)
    assert not User.objects.filter(pk=ada.pk).exists()
