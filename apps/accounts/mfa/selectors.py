"""Reads about MFA: the tenant's policy and whether a user has (or needs) a second factor."""

from __future__ import annotations

from django.db import models

from apps.accounts.models import MfaAuthenticator

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
