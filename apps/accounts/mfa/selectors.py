"""Reads about MFA: the tenant's policy and whether a user has (or needs) a second factor."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyotp
from django.db import models

from apps.accounts.models import MfaAuthenticator
from apps.tenants import crypto

# Kept in ``Tenant.settings`` under this key (read from the cached tenant: no query).
MFA_POLICY_SETTING = "mfa_policy"


class MfaPolicy(models.TextChoices):
    """Who must prove a second factor when signing in to a tenant."""

    NEVER = "never", "Never (MFA is off: no enrolment, no challenge)"
    OPTIONAL = "optional", "Per user (users who enrolled are challenged; users may enrol)"
    ALWAYS = "always", "Always (every user; users without an authenticator enrol at their next sign-in)"


MFA_POLICY_DEFAULT = MfaPolicy.OPTIONAL


def mfa_policy(*, tenant) -> MfaPolicy:
    """The tenant's MFA policy; anything but a known value (a hand-edited setting) is the default."""
    value = (tenant.settings or {}).get(MFA_POLICY_SETTING)
    return MfaPolicy(value) if value in MfaPolicy.values else MFA_POLICY_DEFAULT


def mfa_enrolled(*, user) -> bool:
    """Whether ``user`` has a confirmed authenticator (an associated but unconfirmed one does not count)."""
    return MfaAuthenticator.objects.filter(
        tenant_id=user.tenant_id, user=user, confirmed_at__isnull=False
    ).exists()


def mfa_needed(*, tenant, user) -> bool:
    """Whether a sign-in of ``user`` needs a second factor: policy ALWAYS, or OPTIONAL and enrolled."""
    policy = mfa_policy(tenant=tenant)
    if policy == MfaPolicy.NEVER:
        return False
    if policy == MfaPolicy.ALWAYS:
        return True
    return mfa_enrolled(user=user)


def authenticator_list(*, tenant, user, confirmed_only: bool = False) -> list[MfaAuthenticator]:
    """The user's authenticators in this tenant, oldest first (the secret column is not read)."""
    rows = MfaAuthenticator.objects.for_tenant(tenant).filter(user=user).defer("secret_encrypted")
    if confirmed_only:
        rows = rows.filter(confirmed_at__isnull=False)
    return list(rows)


def totp_barcode_uri(*, tenant, user, secret: str) -> str:
    """``otpauth://totp/<issuer>:<username>?secret=…&issuer=…`` (the Key Uri Format apps scan).

    The issuer label is the tenant's name: what the user sees next to the code in their app.
    """
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=tenant.name or tenant.slug)


@dataclass(frozen=True, slots=True)
class PendingEnrolment:
    """An associated, not yet confirmed authenticator: its secret is still the user's to scan."""

    authenticator_id: int
    secret: str = field(repr=False)
    barcode_uri: str = field(repr=False)


def pending_enrolment(*, tenant, user) -> PendingEnrolment | None:
    """The user's newest unconfirmed authenticator, with its secret, for the enrolment pages.

    Only unconfirmed secrets are ever read back: a confirmed authenticator's secret is never shown.
    """
    row = (
        MfaAuthenticator.objects.for_tenant(tenant)
        .filter(user=user, confirmed_at__isnull=True)
        .order_by("-created_at", "-pk")
        .first()
    )
    if row is None:
        return None
    secret = crypto.decrypt(row.secret_encrypted).decode()
    return PendingEnrolment(
        authenticator_id=row.pk,
        secret=secret,
        barcode_uri=totp_barcode_uri(tenant=tenant, user=user, secret=secret),
    )
