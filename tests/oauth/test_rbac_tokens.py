"""RBAC on user tokens over real HTTP: requested scopes narrowed to the user's permissions, the
``permissions`` claim, re-evaluation on refresh, implicit tokens, and M2M tokens left alone."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlencode

import jwt
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts.rbac.services import user_permissions_add, user_roles_assign, user_roles_remove
from apps.apis.models import Scope
from apps.apis.services import api_update
from apps.applications.services import AppType
from apps.oauth.models import RefreshToken
from tests.factories import RoleFactory
from tests.oauth.helpers import verify_with_jwks
from tests.oauth.test_refresh_and_revocation import refresh
from tests.oauth.user_flow import authorize, exchange, location_params, make_user_setup

ASKED = "openid read:things write:things offline_access"


def scopes_of(api, *values: str) -> list[Scope]:
    return list(Scope.objects.filter(api=api, value__in=values))


@pytest.fixture
def rbac(db):
    """A user who holds read:things through a role and delete:things directly; the API enforces RBAC."""
    setup = make_user_setup()
    api_update(api=setup.api, rbac_enabled=True, add_permissions_in_token=True)
    setup.extra["role"] = RoleFactory(
        tenant=setup.tenant, name="Reader", permissions=scopes_of(setup.api, "read:things")
    )
    user_roles_assign(user=setup.user, roles=[setup.extra["role"]])
    user_permissions_add(user=setup.user, scopes=scopes_of(setup.api, "delete:things"))
    return setup


def code_tokens(http, setup, scope: str = ASKED) -> dict:
    response = exchange(http, setup, location_params(authorize(http, setup, scope=scope))["code"])
    assert response.status_code == HTTPStatus.OK, response.text
    return response.json()


def access_claims(http, setup, body: dict) -> dict:
    claims = verify_with_jwks(
        http, body["access_token"], tenant_slug=setup.tenant.slug, audience=setup.api.identifier
    )
    # the response's scope is the token's (RFC 6749 5.1)
    assert body["scope"] == claims["scope"]
    return claims


def test_a_scope_the_user_does_not_hold_is_dropped_and_permissions_lists_all_they_hold(http, rbac):
    # when the user asks for read:things (a role's) and write:things (not held)
    body = code_tokens(http, rbac)
    # then write:things is dropped silently; OIDC scopes stay
    claims = access_claims(http, rbac, body)
    assert claims["scope"].split() == ["openid", "read:things", "offline_access"]
    # and permissions is all the user holds for the API, requested or not (Auth0)
    assert claims["permissions"] == ["delete:things", "read:things"]


def test_a_change_of_role_shows_in_the_next_refresh(http, rbac):
    # given tokens issued while the user has the Reader role
    first = code_tokens(http, rbac)
    assert "read:things" in access_claims(http, rbac, first)["scope"].split()
    # when the role is taken away, and the client refreshes
    user_roles_remove(user=rbac.user, roles=[rbac.extra["role"]])
    second = refresh(http, rbac, first["refresh_token"])
    # then read:things is gone from the new token
    assert second.status_code == HTTPStatus.OK, second.text
    claims = access_claims(http, rbac, second.json())
    assert claims["scope"].split() == ["openid", "offline_access"]
    assert claims["permissions"] == ["delete:things"]
    # when the role is given back and write:things (asked for at the start) is given directly
    user_roles_assign(user=rbac.user, roles=[rbac.extra["role"]])
    user_permissions_add(user=rbac.user, scopes=scopes_of(rbac.api, "write:things"))
    third = refresh(http, rbac, second.json()["refresh_token"])
    # then both come back: the refresh token kept the scopes as first requested
    assert third.status_code == HTTPStatus.OK, third.text
    claims = access_claims(http, rbac, third.json())
    assert claims["scope"].split() == ["openid", "read:things", "write:things", "offline_access"]
    assert claims["permissions"] == ["delete:things", "read:things", "write:things"]
    assert RefreshToken.objects.filter(user=rbac.user, revoked__isnull=True).get().scope == ASKED


def test_a_refresh_cannot_widen_beyond_the_scopes_first_requested(http, rbac):
    # given tokens asked without write:things, and write:things given to the user since
    first = code_tokens(http, rbac, scope="openid read:things offline_access")
    user_permissions_add(user=rbac.user, scopes=scopes_of(rbac.api, "write:things"))
    # when the refresh asks for it
    response = refresh(http, rbac, first["refresh_token"], scope="openid write:things")
    # then it is refused (RFC 6749 6): holding a permission is not consenting to it
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "invalid_scope"


def test_without_rbac_the_scopes_are_as_requested_and_there_is_no_permissions_claim(http, rbac):
    # given the API does not enforce RBAC (even with "add permissions" on)
    api_update(api=rbac.api, rbac_enabled=False)
    # when
    claims = access_claims(http, rbac, code_tokens(http, rbac))
    # then
    assert claims["scope"].split() == ASKED.split()
    assert "permissions" not in claims


def test_rbac_without_permissions_in_the_token_narrows_scopes_but_adds_no_claim(http, rbac):
    api_update(api=rbac.api, add_permissions_in_token=False)
    claims = access_claims(http, rbac, code_tokens(http, rbac))
    assert claims["scope"].split() == ["openid", "read:things", "offline_access"]
    assert "permissions" not in claims


def test_a_user_without_permissions_gets_only_the_openid_scopes(http, rbac):
    user_roles_remove(user=rbac.user, roles=[rbac.extra["role"]])
    claims = access_claims(http, rbac, code_tokens(http, rbac, scope="openid read:things"))
    assert claims["scope"] == "openid"
    assert claims["permissions"] == ["delete:things"]


@pytest.mark.parametrize("response_type", ["token", "id_token token"])
def test_implicit_tokens_are_narrowed_when_issued(http, db, response_type):
    # given an SPA whose user holds read:things only, on an API that enforces RBAC
    setup = make_user_setup(app_type=AppType.SPA)
    api_update(api=setup.api, rbac_enabled=True, add_permissions_in_token=True)
    user_permissions_add(user=setup.user, scopes=scopes_of(setup.api, "read:things"))
    # when the user signs in at /authorize asking for read:things and write:things
    response = authorize(
        http,
        setup,
        response_type=response_type,
        scope="openid read:things write:things",
        code_challenge=None,
        code_challenge_method=None,
    )
    # then the token issued there carries read:things only
    assert response.status_code == HTTPStatus.FOUND, response.text[:300]
    params = location_params(response)
    claims = jwt.decode(params["access_token"], options={"verify_signature": False})
    assert claims["scope"].split() == ["openid", "read:things"]
    assert claims["permissions"] == ["read:things"]
    assert params["scope"].split() == ["openid", "read:things"]


def test_client_credentials_ignore_roles_and_read_nothing_of_them(m2m):
    # given an API enforcing RBAC, with a role granting everything in its tenant
    api_update(api=m2m.api, rbac_enabled=True, add_permissions_in_token=True)
    RoleFactory(tenant=m2m.tenant, permissions=scopes_of(m2m.api, "delete:things"))
    # when the M2M client gets a token (in-process, to see its queries)
    with CaptureQueriesContext(connection) as queries:
        response = Client().post(
            m2m.token_path(), urlencode(m2m.form()), content_type="application/x-www-form-urlencoded"
        )
    # then the token carries the client grant's scopes as permissions, as before RBAC
    assert response.status_code == HTTPStatus.OK, response.content
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["scope"].split() == ["read:things", "write:things"]
    assert claims["permissions"] == ["read:things", "write:things"]
    # and nothing about roles or users' permissions was read
    assert not [query["sql"] for query in queries.captured_queries if "accounts_" in query["sql"]]


def test_a_user_token_that_skipped_rbac_is_refused_not_issued(http, rbac, monkeypatch):
    # given a grant path that forgets RBAC (simulated: the code exchange's hook does nothing)
    from apps.oauth import errors
    from apps.oauth.grants import user_tokens

    monkeypatch.setattr(user_tokens, "rbac_apply", lambda *, context, user, scopes: scopes)
    code = location_params(authorize(http, rbac, scope=ASKED))["code"]
    # when the code is exchanged
    response = exchange(http, rbac, code)
    # then no token with unchecked scopes is issued: a JSON server error says why
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.json() == {"error": "server_error", "error_description": errors.MSG_RBAC_NOT_APPLIED}
