"""Provisioning a tenant's Management API (audience ``<issuer>api/v2/``) and its M2M client.

The Management API endpoints land in a later issue; the API, its scopes and the client
exist from tenant creation so automation can already be issued tokens for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from apps.apis.models import Api
from apps.apis.services import api_create, api_scopes_set
from apps.applications.services import AppType, application_create
from apps.grants.models import ClientGrant
from apps.grants.services import client_grant_create, client_grant_update
from apps.oauth.issuer import issuer_for_tenant

MANAGEMENT_API_NAME = "Portcullis Management API"
# The Management API lives at this path under the tenant's issuer, which is also its audience.
MANAGEMENT_API_PATH = "api/v2/"
MANAGEMENT_CLIENT_NAME = "Portcullis Management Client"
_CRUD = ("read", "create", "update", "delete")
# Auth0's Management API v2 scope names, for the endpoints this API serves.
MANAGEMENT_SCOPES: dict[str, str] = {
    **{f"{action}:{resource}": f"{action.capitalize()} {resource.replace('_', ' ')}"
       for resource in ("clients", "client_grants", "resource_servers", "users", "roles")
       for action in _CRUD},
    "update:client_keys": "Rotate client secrets",
    "read:grants": "Read user grants",
    "delete:grants": "Delete user grants",
    "read:logs": "Read logs",
    "read:signing_keys": "Read signing keys",
    "create:signing_keys": "Rotate signing keys",
    "update:signing_keys": "Revoke signing keys",
    "blacklist:tokens": "Deny-list access tokens",
    "read:guardian_factors": "Read MFA factors",
    "update:guardian_factors": "Update MFA factors",
    "read:mfa_policies": "Read MFA policies",
    "update:mfa_policies": "Update MFA policies",
    "read:attack_protection": "Read attack protection settings",
    "update:attack_protection": "Update attack protection settings",
    "read:authentication_methods": "Read users' authentication methods",
    "delete:authentication_methods": "Delete users' authentication methods",
    # Auth0's role-member scopes: roles/{id}/users and users/{id}/roles take them as well.
    "read:role_members": "Read the users of roles",
    "create:role_members": "Assign roles to users",
    "delete:role_members": "Remove roles from users",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ManagementCredentials:
    audience: str
    client_id: str
    client_secret: str = field(repr=False)


def management_audience(tenant) -> str:
    return f"{issuer_for_tenant(tenant)}{MANAGEMENT_API_PATH}"


@transaction.atomic
def management_api_provision(*, tenant, actor=None) -> ManagementCredentials:
    """Create the Management API and a management client granted all of its scopes."""
    audience = management_audience(tenant)
    api = api_create(
        tenant=tenant,
        name=MANAGEMENT_API_NAME,
        identifier=audience,
        scopes=MANAGEMENT_SCOPES,
        is_system=True,
        actor=actor,
    )
    created = application_create(
        tenant=tenant,
        name=MANAGEMENT_CLIENT_NAME,
        app_type=AppType.MACHINE_TO_MACHINE,
        description="Automation client for the Management API.",
        is_system=True,
        actor=actor,
    )
    client_grant_create(
        tenant=tenant, application=created.application, api=api, scopes=list(MANAGEMENT_SCOPES), actor=actor
    )
    return ManagementCredentials(
        audience=audience, client_id=created.application.client_id, client_secret=created.client_secret
    )


@dataclass(frozen=True, slots=True)
class ManagementSync:
    """What ``management_api_sync`` added: scopes to the API, scopes to the system client's grant."""

    api_scopes_added: list[str]
    grant_scopes_added: list[str]


@transaction.atomic
def management_api_sync(*, tenant, actor=None) -> ManagementSync:
    """Bring a tenant's Management API up to this version's ``MANAGEMENT_SCOPES``.

    A tenant provisioned by an earlier version has an API that lacks the scopes of endpoints
    added since (and a management client not granted them). This adds what is missing to the
    system API and to the system client's grant for it; it never removes or renames anything
    (a scope an operator granted stays granted). Idempotent: a second call adds nothing.
    Called by ``bootstrap_demo`` and ``create_tenant`` (for an existing tenant); the data
    migrations ``grants.0004_management_api_sync`` and ``management_api.0001_role_members_scopes``
    (each with its frozen part of the list) do the same for every tenant of an existing database.
    """
    api = (
        Api.objects.for_tenant(tenant)
        .filter(is_system=True, identifier__endswith=f"/{MANAGEMENT_API_PATH}")
        .select_for_update()
        .first()
    )
    if api is None:
        return ManagementSync(api_scopes_added=[], grant_scopes_added=[])
    existing = dict(api.scopes.values_list("value", "description"))
    api_added = [scope for scope in MANAGEMENT_SCOPES if scope not in existing]
    if api_added:
        api_scopes_set(
            api=api, scopes=existing | {scope: MANAGEMENT_SCOPES[scope] for scope in api_added}, actor=actor
        )
    grant = (
        ClientGrant.objects.for_tenant(tenant)
        .filter(api=api, application__is_system=True)
        .select_related("api", "tenant")
        .select_for_update(of=("self",))
        .first()
    )
    grant_added: list[str] = []
    if grant is not None:
        grant_added = [scope for scope in MANAGEMENT_SCOPES if scope not in grant.scopes]
        if grant_added:
            client_grant_update(grant=grant, scopes=[*grant.scopes, *grant_added], actor=actor)
    return ManagementSync(api_scopes_added=api_added, grant_scopes_added=grant_added)
