"""The resource owner password grant (RFC 6749 4.3) and Auth0's password-realm grant, over real HTTP."""

from __future__ import annotations

from http import HTTPStatus

import jwt
import pytest
from django.core.exceptions import ValidationError

from apps.accounts.errors import ACCOUNT_BLOCKED_MESSAGE, IP_THROTTLED_MESSAGE, WRONG_CREDENTIALS_MESSAGE
from apps.accounts.models import LoginBlock
from apps.accounts.rbac.services import role_create, user_roles_assign
from apps.accounts.services import login_block_remove, user_create
from apps.apis.services import api_update
from apps.applications.services import AppType, application_update
from apps.audit.models import AuditEvent, TokenEvent
from apps.grants.models import UserGrant
from apps.oauth import errors
from apps.oauth.constants import GrantType
from apps.tenants.selectors import DEFAULT_DATABASE_CONNECTION
from apps.tenants.services import (
    tenant_brute_force_protection_set,
    tenant_database_connection_set,
    tenant_suspicious_ip_throttling_set,
)
from tests.factories import UserFactory
from tests.oauth.helpers import verify_with_jwks
from tests.oauth.user_flow import make_user_setup

pytestmark = pytest.mark.django_db(transaction=True)

TRUSTED_GRANT_TYPES = [
    GrantType.AUTHORIZATION_CODE,
    GrantType.REFRESH_TOKEN,
    GrantType.PASSWORD,
    GrantType.PASSWORD_REALM,
]


@pytest.fixture
def trusted():
    """A first-party backend allowed the password grants, an API with offline access, a user."""
    return make_user_setup(grant_types=TRUSTED_GRANT_TYPES)


def password_form(setup, **overrides) -> dict:
    form = {
        "grant_type": GrantType.PASSWORD.value,
        "username": setup.user.username,
        "password": setup.user.plaintext_password,
        "client_id": setup.application.client_id,
        "client_secret": setup.application.plaintext_secret,
        "audience": setup.api.identifier,
        "scope": "openid profile read:things offline_access",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def token(http, setup, headers=None, **overrides):
    return http.post(
        f"{setup.issuer_path}oauth/token", data=password_form(setup, **overrides), headers=headers
    )


def login_failures(setup) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(tenant=setup.tenant, type=AuditEvent.Type.USER_LOGIN_FAILED))


@pytest.mark.parametrize("grant_type", [GrantType.PASSWORD, GrantType.PASSWORD_REALM])
def test_a_trusted_backend_signs_a_user_in_with_their_password(http, trusted, grant_type):
    # given a first-party backend allowed the grant, and the user's password
    realm = DEFAULT_DATABASE_CONNECTION if grant_type == GrantType.PASSWORD_REALM else None

    # when it asks for tokens with the password
    response = token(http, trusted, grant_type=grant_type.value, realm=realm)

    # then it gets an access token for the API as the user, a refresh token and an ID token
    assert response.status_code == HTTPStatus.OK, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid profile read:things offline_access"
    claims = verify_with_jwks(
        http, body["access_token"], tenant_slug=trusted.tenant.slug, audience=trusted.api.identifier
    )
    assert claims["sub"] == f"auth0|{trusted.user.pk}"
    assert claims["client_id"] == trusted.application.client_id
    assert claims["gty"] == "password"
    assert body["refresh_token"]
    id_token = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert id_token["aud"] == trusted.application.client_id
    assert id_token["sub"] == claims["sub"]
    # the approval is recorded, so the user sees (and can revoke) the application
    grant = UserGrant.objects.get(user=trusted.user, application=trusted.application)
    assert "read:things" in grant.scopes
    # and the sign-in is in the audit trail and the token log, with Auth0's event code
    login = AuditEvent.objects.get(tenant=trusted.tenant, type=AuditEvent.Type.USER_LOGIN)
    assert login.data["client_id"] == trusted.application.client_id
    assert TokenEvent.objects.get(tenant=trusted.tenant).type == TokenEvent.Type.SUCCESS_PASSWORD


