"""Changes to tenants, their admins and their signing keys.

Signing keys and the config cache
---------------------------------
The token endpoint reads the current key through ``selectors.signing_key_current`` and
our own endpoints verify tokens through ``selectors.signing_key_public``; both are
memoised per process (``apps.core.ttlcache``). Every key change below invalidates exactly
the entries it made stale: at once in the process that made it, and in every other process
within ``settings.CONFIG_SYNC_SECONDS`` when a shared cache (``REDIS_URL``) is configured,
else within ``settings.CONFIG_CACHE_SECONDS`` (the TTL). In that window another process may
still sign with the key that was current, or accept a token signed by a key just revoked.
Signing with the old current key is harmless after a rotation (it is then ``previous``, still
published); after a revocation, that window is the bound on "at once".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core import ttlcache
from apps.core.services import assign_changes
from apps.tenants import crypto, keys
from apps.tenants.models import SigningKey, Tenant, TenantMembership
from apps.tenants.selectors import (
    PUBLISHED_STATES,
    signing_key_cache_key,
    signing_key_public_cache_key,
    tenant_cache_key,
)

MSG_KEY_NOT_FOUND = "This tenant has no signing key with kid {kid!r}."
MSG_KEY_ALREADY_REVOKED = "Signing key {kid!r} is already revoked."
MSG_ALGORITHM_UNKNOWN = "Unknown signing algorithm {algorithm!r}: use one of {choices}."


class SigningKeyErrorCode:
    """``ValidationError.code`` of the signing-key services' refusals (tests assert these)."""

    NOT_FOUND = "not_found"
    ALREADY_REVOKED = "already_revoked"
    INVALID_ALGORITHM = "invalid_algorithm"


@transaction.atomic
def tenant_create(*, slug: str, name: str = "", actor=None) -> Tenant:
    """Create a tenant with a current and a next signing key per algorithm (RS256, ES256).

    The next key is published in JWKS from the start, so verifiers that cache the key set
    already hold it when the first rotation makes it sign.
    Raises ``django.core.exceptions.ValidationError`` for a bad or taken slug.
    """
    tenant = Tenant(slug=slug, name=name or slug)
    tenant.full_clean()
    tenant.save()
    for algorithm in SigningKey.Algorithm.values:
        signing_key_create(tenant=tenant, algorithm=algorithm, state=SigningKey.State.CURRENT, actor=actor)
        signing_key_create(tenant=tenant, algorithm=algorithm, state=SigningKey.State.NEXT, actor=actor)
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


# --- rotation and revocation ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyRotation:
    """What one rotation of one algorithm did, by kid."""

    algorithm: str
    current: str
    next: str
    previous: str | None = None
    retired: tuple[str, ...] = ()
    # False when there was no next key to promote and a never-published key had to sign at once.
    next_was_published: bool = True


@dataclass(frozen=True, slots=True)
class KeyRevocation:
    """What revoking one key did: its former state, and the keys promoted or generated for it."""

    kid: str
    algorithm: str
    state_before: str
    promoted: str | None = None
    generated_next: str | None = None


def _check_algorithm(algorithm: str) -> None:
    if algorithm not in SigningKey.Algorithm.values:
        raise ValidationError(
            MSG_ALGORITHM_UNKNOWN.format(algorithm=algorithm, choices=", ".join(SigningKey.Algorithm.values)),
            code=SigningKeyErrorCode.INVALID_ALGORITHM,
        )


def _lock_tenant_keys(tenant: Tenant) -> None:
    """Serialise key changes per tenant for the rest of the transaction.

    Locking the tenant row (``FOR NO KEY UPDATE``: rows that reference the tenant can still be
    inserted) makes a second rotation or revocation wait and then read the first one's result,
    including the ``next`` key it inserted (row locks on the keys alone would not see new rows).
    """
    Tenant.objects.select_for_update(no_key=True).filter(pk=tenant.pk).values_list("pk").first()


