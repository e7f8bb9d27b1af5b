"""Reads of tenants and their signing keys. Token-path reads go through the TTL cache."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import jwt
from django.db.models import QuerySet

from apps.core import ttlcache
from apps.tenants import keys
from apps.tenants.models import SigningKey, Tenant, TenantMembership

PUBLISHED_STATES = (SigningKey.State.NEXT, SigningKey.State.CURRENT, SigningKey.State.PREVIOUS)


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


# --- Portal memberships: who may work in which tenant, and what their role lets them do -----------
# Roles whose members change a tenant's configuration (read-only members only look).
WRITER_ROLES = frozenset({TenantMembership.Role.OWNER, TenantMembership.Role.ADMIN})
# Roles whose members also manage the tenant's members (add, remove, change roles).
MEMBER_MANAGER_ROLES = frozenset({TenantMembership.Role.OWNER})


def memberships_for_user(*, user) -> list[TenantMembership]:
    """The user's memberships with their tenants, by tenant slug: one query.

    What the portal reads once per request (``apps.dashboard.portal.portal_access``): which
    tenants the user may work in, and their role in each.
    """
    if not getattr(user, "pk", None):
        return []
    return list(TenantMembership.objects.filter(user=user).select_related("tenant").order_by("tenant__slug"))


def portal_admin_get_by_username(*, username: str):
    """The active portal admin (a staff user of no tenant) with this username, or None.

    End users of tenants have a tenant and are never portal members.
    """
    from django.contrib.auth import get_user_model

    return (
        get_user_model()
        .objects.filter(tenant=None, is_staff=True, is_active=True, username__iexact=username.strip())
        .first()
    )


@dataclass(frozen=True, slots=True)
class ActiveSigningKey:
    kid: str
    algorithm: str
    private_key: keys.PrivateKey = field(repr=False)


@dataclass(frozen=True, slots=True)
class PublishedKey:
    kid: str
    algorithm: str
    public_key: Any


def signing_key_public_cache_key(tenant_id: int, kid: str) -> tuple:
    return ("signing_key_public", tenant_id, kid)


def signing_key_public(*, tenant_id: int, kid: str) -> PublishedKey | None:
    """A key this tenant publishes in its JWKS (next, current or previous), to verify its own tokens."""

    def load() -> PublishedKey | None:
        row = (
            SigningKey.objects.for_tenant(tenant_id)
            .filter(kid=kid, state__in=PUBLISHED_STATES)
            .values_list("algorithm", "public_jwk")
            .first()
        )
        if row is None:
            return None
        algorithm, public_jwk = row
        return PublishedKey(kid=kid, algorithm=algorithm, public_key=jwt.PyJWK(public_jwk).key)

    return ttlcache.get_or_load(signing_key_public_cache_key(tenant_id, kid), load)


def signing_key_current(*, tenant_id: int, algorithm: str) -> ActiveSigningKey | None:
    """The key that signs this tenant's tokens for ``algorithm``.

    Which key is current is memoised for the TTL; the decrypted key object is kept per
    ``kid`` (a kid's key material never changes) in a bounded LRU, so a TTL expiry costs one
    indexed query, not a Fernet decryption and a PEM parse.
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
    rows = (
        SigningKey.objects.for_tenant(tenant)
        .filter(state__in=PUBLISHED_STATES)
        .order_by("algorithm", "created_at")
    )
    public_members = {"kty", "use", "alg", "kid", "n", "e", "crv", "x", "y"}
    return {"keys": [{k: v for k, v in row.public_jwk.items() if k in public_members} for row in rows]}


# --- Tenant settings (``Tenant.settings``, a JSON object) ---------------------------------
# Auth0's tenant flag of the same name: open RFC 7591 registration at /t/<slug>/oidc/register.
DYNAMIC_CLIENT_REGISTRATION_SETTING = "enable_dynamic_client_registration"


def tenant_dynamic_registration_enabled(*, tenant: Tenant) -> bool:
    """Whether anyone may register a client in ``tenant`` (off unless a tenant admin turned it on).

    Only a JSON ``true`` counts: a hand-edited ``"yes"`` or ``1`` leaves registration closed.
    """
    return (tenant.settings or {}).get(DYNAMIC_CLIENT_REGISTRATION_SETTING) is True


# --- Refresh-token lifetimes (Auth0's refresh token rotation settings) ----------------------------
# Stored in ``Tenant.settings["refresh_token"]`` under Auth0's names (its applications'
# ``refresh_token`` object): ``token_lifetime`` (absolute) and ``idle_token_lifetime`` (inactivity).
REFRESH_TOKEN_SETTINGS_KEY = "refresh_token"
REFRESH_TOKEN_ABSOLUTE_KEY = "token_lifetime"
REFRESH_TOKEN_INACTIVITY_KEY = "idle_token_lifetime"


@dataclass(frozen=True, slots=True)
class RefreshTokenLifetimes:
    """How long a tenant's refresh tokens may be used, in seconds.

    ``absolute_seconds`` counts from the start of the token's family (the first token of a sign-in;
    rotation does not extend it); ``inactivity_seconds`` from the presented token's creation (each
    rotation issues a new token, so a session in use never idles out).
    """

    absolute_seconds: int
    inactivity_seconds: int


def refresh_token_lifetimes_default() -> RefreshTokenLifetimes:
    """The settings module's defaults (Auth0's: 30 days absolute, 15 days inactivity)."""
    from django.conf import settings

    return RefreshTokenLifetimes(
        absolute_seconds=settings.REFRESH_TOKEN_ABSOLUTE_LIFETIME_SECONDS,
        inactivity_seconds=settings.REFRESH_TOKEN_INACTIVITY_LIFETIME_SECONDS,
    )


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def refresh_token_lifetimes_of(tenant_settings: Any) -> RefreshTokenLifetimes:
    """The lifetimes a tenant's ``settings`` JSON says, each falling back to the default when absent.

    Tolerant on purpose: this runs on the refresh path, and a value that is not a positive integer
    (written by hand, outside ``tenant_refresh_token_lifetimes_set``) means the default, never a 500.
    """
    default = refresh_token_lifetimes_default()
    stored = tenant_settings.get(REFRESH_TOKEN_SETTINGS_KEY) if isinstance(tenant_settings, dict) else None
    if not isinstance(stored, dict):
        return default
    return RefreshTokenLifetimes(
        absolute_seconds=_positive_int(stored.get(REFRESH_TOKEN_ABSOLUTE_KEY)) or default.absolute_seconds,
        inactivity_seconds=_positive_int(stored.get(REFRESH_TOKEN_INACTIVITY_KEY))
        or default.inactivity_seconds,
    )


def tenant_refresh_token_lifetimes(*, tenant: Tenant) -> RefreshTokenLifetimes:
    """A tenant's refresh-token lifetimes, read from the (cached) tenant instance: no query."""
    return refresh_token_lifetimes_of(tenant.settings)


def refresh_token_lifetimes_overridden() -> dict[int, RefreshTokenLifetimes]:
    """Tenant id -> lifetimes, for the tenants that set their own (every other tenant has the default).

    For the cleanup, which needs every tenant's cut-off without reading every tenant.
    """
    rows = Tenant.objects.filter(settings__has_key=REFRESH_TOKEN_SETTINGS_KEY).values_list("pk", "settings")
    return {pk: refresh_token_lifetimes_of(tenant_settings) for pk, tenant_settings in rows}


# --- The tenant's user database (Auth0's "database connection") ----------------------------------
# Its name is the ``realm`` of Auth0's password-realm grant.
DEFAULT_DATABASE_CONNECTION = "Username-Password-Authentication"
DATABASE_CONNECTION_SETTING = "database_connection_name"


def tenant_database_connection(*, tenant: Tenant) -> str:
    """The name of the tenant's user database, read from the (cached) tenant instance: no query."""
    name = (tenant.settings or {}).get(DATABASE_CONNECTION_SETTING)
    return name if isinstance(name, str) and name else DEFAULT_DATABASE_CONNECTION


# --- Attack protection (Auth0's "Brute-force protection" and "Suspicious IP throttling") ---------
# Stored in ``Tenant.settings`` under the names of Auth0's Management API objects
# (/api/v2/attack-protection/brute-force-protection and .../suspicious-ip-throttling):
#   "brute_force_protection":   {"enabled", "max_attempts", "allowlist", "block_duration_seconds"}
#   "suspicious_ip_throttling": {"enabled", "max_attempts", "window_seconds", "allowlist"}
# ``block_duration_seconds`` and ``window_seconds`` are ours: Auth0 fixes a block's lifetime at
# 30 days and expresses the throttle as a refill rate ("max_attempts" per day, stage "pre-login").
BRUTE_FORCE_SETTINGS_KEY = "brute_force_protection"
SUSPICIOUS_IP_SETTINGS_KEY = "suspicious_ip_throttling"
# Auth0's defaults: 10 consecutive failures per account and IP; a block lapses after 30 days.
# A block stops only one IP (the account stays usable from any other), so Auth0's long lifetime
# costs the owner little, while an attacker at that IP gets 10 guesses a month instead of 10 a day.
BRUTE_FORCE_MAX_ATTEMPTS_DEFAULT = 10
BRUTE_FORCE_BLOCK_SECONDS_DEFAULT = 30 * 24 * 3600
# Auth0's pre-login stage: 100 failed attempts per IP per day, across all accounts.
SUSPICIOUS_IP_MAX_ATTEMPTS_DEFAULT = 100
SUSPICIOUS_IP_WINDOW_SECONDS_DEFAULT = 24 * 3600
# Auth0 accepts at most 100 allowlist entries per protection.
ATTACK_PROTECTION_ALLOWLIST_MAX = 100


@dataclass(frozen=True, slots=True)
class BruteForceProtection:
    """Per account and IP: after ``max_attempts`` consecutive failures that IP is blocked for the
    account (``too_many_attempts``, even with the right password) for ``block_duration_seconds``,
    unless an admin unblocks it or the password is changed first. ``allowlist``: exempt IPs/CIDRs."""

    enabled: bool = True
    max_attempts: int = BRUTE_FORCE_MAX_ATTEMPTS_DEFAULT
    block_duration_seconds: int = BRUTE_FORCE_BLOCK_SECONDS_DEFAULT
    allowlist: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SuspiciousIpThrottling:
    """Per IP, across accounts: after ``max_attempts`` failed sign-ins in a window of
    ``window_seconds`` every attempt from that IP is refused with 429 and ``Retry-After`` until the
    window ends. ``allowlist``: exempt IPs/CIDRs."""

    enabled: bool = True
    max_attempts: int = SUSPICIOUS_IP_MAX_ATTEMPTS_DEFAULT
    window_seconds: int = SUSPICIOUS_IP_WINDOW_SECONDS_DEFAULT
    allowlist: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AttackProtection:
    brute_force: BruteForceProtection
    suspicious_ip: SuspiciousIpThrottling


def _allowlist_of(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(entry for entry in value if isinstance(entry, str))


def attack_protection_of(tenant_settings: Any) -> AttackProtection:
    """The protections a tenant's ``settings`` JSON says, each value falling back to its default.

    Tolerant like ``refresh_token_lifetimes_of``: it runs on every sign-in, and a hand-edited
    value of the wrong type means the default (protection on), never a 500. Only a JSON ``false``
    turns a protection off.
    """
    stored = tenant_settings if isinstance(tenant_settings, dict) else {}
    brute = stored.get(BRUTE_FORCE_SETTINGS_KEY)
    brute = brute if isinstance(brute, dict) else {}
    throttle = stored.get(SUSPICIOUS_IP_SETTINGS_KEY)
    throttle = throttle if isinstance(throttle, dict) else {}
    return AttackProtection(
        brute_force=BruteForceProtection(
            enabled=brute.get("enabled") is not False,
            max_attempts=_positive_int(brute.get("max_attempts")) or BRUTE_FORCE_MAX_ATTEMPTS_DEFAULT,
            block_duration_seconds=_positive_int(brute.get("block_duration_seconds"))
            or BRUTE_FORCE_BLOCK_SECONDS_DEFAULT,
            allowlist=_allowlist_of(brute.get("allowlist")),
        ),
        suspicious_ip=SuspiciousIpThrottling(
            enabled=throttle.get("enabled") is not False,
            max_attempts=_positive_int(throttle.get("max_attempts")) or SUSPICIOUS_IP_MAX_ATTEMPTS_DEFAULT,
            window_seconds=_positive_int(throttle.get("window_seconds"))
            or SUSPICIOUS_IP_WINDOW_SECONDS_DEFAULT,
            allowlist=_allowlist_of(throttle.get("allowlist")),
        ),
    )


def tenant_attack_protection(*, tenant: Tenant) -> AttackProtection:
    """A tenant's attack-protection settings, read from the (cached) tenant instance: no query."""
    return attack_protection_of(tenant.settings)
