"""django-oauth-toolkit's token models, swapped into our app from the first migration.

DOT cannot swap these on an existing database, so they are ours from day one, each
bound to a tenant, so that later work (authorization code, refresh tokens, ID tokens,
consent and revocation) can extend them. Machine-to-machine access tokens are JWTs
and get no row here.
"""

from __future__ import annotations

from django.db import models
from oauth2_provider.models import AbstractAccessToken, AbstractGrant, AbstractIDToken, AbstractRefreshToken

from apps.core.models import TenantQuerySet


class Grant(AbstractGrant):
    """An authorization code (RFC 6749 section 4.1), pending exchange at the token endpoint."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(max_length=600, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta(AbstractGrant.Meta):
        pass


class AccessToken(AbstractAccessToken):
    """A stored access token (user flows); ``jti`` links it to the JWT handed out."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(max_length=600, blank=True)
    jti = models.CharField(max_length=64, blank=True, db_index=True)

    objects = TenantQuerySet.as_manager()

    class Meta(AbstractAccessToken.Meta):
        pass


class RefreshToken(AbstractRefreshToken):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(max_length=600, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta(AbstractRefreshToken.Meta):
        pass


class IDToken(AbstractIDToken):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta(AbstractIDToken.Meta):
        pass