def _published_keys(tenant: Tenant, algorithm: str) -> dict[str, list[SigningKey]]:
    """The published keys of one algorithm by state, oldest first, locked for this transaction."""
    by_state: dict[str, list[SigningKey]] = {state: [] for state in PUBLISHED_STATES}
    rows = (
        SigningKey.objects.for_tenant(tenant)
        .select_for_update()
        .filter(algorithm=algorithm, state__in=PUBLISHED_STATES)
        .order_by("created_at", "pk")
    )
    for key in rows:
        by_state[key.state].append(key)
    return by_state


def _set_state(key: SigningKey, state: str) -> None:
    """Move ``key`` to ``state``; a key that can never sign again loses its private half."""
    key.state = state
    if state in (SigningKey.State.RETIRED, SigningKey.State.REVOKED):
        key.private_key_encrypted = ""
    key.save(update_fields=["state", "private_key_encrypted", "state_changed_at"])


def _invalidate_keys(tenant: Tenant, algorithm: str, unpublished: Iterable[str]) -> None:
    """Which key is current changed; ``unpublished`` kids no longer verify anything."""
    ttlcache.invalidate(
        signing_key_cache_key(tenant.pk, algorithm),
        *(signing_key_public_cache_key(tenant.pk, kid) for kid in unpublished),
    )


@transaction.atomic
def signing_key_rotate(*, tenant: Tenant, algorithm: str | None = None, actor=None) -> list[KeyRotation]:
    """Rotate the tenant's keys for ``algorithm`` (every algorithm when None).

    Per algorithm: the ``previous`` key is retired (unpublished; tokens it signed stop
    verifying), ``current`` becomes ``previous`` (tokens it signed keep verifying), ``next``
    becomes ``current`` (new tokens carry its kid) and a fresh ``next`` is generated and
    published, to sign at the following rotation.

    So a key is published from one rotation before it signs until one rotation after it
    stopped: rotate no more often than (a) your verifiers' JWKS cache lifetime plus the JWKS
    ``max-age`` (``apps.oauth.views.discovery.JWKS_MAX_AGE``), so they hold the next key before
    it signs, and (b) the longest token lifetime of the tenant's APIs (ID tokens included), so
    no unexpired token was signed by the key being retired.

    All-or-nothing (one transaction; the unique "one current key" constraint holds after
    every statement). Audited. Other processes follow within the config-cache window (module
    docstring); until then they sign with the old current key, which is still published.
    Raises ``ValidationError`` (code ``invalid_algorithm``) for an unknown algorithm.
    """
    algorithms = SigningKey.Algorithm.values if algorithm is None else [algorithm]
    for name in algorithms:
        _check_algorithm(name)
    _lock_tenant_keys(tenant)
    return [_rotate_one(tenant=tenant, algorithm=name, actor=actor) for name in algorithms]


def _rotate_one(*, tenant: Tenant, algorithm: str, actor) -> KeyRotation:
    keys_by_state = _published_keys(tenant, algorithm)
    next_was_published = bool(keys_by_state[SigningKey.State.NEXT])
    if next_was_published:
        promoted = keys_by_state[SigningKey.State.NEXT][0]
    else:
        # Only a database edited by hand lacks a next key (tenant_create, the 0002 migration and
        # revocation all keep one). Signing must go on: verifiers that refetch on an unknown kid
        # will find it; those that don't fail until their cache expires. Recorded in the audit.
        promoted = signing_key_create(
            tenant=tenant, algorithm=algorithm, state=SigningKey.State.NEXT, actor=actor
        )
    retired = keys_by_state[SigningKey.State.PREVIOUS]
    for key in retired:
        _set_state(key, SigningKey.State.RETIRED)
    demoted = keys_by_state[SigningKey.State.CURRENT]
    for key in demoted:  # one at most (the constraint); first, so the current slot is free
        _set_state(key, SigningKey.State.PREVIOUS)
    _set_state(promoted, SigningKey.State.CURRENT)
    upcoming = signing_key_create(
        tenant=tenant, algorithm=algorithm, state=SigningKey.State.NEXT, actor=actor
    )
    rotation = KeyRotation(
        algorithm=algorithm,
        current=promoted.kid,
        next=upcoming.kid,
        previous=demoted[0].kid if demoted else None,
        retired=tuple(key.kid for key in retired),
        next_was_published=next_was_published,
    )
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.SIGNING_KEY_ROTATED,
        actor=actor,
        target=promoted.kid,
        data={
            "algorithm": algorithm,
            "current": rotation.current,
            "previous": rotation.previous,
            "retired": list(rotation.retired),
            "next": rotation.next,
            "next_was_published": next_was_published,
        },
    )
    _invalidate_keys(tenant, algorithm, rotation.retired)
    return rotation


