"""Creating, changing and removing client grants."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.apis.models import Api
from apps.applications.models import Application
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core import ttlcache
from apps.grants.models import ClientGrant
from apps.grants.selectors import client_grant_cache_key


def _invalidate(grant: ClientGrant) -> None:
    ttlcache.invalidate(client_grant_cache_key(grant.application_id, grant.api_id))


def _validated_scopes(*, api: Api, scopes: Iterable[str]) -> list[str]:
    requested = list(dict.fromkeys(scopes))
    defined = set(api.scopes.values_list("value", flat=True))
    unknown = [scope for scope in requested if scope not in defined]
    if unknown:
        raise ValidationError(
            {"scopes": f"Not defined by the API {api.identifier}: {', '.join(unknown)}"}, code="invalid_scope"
        )
    return requested


@transaction.atomic
def client_grant_create(
    *, tenant, application: Application, api: Api, scopes: Iterable[str], actor=None
) -> ClientGrant:
    """Authorise ``application`` for ``api`` with ``scopes`` (each defined by the API)."""
    if application.tenant_id != tenant.pk or api.tenant_id != tenant.pk:
        raise ValidationError("The application and the API must belong to this tenant.", code="cross_tenant")
    if ClientGrant.objects.filter(application=application, api=api).exists():
        raise ValidationError(
            f"{application} already has a client grant for {api.identifier}.", code="conflict"
        )
    grant = ClientGrant.objects.create(
        tenant=tenant, application=application, api=api, scopes=_validated_scopes(api=api, scopes=scopes)
    )
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.CLIENT_GRANT_CREATED,
        actor=actor,
        target=grant,
        data={"client_id": application.client_id, "audience": api.identifier, "scopes": grant.scopes},
    )
    _invalidate(grant)
    return grant


@transaction.atomic
def client_grant_update(*, grant: ClientGrant, scopes: Iterable[str], actor=None) -> ClientGrant:
    grant.scopes = _validated_scopes(api=grant.api, scopes=scopes)
    grant.save(update_fields=["scopes", "updated_at"])
    audit_record(
        tenant=grant.tenant,
        type=AuditEvent.Type.CLIENT_GRANT_UPDATED,
        actor=actor,
        target=grant,
        data={"scopes": grant.scopes},
    )
    _invalidate(grant)
    return grant


@transaction.atomic
def client_grant_delete(*, grant: ClientGrant, actor=None) -> None:
    audit_record(
        tenant=grant.tenant,
        type=AuditEvent.Type.CLIENT_GRANT_DELETED,
        actor=actor,
        target=grant,
        data={"client_id": grant.application.client_id, "audience": grant.api.identifier},
    )
    _invalidate(grant)
    grant.delete()


def client_grants_drop_scopes(*, api: Api, scopes: Iterable[str]) -> None:
    """Called when an API stops defining ``scopes``: no grant may keep them."""
    dropped = set(scopes)
    for grant in ClientGrant.objects.filter(api=api).select_for_update():
        kept = [scope for scope in grant.scopes if scope not in dropped]
        if kept != grant.scopes:
            grant.scopes = kept
            grant.save(update_fields=["scopes", "updated_at"])
            _invalidate(grant)
