"""Changes to APIs and their scopes."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.apis.models import Api, Scope
from apps.apis.selectors import api_cache_key
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core import ttlcache
from apps.core.services import assign_changes
from apps.tenants import crypto

# An API's token settings, in the order forms show them.
API_SETTINGS = (
    "signing_alg",
    "token_lifetime",
    "allow_offline_access",
    "skip_consent_for_first_party",
    "rbac_enabled",
    "add_permissions_in_token",
)
MUTABLE_FIELDS = frozenset({"name", *API_SETTINGS})

MSG_SCOPE_EXISTS = "This API already has the permission {value}."


def _invalidate(api: Api) -> None:
    ttlcache.invalidate(api_cache_key(api.tenant_id, api.identifier))


def _ensure_signing_secret(api: Api) -> None:
    if api.signing_alg == Api.SigningAlgorithm.HS256 and not api.signing_secret_encrypted:
        api.signing_secret_encrypted = crypto.encrypt(secrets.token_urlsafe(48).encode())


@transaction.atomic
def api_create(
    *,
    tenant,
    name: str,
    identifier: str,
    scopes: Mapping[str, str] | None = None,
    actor=None,
    is_system: bool = False,
    **options,
) -> Api:
    """Create an API (resource server) with its scopes ``{value: description}``.

    ``options`` are the API's settings (``signing_alg``, ``token_lifetime``, RBAC flags...).
    Raises ``ValidationError`` for a taken identifier or bad values.
    """
    unknown = set(options) - MUTABLE_FIELDS
    if unknown:
        raise ValidationError(f"Unknown API settings: {', '.join(sorted(unknown))}")
    api = Api(tenant=tenant, name=name, identifier=identifier, is_system=is_system, **options)
    _ensure_signing_secret(api)
    api.full_clean()
    api.save()
    api_scopes_set(api=api, scopes=scopes or {}, actor=actor, audit=False)
    audit_record(tenant=tenant, type=AuditEvent.Type.API_CREATED, actor=actor, target=identifier)
    _invalidate(api)
    return api


@transaction.atomic
def api_update(*, api: Api, actor=None, **changes) -> Api:
    """Change an API's settings. The identifier never changes: issued tokens carry it."""
    assign_changes(api, changes, allowed=MUTABLE_FIELDS, what="an existing API")
    _ensure_signing_secret(api)
    api.full_clean()
    api.save()
    audit_record(
        tenant=api.tenant,
        type=AuditEvent.Type.API_UPDATED,
        actor=actor,
        target=api.identifier,
        data={"changed": sorted(changes)},
    )
    _invalidate(api)
    return api


@transaction.atomic
def api_scopes_set(*, api: Api, scopes: Mapping[str, str], actor=None, audit: bool = True) -> list[Scope]:
    """Make the API's scopes exactly ``scopes``.

    A removed scope is removed everywhere it was given (Auth0: deleting a permission removes it
    from roles, users and grants): from client grants (their ``scopes`` list, here), and from
    roles and users' direct permissions (their rows point at the scope and cascade). The audit
    event names what was removed and which client grants and roles lost it.
    """
    from apps.grants.services import client_grants_drop_scopes

    existing = {scope.value: scope for scope in api.scopes.all()}
    removed = set(existing) - set(scopes)
    changes: dict[str, list[str]] = {}
    result = []
    for value, description in scopes.items():
        scope = existing.get(value) or Scope(tenant_id=api.tenant_id, api=api, value=value)
        scope.description = description or ""
        scope.full_clean(exclude=["api", "tenant"])
        scope.save()
        result.append(scope)
    if removed:
        gone = Scope.objects.filter(api=api, value__in=removed)
        # The rows that point at these scopes (role permissions, user permissions) cascade.
        roles = sorted(set(gone.filter(roles__isnull=False).values_list("roles__name", flat=True)))
        gone.delete()
        changes = {
            "removed": sorted(removed),
            "client_grants_changed": client_grants_drop_scopes(api=api, scopes=removed),
            "roles_changed": roles,
        }
    if audit:
        audit_record(
            tenant=api.tenant,
            type=AuditEvent.Type.API_UPDATED,
            actor=actor,
            target=api.identifier,
            data={"scopes": sorted(scopes), **changes},
        )
    _invalidate(api)
    return result


@transaction.atomic
def api_scope_add(*, api: Api, value: str, description: str = "", actor=None) -> Scope:
    """Add one permission to the API (the portal's "Add a permission"); refuse one it already has.

    ``api_scopes_set`` would silently overwrite an existing scope's description: someone adding a
    permission means a new one, so a taken value is an error (code ``duplicate``).
    """
    current = dict(Api.objects.select_for_update().get(pk=api.pk).scopes.values_list("value", "description"))
    if value in current:
        raise ValidationError(
            {"value": ValidationError(MSG_SCOPE_EXISTS.format(value=value), code="duplicate")}
        )
    scopes = api_scopes_set(api=api, scopes=current | {value: description}, actor=actor)
    return next(scope for scope in scopes if scope.value == value)


@transaction.atomic
def api_scopes_change(
    *, api: Api, descriptions: Mapping[str, str], remove: Iterable[str] = (), actor=None
) -> list[Scope]:
    """Edit descriptions of, and remove, some of the API's scopes; every other scope stays as it is.

    Applied to the scopes as they are now (the row is locked), not to a list read when a page was
    shown: a scope added meanwhile survives. Values the API no longer has are ignored (removing
    twice removes once). Removal goes through ``api_scopes_set``, which takes the scopes from
    client grants, roles and users' permissions.
    """
    current = dict(Api.objects.select_for_update().get(pk=api.pk).scopes.values_list("value", "description"))
    removed = set(remove)
    wanted = {
        value: descriptions.get(value, description)
        for value, description in current.items()
        if value not in removed
    }
    if wanted == current:
        return list(api.scopes.all())
    return api_scopes_set(api=api, scopes=wanted, actor=actor)


@transaction.atomic
def api_delete(*, api: Api, actor=None) -> None:
    """Delete an API and, through the database cascade, its scopes and client grants."""
    if api.is_system:
        raise ValidationError("The Management API is managed by Portcullis and cannot be deleted.")
    audit_record(tenant=api.tenant, type=AuditEvent.Type.API_DELETED, actor=actor, target=api.identifier)
    _invalidate(api)
    api.delete()


def api_signing_secret(*, api: Api, actor=None) -> str:
    """The HS256 shared secret, revealed to the API's developers; each reveal is audited."""
    if not api.signing_secret_encrypted:
        return ""
    audit_record(
        tenant=api.tenant,
        type=AuditEvent.Type.API_SIGNING_SECRET_REVEALED,
        actor=actor,
        target=api.identifier,
    )
    return crypto.decrypt(api.signing_secret_encrypted).decode()