@transaction.atomic
def signing_key_revoke(*, tenant: Tenant, kid: str, actor=None) -> KeyRevocation:
    """Revoke a key believed compromised: unpublished from JWKS at once, never to sign again.

    Tokens it signed stop verifying at our own endpoints at once in this process and within
    the config-cache window elsewhere (module docstring); resource servers stop trusting it
    when their cached JWKS expires (the kit: ``JWKS_LIFESPAN``; HTTP caches: the JWKS
    ``max-age``). Whatever the key was, signing never breaks and a next key stays published:

    - ``current``: the ``next`` key becomes current at once (it was already published, so
      verifiers have it) and a fresh ``next`` is generated; ``previous`` is left alone, so
      tokens signed before the compromised key keep verifying;
    - ``next``: a fresh ``next`` is generated in its place;
    - ``previous`` or ``retired``: only marked revoked (a retired key is already unpublished;
      revoking it records the compromise).

    Raises ``ValidationError``: code ``not_found`` for a kid this tenant does not have (another
    tenant's kid included), ``already_revoked`` for a key revoked before.
    """
    _lock_tenant_keys(tenant)
    key = SigningKey.objects.for_tenant(tenant).select_for_update().filter(kid=kid).first()
    if key is None:
        raise ValidationError(MSG_KEY_NOT_FOUND.format(kid=kid), code=SigningKeyErrorCode.NOT_FOUND)
    if key.state == SigningKey.State.REVOKED:
        raise ValidationError(
            MSG_KEY_ALREADY_REVOKED.format(kid=kid), code=SigningKeyErrorCode.ALREADY_REVOKED
        )
    state_before = key.state
    others = _published_keys(tenant, key.algorithm)
    upcoming = [other for other in others[SigningKey.State.NEXT] if other.pk != key.pk]
    promoted: SigningKey | None = None
    generated: SigningKey | None = None
    _set_state(key, SigningKey.State.REVOKED)  # first: frees the current slot when it held it
    if state_before == SigningKey.State.CURRENT:
        if upcoming:
            promoted = upcoming.pop(0)
        else:
            promoted = signing_key_create(
                tenant=tenant, algorithm=key.algorithm, state=SigningKey.State.NEXT, actor=actor
            )
        _set_state(promoted, SigningKey.State.CURRENT)
    if state_before in (SigningKey.State.CURRENT, SigningKey.State.NEXT) and not upcoming:
        generated = signing_key_create(
            tenant=tenant, algorithm=key.algorithm, state=SigningKey.State.NEXT, actor=actor
        )
    revocation = KeyRevocation(
        kid=kid,
        algorithm=key.algorithm,
        state_before=state_before,
        promoted=promoted.kid if promoted else None,
        generated_next=generated.kid if generated else None,
    )
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.SIGNING_KEY_REVOKED,
        actor=actor,
        target=kid,
        data={
            "algorithm": key.algorithm,
            "state_before": state_before,
            "promoted": revocation.promoted,
            "generated_next": revocation.generated_next,
        },
    )
    _invalidate_keys(tenant, key.algorithm, [kid])
    return revocation


# --- re-encryption under the first KEY_ENCRYPTION_KEYS key ----------------------------------------