def test_the_refresh_token_from_the_password_grant_refreshes(http, trusted):
    # given tokens from the password grant
    first = token(http, trusted).json()

    # when the refresh token is used
    response = http.post(
        f"{trusted.issuer_path}oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": trusted.application.client_id,
            "client_secret": trusted.application.plaintext_secret,
        },
    )

    # then a new access token for the same user and API comes back, with a rotated refresh token
    assert response.status_code == HTTPStatus.OK, response.text
    body = response.json()
    assert body["refresh_token"] != first["refresh_token"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    first_claims = jwt.decode(first["access_token"], options={"verify_signature": False})
    assert claims["sub"] == first_claims["sub"]
    assert claims["aud"] == first_claims["aud"]


def test_without_offline_access_no_refresh_token(http, trusted):
    response = token(http, trusted, scope="read:things")

    assert response.status_code == HTTPStatus.OK, response.text
    body = response.json()
    assert "refresh_token" not in body
    assert "id_token" not in body
    assert body["scope"] == "read:things"


def test_scopes_the_api_does_not_define_are_dropped(http, trusted):
    response = token(http, trusted, scope="read:things launch:rockets")

    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json()["scope"] == "read:things"


@pytest.mark.parametrize(
    ("case", "username", "password"),
    [
        ("wrong password", None, "not the password"),
        ("unknown user", "nobody@example.com", "not the password"),
        ("unknown user, same password", "nobody@example.com", None),
    ],
)
def test_wrong_credentials_get_auth0s_answer_whatever_the_reason(http, trusted, case, username, password):
    # when the password grant is tried with credentials that do not match
    response = token(
        http,
        trusted,
        username=username or trusted.user.username,
        password=password or trusted.user.plaintext_password,
    )

    # then: 403 invalid_grant "Wrong email or password." (Auth0), the same for every reason
    assert response.status_code == HTTPStatus.FORBIDDEN, case
    assert response.json() == {"error": "invalid_grant", "error_description": WRONG_CREDENTIALS_MESSAGE}
    assert response.headers["Cache-Control"] == "no-store"
    # and the refusal is an audit event naming the application and Auth0's error
    [failure] = login_failures(trusted)
    assert failure.data["client_id"] == trusted.application.client_id
    assert failure.data["reason"] == "invalid_grant"
    assert TokenEvent.objects.get(tenant=trusted.tenant).type == TokenEvent.Type.FAILED_PASSWORD


def test_a_deactivated_user_gets_the_same_answer(http, trusted):
    trusted.user.is_active = False
    trusted.user.save(update_fields=["is_active"])

    response = token(http, trusted)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error_description"] == WRONG_CREDENTIALS_MESSAGE


def test_another_tenants_user_cannot_sign_in(http, trusted):
    # given a user of another tenant with the same password
    other = UserFactory()

    response = token(http, trusted, username=other.username, password=other.plaintext_password)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error_description"] == WRONG_CREDENTIALS_MESSAGE


def test_an_application_not_allowed_the_grant_is_refused_before_the_password_is_checked(http):
    # given an application without the password grant
    setup = make_user_setup()

    response = token(http, setup)

    # then 403 unauthorized_client, and no sign-in attempt was made (nothing counts as a failure)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error"] == "unauthorized_client"
    assert login_failures(setup) == []


def test_an_unknown_audience_is_refused_before_the_password_is_checked(http, trusted):
    response = token(http, trusted, audience="https://nowhere.example.com/", password="wrong")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {
        "error": "access_denied",
        "error_description": errors.MSG_SERVICE_NOT_FOUND.format(audience="https://nowhere.example.com/"),
    }
    assert login_failures(trusted) == []


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        ({"username": None}, errors.MSG_MISSING_PARAMETER.format(name="username")),
        ({"password": None}, errors.MSG_MISSING_PARAMETER.format(name="password")),
        (
            {"grant_type": GrantType.PASSWORD_REALM.value},
            errors.MSG_MISSING_PARAMETER.format(name="realm"),
        ),
        (
            {"grant_type": GrantType.PASSWORD_REALM.value, "realm": "google-oauth2"},
            errors.MSG_UNKNOWN_REALM.format(realm="google-oauth2", connection=DEFAULT_DATABASE_CONNECTION),
        ),
    ],
)
def test_malformed_requests_get_specific_errors(http, trusted, overrides, description):
    response = token(http, trusted, **overrides)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"error": "invalid_request", "error_description": description}
    assert login_failures(trusted) == []


def test_the_realm_is_the_tenants_own_database_name(http, trusted):
    # given a tenant that renamed its user database
    tenant_database_connection_set(tenant=trusted.tenant, name="staff")

    ok = token(http, trusted, grant_type=GrantType.PASSWORD_REALM.value, realm="staff")
    old = token(http, trusted, grant_type=GrantType.PASSWORD_REALM.value, realm=DEFAULT_DATABASE_CONNECTION)

    assert ok.status_code == HTTPStatus.OK, ok.text
    assert old.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize("name", ["", "has space", "-leading", "x" * 129, "semi;colon"])
def test_a_database_name_is_validated(trusted, name):
    with pytest.raises(ValidationError) as raised:
        tenant_database_connection_set(tenant=trusted.tenant, name=name)

    assert raised.value.code == "invalid_database_connection_name"


def test_a_confidential_client_must_authenticate(http, trusted):
    response = token(http, trusted, client_secret="wrong")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error"] == "invalid_client"
    assert login_failures(trusted) == []


def test_a_native_app_signs_in_without_a_secret(http):
    # given a public client (native app) allowed the password grant
    setup = make_user_setup(app_type=AppType.NATIVE, grant_types=TRUSTED_GRANT_TYPES)

    response = token(http, setup, client_secret=None)

    assert response.status_code == HTTPStatus.OK, response.text


def test_usernames_match_case_insensitively(http, trusted):
    user = user_create(tenant=trusted.tenant, username="Mixed.Case@example.com", password="pw-1234567890")

    response = token(http, trusted, username="mixed.case@example.com", password="pw-1234567890")

    assert response.status_code == HTTPStatus.OK, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == f"auth0|{user.pk}"


