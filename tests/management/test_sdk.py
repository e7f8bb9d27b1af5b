"""The official Auth0 Python SDK (``auth0-python`` 6.x), unchanged, drives our Management API over HTTP.

Issue 8's "done when": an operator's management client gets a token for ``<issuer>api/v2/`` with
``GetToken(..., protocol="http")``, then ``auth0.management.Auth0(base_url=<issuer>api/v2, token=...)``
creates an API with scopes, an M2M application and a client grant; the new application gets a
token with exactly the granted scopes; its secret is rotated (the old one refused, the new one
works); everything is deleted again.
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlsplit

import jwt
import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError

from apps.apis.models import Api
from apps.applications.models import Application
from apps.audit.models import AuditEvent
from apps.grants.models import ClientGrant

AUDIENCE = "https://ledger.example.com/"


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_sdk_creates_api_application_grant_then_rotates_and_deletes(mgmt, live_server):
    # given: the management client's credentials, as create_tenant prints them
    host = urlsplit(live_server.url).netloc
    domain = f"{host}/t/{mgmt.tenant.slug}"
    operator = GetToken(domain, mgmt.client_id, client_secret=mgmt.client_secret, protocol="http")
    management_token = operator.client_credentials(mgmt.audience)["access_token"]
    api = Auth0(base_url=f"http://{domain}/api/v2", token=management_token)
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    # when: an API with scopes, an M2M application and a client grant
    server = api.resource_servers.create(
        identifier=AUDIENCE,
        name="Ledger",
        scopes=[
            {"value": "read:ledger", "description": "Read the ledger"},
            {"value": "write:ledger", "description": "Write the ledger"},
            {"value": "close:ledger", "description": "Close the books"},
        ],
        token_lifetime=900,
        enforce_policies=False,
    )
    created = api.clients.create(
        name="Ledger sync", app_type="non_interactive", grant_types=["client_credentials"]
    )
    grant = api.client_grants.create(
        client_id=created.client_id, audience=AUDIENCE, scope=["read:ledger", "write:ledger"]
    )

    # then: Auth0's shapes, readable back by id and by identifier, listed with paging
    assert (server.identifier, server.name, server.token_lifetime, server.is_system) == (
        AUDIENCE,
        "Ledger",
        900,
        False,
    )
    assert sorted(scope.value for scope in server.scopes) == ["close:ledger", "read:ledger", "write:ledger"]
    assert api.resource_servers.get(id=server.id).identifier == AUDIENCE
    assert api.resource_servers.get(id=AUDIENCE).id == server.id
    assert created.app_type == "non_interactive" and created.client_secret
    assert (grant.client_id, grant.audience, list(grant.scope)) == (
        created.client_id,
        AUDIENCE,
        ["read:ledger", "write:ledger"],
    )
    listed = [client.client_id for client in api.clients.list(per_page=50)]
    assert created.client_id in listed and mgmt.client_id in listed
    grants = list(api.client_grants.list(client_id=created.client_id))
    assert [g.id for g in grants] == [grant.id]

    # when: the new application asks for a token for the API
    app = GetToken(domain, created.client_id, client_secret=created.client_secret, protocol="http")
    token = app.client_credentials(AUDIENCE)["access_token"]

    # then: exactly the granted scopes
    claims = _claims(token)
    assert claims["aud"] == AUDIENCE and claims["sub"] == f"{created.client_id}@clients"
    assert sorted(claims["scope"].split()) == ["read:ledger", "write:ledger"]

    # when: its secret is rotated
    rotated = api.clients.rotate_secret(id=created.client_id)

    # then: the old secret is refused, the new one works
    assert rotated.client_secret and rotated.client_secret != created.client_secret
    with pytest.raises(Auth0Error) as refused:
        app.client_credentials(AUDIENCE)
    assert (
        refused.value.status_code == HTTPStatus.UNAUTHORIZED and refused.value.error_code == "invalid_client"
    )
    renewed = GetToken(domain, created.client_id, client_secret=rotated.client_secret, protocol="http")
    assert _claims(renewed.client_credentials(AUDIENCE)["access_token"])["aud"] == AUDIENCE

    # when: everything is deleted again
    api.client_grants.delete(id=grant.id)
    api.clients.delete(id=created.client_id)
    api.resource_servers.delete(id=server.id)

    # then: gone, and a read says so in Auth0's error shape
    assert not ClientGrant.objects.filter(pk=grant.id).exists()
    assert not Application.objects.filter(client_id=created.client_id).exists()
    assert not Api.objects.filter(tenant=mgmt.tenant, identifier=AUDIENCE).exists()
    with pytest.raises(ApiError) as missing:
        api.clients.get(id=created.client_id)
    assert missing.value.status_code == HTTPStatus.NOT_FOUND
    assert missing.value.body["errorCode"] == "inexistent_client"
    # and every change was audited with the management client as the actor
    actors = set(
        AuditEvent.objects.filter(
            tenant=mgmt.tenant,
            pk__gt=before,
            type__in=[
                AuditEvent.Type.API_CREATED,
                AuditEvent.Type.APPLICATION_CREATED,
                AuditEvent.Type.CLIENT_GRANT_CREATED,
                AuditEvent.Type.APPLICATION_SECRET_ROTATED,
                AuditEvent.Type.CLIENT_GRANT_DELETED,
                AuditEvent.Type.APPLICATION_DELETED,
                AuditEvent.Type.API_DELETED,
            ],
        ).values_list("actor_label", flat=True)
    )
    assert actors == {f"client {mgmt.client_id}"}