@dataclass(slots=True)
class ReencryptionCount:
    """Per encrypted column: rows re-encrypted now, rows already under the first key, failures."""

    column: str
    reencrypted: int = 0
    unchanged: int = 0
    undecryptable: list[object] = field(default_factory=list)  # primary keys, never values


def encrypted_values_reencrypt(*, actor=None) -> list[ReencryptionCount]:
    """Re-encrypt every value in ``crypto.ENCRYPTED_FIELDS`` under the first ``KEY_ENCRYPTION_KEYS`` key.

    Idempotent: a value already under the first key is not written, so a second run reports
    only ``unchanged``. Each row is a compare-and-swap update (``WHERE value = old``): no long
    transaction or lock, and a row changed meanwhile (a key rotated out, a secret replaced) was
    written under the first key by that change. A value no configured key decrypts is counted
    in ``undecryptable`` by primary key and left as it is.

    Nothing cached goes stale: the plaintext is unchanged, and a process still holding the
    old ciphertext (the key cache) decrypts it while the old key is configured, which the
    procedure requires until every process has restarted with the new key list.
    """
    counts = []
    for label, column in crypto.ENCRYPTED_FIELDS:
        model = django_apps.get_model(label)
        count = ReencryptionCount(column=f"{label}.{column}")
        rows = model.objects.exclude(**{column: ""}).order_by("pk").values_list("pk", column)
        for pk, value in rows.iterator():
            try:
                new_value = crypto.reencrypt(value)
            except crypto.UndecryptableError:
                count.undecryptable.append(pk)
                continue
            if new_value is None:
                count.unchanged += 1
            elif model.objects.filter(pk=pk, **{column: value}).update(**{column: new_value}):
                count.reencrypted += 1
            else:
                count.unchanged += 1  # changed meanwhile, by a service writing under the first key
        counts.append(count)
    audit_record(
        tenant=None,
        type=AuditEvent.Type.KEY_MATERIAL_REENCRYPTED,
        actor=actor,
        target="KEY_ENCRYPTION_KEYS",
        data={
            count.column: {
                "reencrypted": count.reencrypted,
                "unchanged": count.unchanged,
                "undecryptable": len(count.undecryptable),
            }
            for count in counts
        },
    )
    return counts


# --- tenants and their admins -------------------------------------------------------------------


def membership_add(*, tenant: Tenant, user, role: str = TenantMembership.Role.ADMIN) -> TenantMembership:
    """Make ``user`` a member of ``tenant`` unless they are one (set-up: commands, the demo, tests).

    No audit event and no checks: for accounts being provisioned. What an owner does in the
    portal goes through ``membership_create`` / ``membership_update`` / ``membership_delete``.
    """
    membership, _ = TenantMembership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": role})
    return membership


# --- Members managed in the portal (owners and superusers; the admin checks who may) -----------
MSG_MEMBERSHIP_NOT_PORTAL_ADMIN = (
    "Only portal admins (staff accounts of no tenant) can be members of a tenant."
)
MSG_MEMBERSHIP_EXISTS = "{username} is already a member of this tenant."
MSG_MEMBERSHIP_ROLE_UNKNOWN = "Unknown role {role!r}: use one of {choices}."
MSG_MEMBERSHIP_LAST_OWNER = (
    "{username} is the tenant's last owner. Make another member an owner first: a tenant needs an "
    "owner to manage its members."
)


class MembershipErrorCode:
    """``ValidationError.code`` of the membership services' refusals (tests assert these)."""

    NOT_PORTAL_ADMIN = "not_portal_admin"
    ALREADY_MEMBER = "already_member"
    INVALID_ROLE = "invalid_role"
    LAST_OWNER = "last_owner"


def _check_role(role: str) -> None:
    if role not in TenantMembership.Role.values:
        raise ValidationError(
            MSG_MEMBERSHIP_ROLE_UNKNOWN.format(role=role, choices=", ".join(TenantMembership.Role.values)),
            code=MembershipErrorCode.INVALID_ROLE,
        )


