"""APIs (OAuth resource servers) and the scopes (permissions) they define."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.core.models import TenantOwned
from apps.core.validators import validate_scope_token

DEFAULT_TOKEN_LIFETIME = 86_400
MAX_TOKEN_LIFETIME = 2_592_000  # 30 days, Auth0's ceiling


class Api(TenantOwned):
    """A resource server. Its ``identifier`` is the ``audience`` clients ask tokens for.

    The identifier is any string (a URL by convention), unique within the tenant and
    immutable once created: tokens already issued carry it in ``aud``.
    """

    class SigningAlgorithm(models.TextChoices):
        RS256 = "RS256", "RS256"
        ES256 = "ES256", "ES256"
        HS256 = "HS256", "HS256 (the API's own secret)"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="apis")
    name = models.CharField(max_length=200)
    identifier = models.CharField(max_length=600)
    signing_alg = models.CharField(
        max_length=8, choices=SigningAlgorithm.choices, default=SigningAlgorithm.RS256
    )
    # HS256 only: the API's own shared secret, encrypted at rest (apps.tenants.crypto).
    signing_secret_encrypted = models.TextField(blank=True, editable=False)
    token_lifetime = models.PositiveIntegerField(
        default=DEFAULT_TOKEN_LIFETIME,
        validators=[MinValueValidator(60), MaxValueValidator(MAX_TOKEN_LIFETIME)],
        help_text="Access token lifetime in seconds.",
    )
    allow_offline_access = models.BooleanField(default=False, help_text="Issue refresh tokens for this API.")
    skip_consent_for_first_party = models.BooleanField(
        default=True, help_text="First-party applications get tokens without a consent prompt."
    )
    rbac_enabled = models.BooleanField(default=False, help_text="Enforce role-based access control.")
    add_permissions_in_token = models.BooleanField(
        default=False, help_text="With RBAC: add a 'permissions' claim to access tokens."
    )
    is_system = models.BooleanField(default=False, editable=False, help_text="Managed by Portcullis.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "API"
        ordering = ["tenant", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "identifier"], name="uniq_api_identifier")]

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier})"


class Scope(TenantOwned):
    """A permission an API defines, such as ``read:timesheets``."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    api = models.ForeignKey(Api, on_delete=models.CASCADE, related_name="scopes")
    value = models.CharField(max_length=280, validators=[validate_scope_token])
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["api", "value"]
        constraints = [models.UniqueConstraint(fields=["api", "value"], name="uniq_scope_per_api")]

    def __str__(self) -> str:
        return self.value
