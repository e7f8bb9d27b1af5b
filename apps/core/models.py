"""Building blocks shared by every tenant-owned model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db import models

if TYPE_CHECKING:
    from apps.tenants.models import Tenant


class TenantQuerySet(models.QuerySet):
    """Every read that serves a request starts here: ``Model.objects.for_tenant(tenant)``."""

    def for_tenant(self, tenant: Tenant | int) -> Self:
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        return self.filter(tenant_id=tenant_id)


class TenantOwned(models.Model):
    """Abstract base: the row belongs to exactly one tenant."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Counter(models.Model):
    """One expiring counter shared by every server process: what ``apps.core.counters`` keeps in
    the database when the cache is per process (no ``REDIS_URL``).

    Attack protection, MFA code attempts and rate limits count here. A row whose ``expires_at``
    has passed counts as absent (the next increment restarts it at 1); the expired-rows sweeper
    (``apps.oauth.cleanup``) deletes such rows. Not tenant-owned: keys carry the tenant id.
    """

    key = models.CharField(primary_key=True, max_length=200)
    value = models.BigIntegerField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "core_counter"  # named in apps.core.counters' raw SQL

    def __str__(self) -> str:
        return f"{self.key}={self.value} until {self.expires_at:%Y-%m-%d %H:%M:%S}"
