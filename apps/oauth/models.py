"""django-oauth-toolkit's token models, swapped into our app from the first migration.

Each row is bound to a tenant; rows issued on a user's behalf also point at the user grant
(consent) they came from and are deleted with it. Nothing usable is stored in clear:
authorization codes are stored as SHA-256 hashes (``HashedCodeField``), access and refresh
tokens as DOT's checksums only (``COMPLIANT_BCP_RFC9700_TOKEN_STORAGE``). Machine-to-machine
access tokens are JWTs and get no row.
"""

from __future__ import annotations

import hashlib

from django.db import models
from oauth2_provider.models import AbstractAccessToken, AbstractGrant, AbstractIDToken, AbstractRefreshToken

from apps.core.models import TenantQuerySet


def checksum(value: str) -> str:
    """SHA-256, hex: how codes and tokens are stored and found (DOT's ``token_checksum`` too)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class HashedCodeField(models.CharField):
    """Stores, and looks up by, the SHA-256 of the value: ``Grant.objects.filter(code=code)`` works
    unchanged for DOT and oauthlib, and a database read yields no usable code.

    A loaded row holds the hash: such rows are changed with ``QuerySet.update``, never re-saved.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None else checksum(value)


class Grant(AbstractGrant):
    """An authorization code (RFC 6749 section 4.1), pending exchange at the token endpoint.

    Kept after its exchange (``used_at``) until it expires, so that a replay can be detected
    and what the first exchange issued (``issued_jti``, ``issued_family``) revoked (section 4.1.2).
    """

    code = HashedCodeField(max_length=64, unique=True)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(max_length=600, blank=True)
    user_grant = models.ForeignKey(
        "grants.UserGrant", null=True, blank=True, on_delete=models.CASCADE, related_name="codes"
    )
    used_at = models.DateTimeField(null=True, blank=True)
    issued_jti = models.CharField(max_length=64, blank=True)
    issued_family = models.UUIDField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta(AbstractGrant.Meta):
        pass


class AccessToken(AbstractAccessToken):
    """A stored access token (user flows); ``jti`` links it to the JWT handed out."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(max_length=600, blank=True)
    jti = models.CharField(max_length=64, blank=True, db_index=True)
    user_grant = models.ForeignKey(
        "grants.UserGrant", null=True, blank=True, on_delete=models.CASCADE, related_name="access_tokens"
    )

    objects = TenantQuerySet.as_manager()

    class Meta(AbstractAccessToken.Meta):
        pass

    def revoke(self) -> None:
        """DOT revokes by deleting the row; the JWT is deny-listed first, since resource servers
        verify it without asking us."""
        from apps.grants.services import access_tokens_deny

        access_tokens_deny(access_tokens=AccessToken.objects.filter(pk=self.pk), reason="revoked")
        self.delete()

    @property
    def scopes(self) -> dict[str, str]:
        """DOT reads a token's scopes through a global scopes list; ours belong to APIs, so the
        token's own ``scope`` is the list (userinfo checks ``openid`` in it)."""
        return {scope: scope for scope in self.scope.split()}


class RefreshToken(AbstractRefreshToken):
    """A refresh token (stored as its checksum), one of a rotating family.

    ``scope`` is what the token may be refreshed for: the scopes first requested (and consented
    to), identical along the family (RFC 6749 section 6), before any narrowing by the API's RBAC,
    which is applied afresh to each refresh. Empty on rows written before it existed: their
    access token's scope stands in (DOT's ``get_original_scopes``).
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(max_length=600, blank=True)
    scope = models.TextField(blank=True)
    user_grant = models.ForeignKey(
        "grants.UserGrant", null=True, blank=True, on_delete=models.CASCADE, related_name="refresh_tokens"
    )

    objects = TenantQuerySet.as_manager()

    class Meta(AbstractRefreshToken.Meta):
        pass

    @classmethod
    def revoke_family(cls, token_family) -> None:
        """DOT's (every live token of the family revoked, its access tokens deleted), with those
        access tokens deny-listed first (RFC 9700 4.14.2: a reused refresh token ends the session)."""
        from apps.grants.services import access_tokens_deny

        if token_family:
            family_access = cls.objects.filter(token_family=token_family).values("access_token_id")
            access_tokens_deny(
                access_tokens=AccessToken.objects.filter(pk__in=family_access), reason="refresh token reused"
            )
        super().revoke_family(token_family)


class IDToken(AbstractIDToken):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    user_grant = models.ForeignKey(
        "grants.UserGrant", null=True, blank=True, on_delete=models.CASCADE, related_name="id_tokens"
    )

    objects = TenantQuerySet.as_manager()

    class Meta(AbstractIDToken.Meta):
        pass