def _lock_memberships(tenant: Tenant) -> None:
    """Serialise membership changes per tenant for the rest of the transaction.

    Two owners demoting each other at once must not both succeed and leave no owner: each
    change waits for the other's and then counts the owners it left.
    """
    Tenant.objects.select_for_update(no_key=True).filter(pk=tenant.pk).values_list("pk").first()


def _refuse_losing_the_last_owner(membership: TenantMembership) -> None:
    """Refuse a change that takes the owner role from the tenant's only owner."""
    if membership.role != TenantMembership.Role.OWNER:
        return
    others = (
        TenantMembership.objects.for_tenant(membership.tenant_id)
        .filter(role=TenantMembership.Role.OWNER)
        .exclude(pk=membership.pk)
    )
    if not others.exists():
        raise ValidationError(
            MSG_MEMBERSHIP_LAST_OWNER.format(username=membership.user.get_username()),
            code=MembershipErrorCode.LAST_OWNER,
        )


def _audit_membership(membership: TenantMembership, *, actor, action: str, **data: Any) -> None:
    # A membership is part of the tenant's configuration: recorded as tenant.updated, naming the member.
    username = membership.user.get_username()
    audit_record(
        tenant=membership.tenant,
        type=AuditEvent.Type.TENANT_UPDATED,
        actor=actor,
        target=username,
        data={"changed": ["members"], "member": username, "action": action, **data},
    )


@transaction.atomic
def membership_create(*, tenant: Tenant, user, role: str, actor=None) -> TenantMembership:
    """Make the portal admin ``user`` a member of ``tenant`` with ``role``. Audited.

    Raises ``ValidationError`` with a code of ``MembershipErrorCode``: ``not_portal_admin`` for an
    end user or a non-staff account, ``already_member``, ``invalid_role``.
    """
    _check_role(role)
    if user.tenant_id is not None or not user.is_staff:
        raise ValidationError(MSG_MEMBERSHIP_NOT_PORTAL_ADMIN, code=MembershipErrorCode.NOT_PORTAL_ADMIN)
    _lock_memberships(tenant)
    if TenantMembership.objects.for_tenant(tenant).filter(user=user).exists():
        raise ValidationError(
            MSG_MEMBERSHIP_EXISTS.format(username=user.get_username()),
            code=MembershipErrorCode.ALREADY_MEMBER,
        )
    membership = TenantMembership.objects.create(tenant=tenant, user=user, role=role)
    _audit_membership(membership, actor=actor, action="added", role=role)
    return membership


@transaction.atomic
def membership_update(*, membership: TenantMembership, role: str, actor=None) -> TenantMembership:
    """Change a member's role. Audited.

    Raises ``ValidationError``: ``invalid_role``; ``last_owner`` when this would leave the tenant
    without an owner.
    """
    _check_role(role)
    _lock_memberships(membership.tenant)
    membership.refresh_from_db(fields=["role"])
    role_before = membership.role
    if role == role_before:
        return membership
    _refuse_losing_the_last_owner(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    _audit_membership(membership, actor=actor, action="role_changed", role=role, role_before=role_before)
    return membership


@transaction.atomic
def membership_delete(*, membership: TenantMembership, actor=None) -> None:
    """Remove a member from the tenant: they no longer see it in the portal. Audited.

    Raises ``ValidationError`` (``last_owner``) for the tenant's only owner.
    """
    _lock_memberships(membership.tenant)
    membership.refresh_from_db(fields=["role"])
    _refuse_losing_the_last_owner(membership)
    _audit_membership(membership, actor=actor, action="removed", role=membership.role)
    membership.delete()


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

    return tenant_setting_replace(
        tenant=tenant,
        key=DYNAMIC_CLIENT_REGISTRATION_SETTING,
        value=bool(enabled),
        actor=actor,
        audit_data={"enabled": bool(enabled)},
    )


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


# --- The tenant's user database name ------------------------------------------------------------
DATABASE_CONNECTION_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,126}[A-Za-z0-9])?$")
MSG_DATABASE_CONNECTION_NAME = (
    "A database name is 1-128 letters, digits, hyphens or underscores, starting and ending with a "
    "letter or digit (like Auth0's Username-Password-Authentication)."
)


