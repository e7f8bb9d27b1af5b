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


# --- Refresh-token lifetimes ---------------------------------------------------------------------
# Auth0 caps the absolute lifetime at a year; so do we (a refresh token is a long-lived credential).
REFRESH_TOKEN_LIFETIME_MAX_SECONDS = 31_557_600
MSG_REFRESH_LIFETIME_NOT_POSITIVE = "Refresh-token lifetimes must be whole numbers of seconds, at least 1."
MSG_REFRESH_LIFETIME_TOO_LONG = "Refresh-token lifetimes can be at most 31557600 seconds (one year)."
MSG_REFRESH_INACTIVITY_ABOVE_ABSOLUTE = (
    "The inactivity lifetime cannot be longer than the absolute lifetime of refresh tokens."
)


@transaction.atomic
def tenant_refresh_token_lifetimes_set(
    *, tenant: Tenant, absolute_seconds: int, inactivity_seconds: int, actor=None
) -> Tenant:
    """Set a tenant's refresh-token absolute and inactivity lifetimes (Auth0's rotation settings).

    They apply to refresh tokens already issued too: they are checked when a token is presented,
    from its family's start and its own creation. Raises ``ValidationError`` (with a ``code``)
    for a value that is not a positive integer, above a year, or an inactivity lifetime above
    the absolute one. Other keys of ``Tenant.settings`` are kept (read under a row lock).
    """
    from django.core.exceptions import ValidationError

    from apps.tenants.selectors import (
        REFRESH_TOKEN_ABSOLUTE_KEY,
        REFRESH_TOKEN_INACTIVITY_KEY,
        REFRESH_TOKEN_SETTINGS_KEY,
    )

    for value in (absolute_seconds, inactivity_seconds):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValidationError(MSG_REFRESH_LIFETIME_NOT_POSITIVE, code="not_positive")
        if value > REFRESH_TOKEN_LIFETIME_MAX_SECONDS:
            raise ValidationError(MSG_REFRESH_LIFETIME_TOO_LONG, code="too_long")
    if inactivity_seconds > absolute_seconds:
        raise ValidationError(MSG_REFRESH_INACTIVITY_ABOVE_ABSOLUTE, code="inactivity_above_absolute")
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    stored = dict(locked.settings or {})
    stored[REFRESH_TOKEN_SETTINGS_KEY] = {
        **(stored.get(REFRESH_TOKEN_SETTINGS_KEY) or {}),
        REFRESH_TOKEN_ABSOLUTE_KEY: absolute_seconds,
        REFRESH_TOKEN_INACTIVITY_KEY: inactivity_seconds,
    }
    Tenant.objects.filter(pk=tenant.pk).update(settings=stored)
    tenant.settings = stored
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.TENANT_UPDATED,
        actor=actor,
        target=tenant.slug,
        data={
            "changed": [REFRESH_TOKEN_SETTINGS_KEY],
            REFRESH_TOKEN_ABSOLUTE_KEY: absolute_seconds,
            REFRESH_TOKEN_INACTIVITY_KEY: inactivity_seconds,
        },
    )
    # The token path reads the tenant (and so these settings) through the TTL cache.
    ttlcache.invalidate(tenant_cache_key(tenant.slug))
    return tenant
