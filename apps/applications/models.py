"""Applications: django-oauth-toolkit's swappable Application, bound to a tenant."""

from __future__ import annotations

from django.db import models
from oauth2_provider.models import AbstractApplication

from apps.core.models import TenantQuerySet

# Auth0's limits on "Application Metadata": at most 10 string keys and string values of 255 characters.
MAX_METADATA_KEYS = 10
MAX_METADATA_LENGTH = 255
# Anyone can call the token endpoint as a public client: it cannot vouch for an end user's IP.
MSG_IP_HEADER_TRUST_NEEDS_SECRET = (
    "Only confidential applications (with a client secret) can be trusted for the auth0-forwarded-for header."
)


def client_metadata_error(metadata: object) -> str | None:
    """Why ``metadata`` is not valid Application Metadata (Auth0's rules), or None."""
    if not isinstance(metadata, dict):
        return 'Application metadata is a JSON object of strings, e.g. {"plan": "gold"}.'
    if len(metadata) > MAX_METADATA_KEYS:
        return f"Application metadata has at most {MAX_METADATA_KEYS} keys."
    for key, value in metadata.items():
        if not isinstance(value, str) or not key or len(key) > MAX_METADATA_LENGTH:
            return f"Application metadata maps non-empty keys to strings; {key!r} does not."
        if len(value) > MAX_METADATA_LENGTH:
            return f"Application metadata values are at most {MAX_METADATA_LENGTH} characters ({key!r})."
    return None


class Application(AbstractApplication):
    """An OAuth client registered in one tenant, with Auth0's application settings.

    DOT's single ``authorization_grant_type`` is kept for its own checks, but what a
    client may use is ``grant_types`` (a list, as in Auth0). The secret column only
    ever holds a keyed hash (``hmac_sha256$...``); the plaintext is shown once.
    """

    class AppType(models.TextChoices):
        REGULAR_WEB = "regular_web", "Regular web application"
        SPA = "spa", "Single-page application"
        NATIVE = "native", "Native application"
        MACHINE_TO_MACHINE = "non_interactive", "Machine to machine"

    class GrantType(models.TextChoices):
        AUTHORIZATION_CODE = "authorization_code", "Authorization code"
        IMPLICIT = "implicit", "Implicit"
        REFRESH_TOKEN = "refresh_token", "Refresh token"
        CLIENT_CREDENTIALS = "client_credentials", "Client credentials"
        PASSWORD = "password", "Password"
        PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm", "Password (realm)"
        MFA_OTP = "http://auth0.com/oauth/grant-type/mfa-otp", "MFA OTP"
        MFA_RECOVERY_CODE = "http://auth0.com/oauth/grant-type/mfa-recovery-code", "MFA recovery code"

    class AuthMethod(models.TextChoices):
        NONE = "none", "None (public client)"
        CLIENT_SECRET_POST = "client_secret_post", "Client secret (POST body)"
        CLIENT_SECRET_BASIC = "client_secret_basic", "Client secret (HTTP Basic)"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="applications")
    app_type = models.CharField(max_length=20, choices=AppType.choices)
    description = models.CharField(max_length=500, blank=True)
    is_first_party = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True, help_text="Inactive applications cannot get tokens.")
    grant_types = models.JSONField(default=list, blank=True)
    token_endpoint_auth_method = models.CharField(
        max_length=24, choices=AuthMethod.choices, default=AuthMethod.CLIENT_SECRET_POST
    )
    is_system = models.BooleanField(default=False, editable=False)
    # Auth0's "Application Metadata": string key/value pairs that token rules can read.
    client_metadata = models.JSONField(default=dict, blank=True)
    # Auth0's "Trust Token Endpoint IP Header": the token endpoint takes the end user's IP from the
    # auth0-forwarded-for header this backend sends (password grant), for attack protection.
    # Only for confidential clients (clean() refuses it for a public one).
    is_token_endpoint_ip_header_trusted = models.BooleanField(
        "Trust token endpoint IP header",
        default=False,
        help_text=(
            "The end user's IP address is taken from the auth0-forwarded-for header this application "
            "sends to the token endpoint (brute-force protection and IP throttling count by it). "
            "Only for confidential applications, which authenticate with a secret."
        ),
    )
    # Created through RFC 7591 dynamic client registration (always third-party).
    is_dynamically_registered = models.BooleanField(default=False, editable=False)

    objects = TenantQuerySet.as_manager()

    class Meta(AbstractApplication.Meta):
        ordering = ["tenant", "name"]

    def __str__(self) -> str:
        return self.name or self.client_id

    def is_usable(self, request) -> bool:
        return self.is_active

    def get_allowed_schemes(self) -> list[str]:
        """Schemes DOT may redirect this application to: http(s), and a native app's own schemes.

        RFC 8252 7.1: a native app receives its callback on a private-use scheme
        (``com.example.app:/callback``). The services only store such URLs for native
        applications, and never ``javascript:``-like schemes (``apps.applications.uris``), so
        the schemes of the registered callback and logout URLs are the ones to allow.
        """
        from apps.applications.uris import custom_schemes_of

        schemes = list(super().get_allowed_schemes())
        if self.app_type == self.AppType.NATIVE:
            registered = [*self.redirect_uris.split(), *self.post_logout_redirect_uris.split()]
            schemes += [scheme for scheme in custom_schemes_of(registered) if scheme not in schemes]
        return schemes

    def clean(self) -> None:
        """DOT's checks, except that an application may have no callback yet (as in Auth0)."""
        from django.core.exceptions import ValidationError

        errors: dict[str, list] = {}
        try:
            super().clean()
        except ValidationError as exc:
            errors = {field: list(messages) for field, messages in exc.error_dict.items()}
            if not self.redirect_uris.strip():
                errors.pop("redirect_uris", None)
        unknown = sorted(set(self.grant_types) - set(self.GrantType.values))
        if unknown:
            errors.setdefault("grant_types", []).append(
                ValidationError(f"Unknown grant types: {', '.join(unknown)}")
            )
        metadata_error = client_metadata_error(self.client_metadata)
        if metadata_error:
            errors.setdefault("client_metadata", []).append(
                ValidationError(metadata_error, code="invalid_client_metadata")
            )
        if (
            self.is_token_endpoint_ip_header_trusted
            and self.token_endpoint_auth_method == self.AuthMethod.NONE
        ):
            errors.setdefault("is_token_endpoint_ip_header_trusted", []).append(
                ValidationError(MSG_IP_HEADER_TRUST_NEEDS_SECRET, code="ip_header_trust_needs_secret")
            )
        if errors:
            raise ValidationError(errors)
