"""One user table for portal admins (no tenant) and each tenant's end users."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower

from apps.core.models import TenantOwned


class User(AbstractUser):
    """A person who signs in.

    ``tenant`` is empty for portal admins (they sign in at ``/admin/``) and set for a
    tenant's end users (they sign in at ``/t/<tenant>/login``). Usernames are unique
    within a tenant, and among portal admins, case-insensitively.
    """

    username = models.CharField(max_length=150, help_text="Unique within the tenant.")
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="users"
    )

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("username"),
                name="uniq_username_per_tenant",
                condition=models.Q(tenant__isnull=False),
            ),
            models.UniqueConstraint(
                Lower("username"), name="uniq_portal_username", condition=models.Q(tenant__isnull=True)
            ),
        ]

    @property
    def is_portal_user(self) -> bool:
        return self.tenant_id is None


class LoginBlock(TenantOwned):
    """Brute-force protection's block: sign-ins as ``username`` from ``ip`` are refused until ``expires_at``.

    Auth0: "Brute-force protection" blocks the IP address for that user after too many
    consecutive failed attempts; the block lapses when an admin removes it, when the user's
    password is changed, or after the tenant's block duration. ``username`` is the identifier
    as typed, case-folded (``login_identifier``), and is recorded for usernames that match no
    account too, so that blocking says nothing about whether an account exists; ``user`` is set
    when one matched at the time of the block. One row per (tenant, username, ip): a new block
    after one lapsed reuses it.
    """

    username = models.CharField(max_length=254, help_text="As typed at sign-in, case-folded.")
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="login_blocks"
    )
    # None when the server could not tell the client's address (all such attempts share a block).
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    blocked_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta(TenantOwned.Meta):
        ordering = ["-blocked_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "username", "ip"], name="uniq_login_block"),
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip or 'unknown IP'}"
