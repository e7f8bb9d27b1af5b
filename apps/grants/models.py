"""Client grants: which application may get tokens for which API, with which scopes."""

from __future__ import annotations

from django.db import models

from apps.core.models import TenantOwned


class ClientGrant(TenantOwned):
    """Authorises an application to call an API through ``client_credentials`` (Auth0's client grant).

    ``scopes`` is a subset of the API's scopes; it is the most a token for this pair
    can carry. One grant per (application, API).
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="client_grants")
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="client_grants"
    )
    api = models.ForeignKey("apis.Api", on_delete=models.CASCADE, related_name="client_grants")
    scopes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "application", "api"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "api"], name="uniq_client_grant_per_application_api"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application} -> {self.api.identifier}"
