"""Changes to tenants, their admins and their signing keys."""

from __future__ import annotations

from django.db import transaction

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core import ttlcache
from apps.core.services import assign_changes
from apps.tenants import keys
from apps.tenants.models import SigningKey, Tenant, TenantMembership
from apps.tenants.selectors import signing_key_cache_key, signing_key_public_cache_key, tenant_cache_key


@transaction.atomic
def tenant_create(*, slug: str, name: str = "", actor=None) -> Tenant:
    """Create a tenant with a current RS256 and ES256 signing key.

    Raises ``django.core.exceptions.ValidationError`` for a bad or taken slug.
    """
    tenant = Tenant(slug=slug, name=name or slug)
    tenant.full_clean()
    tenant.save()
    for algorithm in SigningKey.Algorithm.values:
        signing_key_create(tenant=tenant, algorithm=algorithm, state=SigningKey.State.CURRENT, actor=actor)
    audit_record(tenant=tenant, type=AuditEvent.Type.TENANT_CREATED, actor=actor, target=tenant.slug)
    ttlcache.invalidate(tenant_cache_key(slug))
    return tenant


def signing_key_create(*, tenant: Tenant, algorithm: str, state: str, actor=None) -> SigningKey:
    generated = keys.generate(algorithm)
    key = SigningKey.objects.create(
        tenant=tenant,
        kid=generated.kid,
        algorithm=algorithm,
        state=state,
        private_key_encrypted=generated.private_key_encrypted,
        public_jwk=generated.public_jwk,
    )
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.SIGNING_KEY_CREATED,
        actor=actor,
        target=key.kid,
        data={"algorithm": algorithm, "state": state},
    )
    # The new kid may have been looked up (and cached as unknown) by a token verification.
    ttlcache.invalidate(
        signing_key_cache_key(tenant.pk, algorithm), signing_key_public_cache_key(tenant.pk, key.kid)
    )
    return key


def membership_add(*, tenant: Tenant, user, role: str = TenantMembership.Role.ADMIN) -> TenantMembership:
    membership, _ = TenantMembership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": role})
    return membership


TENANT_MUTABLE_FIELDS = frozenset({"name", "default_audience"})


@transaction.atomic
def tenant_update(*, tenant: Tenant, actor=None, **changes) -> Tenant:
    """Change a tenant's display name or default audience. The slug never changes: it is in the issuer.

    Raises ``django.core.exceptions.ValidationError`` for other fields or bad values.
    """
    assign_changes(tenant, changes, allowed=TENANT_MUTABLE_FIELDS, what="a tenant")
    tenant.full_clean()
    tenant.save()
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.TENANT_UPDATED,
        actor=actor,
        target=tenant.slug,
        data={"changed": sorted(changes)},
    )
    # The token path reads the tenant (default audience) through the TTL cache.
    ttlcache.invalidate(tenant_cache_key(tenant.slug))
    return tenant


@transaction.atomic
def tenant_dynamic_registration_set(*, tenant: Tenant, enabled: bool, actor=None) -> Tenant:
    """Open or close RFC 7591 dynamic client registration for ``tenant``.

    Rewrites only this key of ``Tenant.settings``, on the row locked for the update, so a
    concurrent change to another setting is not lost. Processes serving ``request.tenant``
    from the config cache see the change within ``CONFIG_CACHE_SECONDS`` (at once here).
    """
    from apps.tenants.selectors import DYNAMIC_CLIENT_REGISTRATION_SETTING

    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    settings = dict(locked.settings or {})
    settings[DYNAMIC_CLIENT_REGISTRATION_SETTING] = bool(enabled)
    Tenant.objects.filter(pk=tenant.pk).update(settings=settings)
    tenant.settings = settings
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.TENANT_UPDATED,
        actor=actor,
        target=tenant.slug,
        data={"changed": [f"settings.{DYNAMIC_CLIENT_REGISTRATION_SETTING}"], "enabled": bool(enabled)},
    )
    ttlcache.invalidate(tenant_cache_key(tenant.slug))
    return tenant
