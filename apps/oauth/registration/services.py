"""Admitting a registration request and registering the client it describes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from apps.applications.models import Application
from apps.applications.services import application_create
from apps.core.ratelimit import rate_limit_hit
from apps.oauth.registration import errors
from apps.oauth.registration.metadata import ClientMetadata
from apps.tenants.models import Tenant
from apps.tenants.selectors import tenant_dynamic_registration_enabled

RATE_LIMIT_SCOPE = "dcr"


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """A client just registered; the plaintext secret (confidential clients only) is here once."""

    application: Application
    metadata: ClientMetadata
    client_secret: str | None = field(repr=False)

    def response_body(self) -> dict[str, Any]:
        """RFC 7591 section 3.2.1: the client's credentials and everything that was registered."""
        body: dict[str, Any] = {
            "client_id": self.application.client_id,
            "client_id_issued_at": int(self.application.created.timestamp()),
        }
        if self.client_secret is not None:
            body["client_secret"] = self.client_secret
            body["client_secret_expires_at"] = 0  # never: rotate it in the admin
        return body | self.metadata.as_registered()


def registration_admit(*, tenant: Tenant, ip: str | None) -> None:
    """Refuse the request unless the tenant allows registration and ``ip`` is within its limit.

    Every admitted request counts, valid or not: malformed requests cost the server too.
    """
    if not tenant_dynamic_registration_enabled(tenant=tenant):
        raise errors.RegistrationDisabled(errors.MSG_REGISTRATION_DISABLED)
    result = rate_limit_hit(
        scope=RATE_LIMIT_SCOPE,
        key=f"{tenant.pk}:{ip or 'unknown'}",
        limit=settings.DCR_RATE_LIMIT,
        window_seconds=settings.DCR_RATE_LIMIT_WINDOW_SECONDS,
    )
    if not result.allowed:
        raise errors.RegistrationRateLimited(result.retry_after)


def client_register(*, tenant: Tenant, metadata: ClientMetadata, ip: str | None) -> RegisteredClient:
    """Register a third-party client from checked RFC 7591 metadata (open registration).

    The client is third-party (``is_first_party=False``: the consent page is never skipped for
    it) and marked as registered dynamically; it gets no client grant, so it cannot get a
    client-credentials token for any API until a tenant admin grants one. The secret is stored
    as a keyed hash by ``application_create``, which also validates the row and writes the
    audit event (with the caller's IP, as there is no signed-in actor).
    """
    try:
        created = application_create(
            tenant=tenant,
            name=metadata.client_name,
            app_type=metadata.app_type,
            grant_types=list(metadata.grant_types),
            token_endpoint_auth_method=metadata.token_endpoint_auth_method,
            is_first_party=False,
            callbacks=metadata.redirect_uris,
            is_dynamically_registered=True,
            audit_data={"dynamically_registered": True, "ip": ip},
        )
    except ValidationError as exc:
        # The checks in ``metadata`` come first; this is the model's own validation as a last net.
        messages = getattr(exc, "message_dict", {"": exc.messages})
        if "redirect_uris" in messages:
            raise errors.InvalidRedirectUri(
                errors.MSG_REDIRECT_URI_INVALID.format(reason=messages["redirect_uris"][0])
            ) from exc
        raise errors.InvalidClientMetadata(" ".join(exc.messages)) from exc
    return RegisteredClient(
        application=created.application,
        metadata=metadata,
        client_secret=created.client_secret if metadata.is_confidential else None,
    )
