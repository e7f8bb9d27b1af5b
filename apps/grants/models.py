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


class UserGrant(TenantOwned):
    """An end user's consent (Auth0's "grant"): this application may act for this user on this API.

    ``audience`` is the API's identifier, or empty for OpenID Connect scopes alone (``api`` is
    then empty too). ``scopes`` is what the user approved; a request within them is not asked
    again. Tokens issued under the grant (codes, access, refresh and ID tokens in
    ``apps.oauth``) point at it and are deleted with it: revoking the grant revokes them.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="user_grants")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="grants")
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="user_grants"
    )
    api = models.ForeignKey("apis.Api", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(max_length=600, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "application", "audience"], name="uniq_user_grant_per_app_audience"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} -> {self.application} ({self.audience or 'openid'})"


class DeniedToken(TenantOwned):
    """A JWT access token refused before it expires (Auth0's deny list), named by (``audience``, ``jti``).

    Introspection, userinfo and every endpoint that accepts our bearer tokens refuse it; resource
    servers learn it from the deny-list feed the resource kit polls. The row is needed only as
    long as the token could be presented: ``expires_at`` is the token's ``exp``, after which the
    cleanup deletes it.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="denied_tokens")
    # The API the token is for (its first ``aud``); empty for a token meant for userinfo alone.
    audience = models.CharField(max_length=600, blank=True)
    jti = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "audience", "jti"], name="uniq_denied_token_per_audience"
            )
        ]
        indexes = [models.Index(fields=["tenant", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.jti} ({self.audience or 'userinfo'})"
