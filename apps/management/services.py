"""Provisioning a tenant's Management API (audience ``<issuer>api/v2/``) and its M2M client.

The Management API endpoints land in a later issue; the API, its scopes and the client
exist from tenant creation so automation can already be issued tokens for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from apps.apis.services import api_create
from apps.applications.services import AppType, application_create
from apps.grants.services import client_grant_create
from apps.oauth.issuer import issuer_for_tenant

MANAGEMENT_API_NAME = "Portcullis Management API"
MANAGEMENT_CLIENT_NAME = "Portcullis Management Client"
_RESOURCES = ("clients", "client_grants", "resource_servers", "users", "roles", "grants", "logs", "keys")
MANAGEMENT_SCOPES: dict[str, str] = {
    f"{action}:{resource}": f"{action.capitalize()} {resource.replace('_', ' ')}"
    for resource in _RESOURCES
    for action in ("read", "create", "update", "delete")
}


@dataclass(frozen=True, slots=True)
class ManagementCredentials:
    audience: str
    client_id: str
    client_secret: str = field(repr=False)


def management_audience(tenant) -> str:
    return f"{issuer_for_tenant(tenant)}api/v2/"


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
