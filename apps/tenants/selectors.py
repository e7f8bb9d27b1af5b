"""Reads of tenants and their signing keys. Token-path reads go through the TTL cache."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db.models import QuerySet

from apps.core import ttlcache
from apps.tenants import keys
from apps.tenants.models import SigningKey, Tenant


def tenant_cache_key(slug: str) -> tuple:
    """The config-cache key of a tenant; services invalidate exactly what selectors memoise."""
    return ("tenant", slug)


def signing_key_cache_key(tenant_id: int, algorithm: str) -> tuple:
    return ("signing_key", tenant_id, algorithm)


def tenant_get_by_slug(*, slug: str) -> Tenant | None:
    """The tenant for a URL slug, memoised briefly (every tenant request resolves one)."""
    return ttlcache.get_or_load(tenant_cache_key(slug), lambda: Tenant.objects.filter(slug=slug).first())


def tenants_for_user(*, user) -> QuerySet[Tenant]:
    """Tenants a portal user may manage: all for superusers, their memberships otherwise."""
    if user.is_superuser:
        return Tenant.objects.all()
    return Tenant.objects.filter(memberships__user=user)


@dataclass(frozen=True, slots=True)
class ActiveSigningKey:
    kid: str
    algorithm: str
    private_key: keys.PrivateKey


def signing_key_current(*, tenant_id: int, algorithm: str) -> ActiveSigningKey | None:
    """The key that signs this tenant's tokens for ``algorithm``.

    Which key is current is memoised for the TTL; the decrypted key object is kept per
    ``kid`` for the life of the process (a kid's key material never changes, and parsing
    an RSA key costs ~50 ms, which would otherwise stall a worker at every TTL expiry).
    """

    def load() -> tuple[str, str] | None:
        return (
            SigningKey.objects.for_tenant(tenant_id)
            .filter(algorithm=algorithm, state=SigningKey.State.CURRENT)
            .values_list("kid", "private_key_encrypted")
            .first()
        )

    row = ttlcache.get_or_load(signing_key_cache_key(tenant_id, algorithm), load)
    if row is None:
        return None
    kid, private_key_encrypted = row
    return _decrypted_key(kid, algorithm, private_key_encrypted)


@functools.lru_cache(maxsize=1024)
def _decrypted_key(kid: str, algorithm: str, private_key_encrypted: str) -> ActiveSigningKey:
    return ActiveSigningKey(
        kid=kid, algorithm=algorithm, private_key=keys.load_private_key(private_key_encrypted)
    )


def signing_key_jwks(*, tenant: Tenant) -> dict:
    """RFC 7517 JWK Set of the keys verifiers should trust: next, current and previous.

    Built only from the stored public JWK: private members can never leak into it.
    """
    published = (SigningKey.State.NEXT, SigningKey.State.CURRENT, SigningKey.State.PREVIOUS)
    rows = (
        SigningKey.objects.for_tenant(tenant).filter(state__in=published).order_by("algorithm", "created_at")
    )
    public_members = {"kty", "use", "alg", "kid", "n", "e", "crv", "x", "y"}
    return {"keys": [{k: v for k, v in row.public_jwk.items() if k in public_members} for row in rows]}