# --- Attack protection at the token endpoint ----------------------------------------------------
def fail(http, setup, times: int, **overrides) -> None:
    for _ in range(times):
        response = token(http, setup, password="not the password", **overrides)
        assert response.status_code == HTTPStatus.FORBIDDEN, response.text


@pytest.mark.parametrize("known", [True, False], ids=["existing account", "unknown username"])
def test_repeated_failures_block_the_account_for_that_ip_even_with_the_right_password(http, trusted, known):
    # given a tenant blocking after 3 consecutive failures
    tenant_brute_force_protection_set(
        tenant=trusted.tenant, enabled=True, max_attempts=3, block_duration_seconds=600
    )
    username = trusted.user.username if known else "nobody@example.com"
    fail(http, trusted, 3, username=username)

    # when the right password (or any) comes next from the same IP
    response = token(http, trusted, username=username)

    # then Auth0's too_many_attempts, 429, the same whether the account exists or not
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json() == {"error": "too_many_attempts", "error_description": ACCOUNT_BLOCKED_MESSAGE}
    assert LoginBlock.objects.filter(tenant=trusted.tenant, username=username.lower()).exists()
    assert login_failures(trusted)[0].data["reason"] == "too_many_attempts"


def test_an_admin_unblock_lets_the_user_in_again(http, trusted):
    tenant_brute_force_protection_set(
        tenant=trusted.tenant, enabled=True, max_attempts=2, block_duration_seconds=600
    )
    fail(http, trusted, 2)
    [block] = LoginBlock.objects.filter(tenant=trusted.tenant)

    login_block_remove(block=block)

    assert token(http, trusted).status_code == HTTPStatus.OK


def test_many_failures_from_one_ip_across_accounts_are_throttled(http, trusted):
    # given a tenant throttling an IP after 3 failures across accounts
    tenant_suspicious_ip_throttling_set(
        tenant=trusted.tenant, enabled=True, max_attempts=3, window_seconds=600
    )
    for n in range(3):
        fail(http, trusted, 1, username=f"guess{n}@example.com")

    # when a real user's right password comes from that IP
    response = token(http, trusted)

    # then 429 too_many_attempts with Retry-After
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json() == {"error": "too_many_attempts", "error_description": IP_THROTTLED_MESSAGE}
    assert 1 <= int(response.headers["Retry-After"]) <= 600


@pytest.mark.parametrize("trusted_header", [True, False], ids=["trusted for the header", "not trusted"])
def test_auth0_forwarded_for_names_the_end_user_only_for_a_trusted_backend(http, trusted, trusted_header):
    # given a backend signing users in from many addresses, blocking after 2 failures
    application_update(application=trusted.application, is_token_endpoint_ip_header_trusted=trusted_header)
    tenant_brute_force_protection_set(
        tenant=trusted.tenant, enabled=True, max_attempts=2, block_duration_seconds=600
    )
    # when an attacker at 203.0.113.9 fails twice
    fail(http, trusted, 2, headers={"auth0-forwarded-for": "203.0.113.9"})

    # then the real user at 198.51.100.7 is unaffected only if the backend is trusted to say so
    response = http.post(
        f"{trusted.issuer_path}oauth/token",
        data=password_form(trusted),
        headers={"auth0-forwarded-for": "198.51.100.7"},
    )
    expected = HTTPStatus.OK if trusted_header else HTTPStatus.TOO_MANY_REQUESTS
    assert response.status_code == expected, response.text
    block = LoginBlock.objects.get(tenant=trusted.tenant)
    assert block.ip == ("203.0.113.9" if trusted_header else "127.0.0.1")
    # and the token log records the end user's address
    if trusted_header:
        issued = TokenEvent.objects.get(tenant=trusted.tenant, type=TokenEvent.Type.SUCCESS_PASSWORD)
        assert issued.ip == "198.51.100.7"


# --- RBAC ---------------------------------------------------------------------------------------
def test_with_rbac_the_password_grant_issues_only_what_the_user_holds(http, trusted):
    # given an API enforcing RBAC with permissions in the token, and an approver role
    api_update(api=trusted.api, rbac_enabled=True, add_permissions_in_token=True)
    scopes = {scope.value: scope for scope in trusted.api.scopes.all()}
    approver = role_create(
        tenant=trusted.tenant, name="Approver", permissions=[scopes["read:things"], scopes["write:things"]]
    )
    ask = "openid read:things write:things delete:things"

    # when a user without any role asks for everything
    without = token(http, trusted, scope=ask)
    # and again once the role is assigned (the next token shows the change)
    user_roles_assign(user=trusted.user, roles=[approver])
    with_role = token(http, trusted, scope=ask)

    # then each token carries the requested scopes the user holds, and every permission they hold
    assert without.status_code == HTTPStatus.OK, without.text
    claims = jwt.decode(without.json()["access_token"], options={"verify_signature": False})
    assert (claims["scope"], claims["permissions"]) == ("openid", [])
    assert without.json()["scope"] == "openid"
    claims = jwt.decode(with_role.json()["access_token"], options={"verify_signature": False})
    assert claims["scope"] == "openid read:things write:things"
    assert claims["permissions"] == ["read:things", "write:things"]
