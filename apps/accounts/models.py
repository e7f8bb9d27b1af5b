"""One user table for portal admins (no tenant) and each tenant's end users."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower


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