# --- Attack protection ---------------------------------------------------------------------------
# Bounds a tenant admin may choose. Auth0's dashboard takes 1-100 attempts for brute-force
# protection; a block or a throttling window longer than a year is a permanent ban in disguise.
BRUTE_FORCE_MAX_ATTEMPTS_LIMIT = 100
ATTACK_PROTECTION_MAX_SECONDS = 365 * 24 * 3600
SUSPICIOUS_IP_MAX_ATTEMPTS_LIMIT = 1_000_000
MSG_ATTEMPTS_OUT_OF_RANGE = "The number of attempts must be a whole number from 1 to {limit}."
MSG_SECONDS_OUT_OF_RANGE = "Durations must be whole numbers of seconds, from 1 to 31536000 (a year)."
MSG_ALLOWLIST_ENTRY_INVALID = "{entry!r} is not an IP address or CIDR range."
MSG_ALLOWLIST_TOO_LONG = "An allowlist holds at most {limit} addresses or ranges."


class AttackProtectionErrorCode:
    """``ValidationError.code`` of the attack-protection settings services' refusals."""

    INVALID_ATTEMPTS = "invalid_attempts"
    INVALID_SECONDS = "invalid_seconds"
    INVALID_ALLOWLIST = "invalid_allowlist"


def _whole_number_in(value: Any, *, limit: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= limit


def attack_protection_allowlist_clean(entries: Iterable[str]) -> list[str]:
    """``entries`` as canonical IPs and CIDR ranges (``10.0.0.0/8``, ``2001:db8::1``), deduplicated.

    Raises ``ValidationError`` (code ``invalid_allowlist``) for an entry that is neither, or
    for more than Auth0's 100 entries.
    """
    from apps.core.client_ip import ip_networks_parse
    from apps.tenants.selectors import ATTACK_PROTECTION_ALLOWLIST_MAX

    cleaned: list[str] = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            (network,) = ip_networks_parse([entry])
        except ValueError:
            raise ValidationError(
                MSG_ALLOWLIST_ENTRY_INVALID.format(entry=entry),
                code=AttackProtectionErrorCode.INVALID_ALLOWLIST,
            ) from None
        text = str(network.network_address) if network.num_addresses == 1 else str(network)
        if text not in cleaned:
            cleaned.append(text)
    if len(cleaned) > ATTACK_PROTECTION_ALLOWLIST_MAX:
        raise ValidationError(
            MSG_ALLOWLIST_TOO_LONG.format(limit=ATTACK_PROTECTION_ALLOWLIST_MAX),
            code=AttackProtectionErrorCode.INVALID_ALLOWLIST,
        )
    return cleaned


@transaction.atomic
def tenant_setting_replace(
    *, tenant: Tenant, key: str, value: Any, actor, audit_data: dict[str, Any] | None = None
) -> Tenant:
    """Replace one key of ``Tenant.settings`` on the locked row (other keys kept: a concurrent change
    to another setting is not lost), record it as ``tenant.updated`` and invalidate the config cache.

    The one writer of tenant settings; each setting's service validates its value and calls it
    inside its transaction.
    """
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    stored = dict(locked.settings or {})
    stored[key] = value
    Tenant.objects.filter(pk=tenant.pk).update(settings=stored)
    tenant.settings = stored
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.TENANT_UPDATED,
        actor=actor,
        target=tenant.slug,
        data={"changed": [f"settings.{key}"]} | (audit_data if audit_data is not None else {key: value}),
    )
    # Sign-ins read the tenant (and so these settings) through the config cache.
    ttlcache.invalidate(tenant_cache_key(tenant.slug))
    return tenant


