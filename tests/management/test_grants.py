"""The Management API's ``grants`` (end users' consents) over real HTTP: list and filters, delete one,
delete a user's, scopes, tenancy; and a grant deleted through the API ends its refresh token."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from apps.audit.models import AuditEvent
from apps.grants.models import DeniedToken, UserGrant
from apps.management.api.grants import MSG_USER_ID_REQUIRED
from apps.management.services import MANAGEMENT_SCOPES
from apps.oauth.claims import user_subject
from tests.factories import UserFactory, UserGrantFactory
from tests.management.conftest import management_session
from tests.management.test_users import assert_error
from tests.oauth.test_refresh_and_revocation import refresh, tokens_for
from tests.oauth.user_flow import make_user_setup


def render(grant) -> dict:
    return {
        "id": str(grant.pk),
        "clientID": grant.application.client_id,
        "user_id": user_subject(grant.user),
        "audience": grant.audience,
        "scope": grant.scopes,
    }


def test_grants_are_listed_in_auth0s_shape_and_filtered(mgmt):
    ada, bob = UserFactory(tenant=mgmt.tenant), UserFactory(tenant=mgmt.tenant)
    first = UserGrantFactory(user=ada)
    second = UserGrantFactory(user=bob)
    listed = mgmt.call("GET", "grants")
    assert listed.status_code == HTTPStatus.OK, listed.text
    assert sorted(listed.json(), key=lambda g: g["id"]) == [render(first), render(second)]

    def ids(**params) -> list[str]:
        return [g["id"] for g in mgmt.call("GET", "grants", params=params).json()]

    assert ids(user_id=user_subject(ada)) == [str(first.pk)]
    assert ids(client_id=second.application.client_id) == [str(second.pk)]
    assert ids(audience=first.audience) == [str(first.pk)]
    assert ids(user_id="auth0|999999") == [] and ids(user_id="nonsense") == []
    page = mgmt.call("GET", "grants", params={"include_totals": "true", "per_page": 1}).json()
    assert (page["total"], len(page["grants"])) == (2, 1)


def test_a_grant_is_deleted_and_audited(mgmt):
    grant = UserGrantFactory(user=UserFactory(tenant=mgmt.tenant))
    response = mgmt.call("DELETE", f"grants/{grant.pk}")
    assert response.status_code == HTTPStatus.NO_CONTENT, response.text
    assert not UserGrant.objects.filter(pk=grant.pk).exists()
    event = AuditEvent.objects.get(type=AuditEvent.Type.USER_GRANT_REVOKED)
    assert event.actor_label == f"client {mgmt.client_id}"
    assert_error(mgmt.call("DELETE", f"grants/{grant.pk}"), HTTPStatus.NOT_FOUND, "inexistent_grant")


def test_a_users_grants_are_deleted_by_user_id(mgmt):
    ada, bob = UserFactory(tenant=mgmt.tenant), UserFactory(tenant=mgmt.tenant)
    UserGrantFactory(user=ada)
    UserGrantFactory(user=ada)
    kept = UserGrantFactory(user=bob)
    response = mgmt.call("DELETE", "grants", params={"user_id": user_subject(ada)})
    assert response.status_code == HTTPStatus.NO_CONTENT, response.text
    assert list(UserGrant.objects.filter(tenant=mgmt.tenant)) == [kept]
    # without a user_id nothing is deleted
    assert_error(
        mgmt.call("DELETE", "grants"), HTTPStatus.BAD_REQUEST, "invalid_query_string", MSG_USER_ID_REQUIRED
    )
    assert UserGrant.objects.filter(pk=kept.pk).exists()


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "grants", "read:grants"),
        ("DELETE", "grants/{id}", "delete:grants"),
        ("DELETE", "grants?user_id={user}", "delete:grants"),
    ],
)
def test_each_grants_endpoint_needs_its_scope(mgmt, method, path, scope):
    grant = UserGrantFactory(user=UserFactory(tenant=mgmt.tenant))
    token = mgmt.token([s for s in MANAGEMENT_SCOPES if s != scope])
    response = mgmt.call(method, path.format(id=grant.pk, user=user_subject(grant.user)), token=token)
    assert_error(response, HTTPStatus.FORBIDDEN, "insufficient_scope", scope)
    assert UserGrant.objects.filter(pk=grant.pk).exists()


def test_another_tenants_grants_are_out_of_reach(mgmt, other_mgmt):
    theirs = UserGrantFactory(user=UserFactory(tenant=other_mgmt.tenant))
    assert_error(
        mgmt.call("GET", "grants", token=other_mgmt.token()), HTTPStatus.UNAUTHORIZED, "invalid_token"
    )
    assert mgmt.call("GET", "grants").json() == []
    assert_error(mgmt.call("DELETE", f"grants/{theirs.pk}"), HTTPStatus.NOT_FOUND, "inexistent_grant")
    response = mgmt.call("DELETE", "grants", params={"user_id": user_subject(theirs.user)})
    assert_error(response, HTTPStatus.NOT_FOUND, "inexistent_user")
    assert UserGrant.objects.filter(pk=theirs.pk).exists()


def test_a_grant_deleted_through_the_api_ends_its_refresh_token(http):
    # given a user who signed in to a web app with offline access
    setup = make_user_setup()
    mgmt = management_session(http, tenant=setup.tenant)
    tokens = tokens_for(http, setup)
    assert "refresh_token" in tokens
    grant = mgmt.call("GET", "grants", params={"user_id": user_subject(setup.user)}).json()[0]
    # when the grant is deleted through the API
    assert mgmt.call("DELETE", f"grants/{grant['id']}").status_code == HTTPStatus.NO_CONTENT
    # then the refresh token is refused and the access token deny-listed
    response = refresh(http, setup, tokens["refresh_token"])
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.text
    assert response.json()["error"] == "invalid_grant"
    assert DeniedToken.objects.filter(tenant=setup.tenant).exists()
