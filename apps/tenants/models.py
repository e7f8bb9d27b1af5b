"""Tenants, the portal admins who manage them, and each tenant's signing keys."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from apps.core.models import TenantOwned

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
    "Use 1-63 lowercase letters, digits or hyphens; start and end with a letter or digit.",
)


class Tenant(models.Model):
    """An isolated authorization server: its own issuer ``/t/<slug>/``, keys, APIs, apps and users."""

    slug = models.CharField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    # Auth0's tenant "Default Audience": used when a token request names no audience.
    default_audience = models.CharField(max_length=600, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class TenantMembership(TenantOwned):
    """A portal admin's right to work in one tenant of the portal (``/admin/``), with a role.

    The role decides what the member may do there (``apps.dashboard.admin_base``): owners
    change everything and manage the tenant's members; admins change everything but the
    members; read-only members see everything and change nothing. Superusers need no
    membership: they may do everything in every tenant.
    """

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        READ_ONLY = "read_only", "Read-only"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ADMIN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="uniq_membership")]
        # As the portal names them (Auth0: "Tenant Members").
        verbose_name = "member"
        verbose_name_plural = "members"

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant}"


class SigningKey(TenantOwned):
    """An asymmetric key that signs a tenant's tokens; the private half is encrypted at rest.

    Lifecycle (``apps.tenants.services``): ``next`` (published in JWKS so verifiers can
    pre-fetch it before it signs) -> ``current`` (signs; at most one per tenant and
    algorithm) -> ``previous`` (still published, so tokens it signed keep verifying) ->
    ``retired`` (rotated out in the ordinary way: unpublished). ``revoked`` is for a key
    believed compromised, from any state: unpublished at once, and tokens it signed stop
    verifying. Retired and revoked keys never sign again, so their private half is erased.
    """

    class Algorithm(models.TextChoices):
        RS256 = "RS256", "RS256 (RSA 2048, SHA-256)"
        ES256 = "ES256", "ES256 (P-256, SHA-256)"

    class State(models.TextChoices):
        NEXT = "next", "Next"
        CURRENT = "current", "Current"
        PREVIOUS = "previous", "Previous"
        RETIRED = "retired", "Retired"
        REVOKED = "revoked", "Revoked"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="signing_keys")
    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=8, choices=Algorithm.choices)
    state = models.CharField(max_length=10, choices=State.choices)
    # Empty once the key is retired or revoked (it can never sign again).
    private_key_encrypted = models.TextField(editable=False, blank=True)
    public_jwk = models.JSONField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "algorithm", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "algorithm"],
                condition=models.Q(state="current"),
                name="one_current_key_per_tenant_algorithm",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.algorithm}, {self.state})"