@transaction.atomic
def tenant_database_connection_set(*, tenant: Tenant, name: str, actor=None) -> Tenant:
    """Rename the tenant's user database: the ``realm`` the password-realm grant must name."""
    from apps.tenants.selectors import DATABASE_CONNECTION_SETTING

    if not DATABASE_CONNECTION_NAME_RE.match(name or ""):
        raise ValidationError(MSG_DATABASE_CONNECTION_NAME, code="invalid_database_connection_name")
    return tenant_setting_replace(tenant=tenant, key=DATABASE_CONNECTION_SETTING, value=name, actor=actor)


@transaction.atomic
def tenant_brute_force_protection_set(
    *,
    tenant: Tenant,
    enabled: bool,
    max_attempts: int,
    block_duration_seconds: int,
    allowlist: Iterable[str] = (),
    actor=None,
) -> Tenant:
    """Configure brute-force protection (Auth0: Security > Attack Protection > Brute-force Protection).

    Takes effect at the next sign-in in this process, within ``CONFIG_CACHE_SECONDS`` elsewhere.
    Blocks already in place keep their expiry. Raises ``ValidationError`` with a code of
    ``AttackProtectionErrorCode``.
    """
    from apps.tenants.selectors import BRUTE_FORCE_SETTINGS_KEY

    if not _whole_number_in(max_attempts, limit=BRUTE_FORCE_MAX_ATTEMPTS_LIMIT):
        raise ValidationError(
            MSG_ATTEMPTS_OUT_OF_RANGE.format(limit=BRUTE_FORCE_MAX_ATTEMPTS_LIMIT),
            code=AttackProtectionErrorCode.INVALID_ATTEMPTS,
        )
    if not _whole_number_in(block_duration_seconds, limit=ATTACK_PROTECTION_MAX_SECONDS):
        raise ValidationError(MSG_SECONDS_OUT_OF_RANGE, code=AttackProtectionErrorCode.INVALID_SECONDS)
    value = {
        "enabled": bool(enabled),
        "max_attempts": max_attempts,
        "block_duration_seconds": block_duration_seconds,
        "allowlist": attack_protection_allowlist_clean(allowlist),
    }
    return tenant_setting_replace(tenant=tenant, key=BRUTE_FORCE_SETTINGS_KEY, value=value, actor=actor)


@transaction.atomic
def tenant_suspicious_ip_throttling_set(
    *,
    tenant: Tenant,
    enabled: bool,
    max_attempts: int,
    window_seconds: int,
    allowlist: Iterable[str] = (),
    actor=None,
) -> Tenant:
    """Configure suspicious-IP throttling (Auth0: Security > Attack Protection > Suspicious IP Throttling).

    Counting restarts only when a window ends: lowering ``max_attempts`` can throttle an IP at
    once. Raises ``ValidationError`` with a code of ``AttackProtectionErrorCode``.
    """
    from apps.tenants.selectors import SUSPICIOUS_IP_SETTINGS_KEY

    if not _whole_number_in(max_attempts, limit=SUSPICIOUS_IP_MAX_ATTEMPTS_LIMIT):
        raise ValidationError(
            MSG_ATTEMPTS_OUT_OF_RANGE.format(limit=SUSPICIOUS_IP_MAX_ATTEMPTS_LIMIT),
            code=AttackProtectionErrorCode.INVALID_ATTEMPTS,
        )
    if not _whole_number_in(window_seconds, limit=ATTACK_PROTECTION_MAX_SECONDS):
        raise ValidationError(MSG_SECONDS_OUT_OF_RANGE, code=AttackProtectionErrorCode.INVALID_SECONDS)
    value = {
        "enabled": bool(enabled),
        "max_attempts": max_attempts,
        "window_seconds": window_seconds,
        "allowlist": attack_protection_allowlist_clean(allowlist),
    }
    return tenant_setting_replace(tenant=tenant, key=SUSPICIOUS_IP_SETTINGS_KEY, value=value, actor=actor)
