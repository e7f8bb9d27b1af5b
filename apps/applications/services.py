"""Registering applications and managing their secrets.

A client secret leaves the server exactly twice: in the return value of
``application_create`` and of ``application_secret_rotate``. Only its keyed hash is stored.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from oauth2_provider.models import AbstractApplication

from apps.applications.models import Application
from apps.applications.selectors import client_cache_key
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core import ttlcache
from apps.core.services import assign_changes

AppType = Application.AppType
GrantType = Application.GrantType
AuthMethod = Application.AuthMethod

# Auth0's defaults for a new application of each type.
DEFAULT_GRANT_TYPES: dict[str, list[str]] = {
    AppType.REGULAR_WEB: [
        GrantType.AUTHORIZATION_CODE,
        GrantType.IMPLICIT,
        GrantType.REFRESH_TOKEN,
        GrantType.CLIENT_CREDENTIALS,
    ],
    AppType.SPA: [GrantType.AUTHORIZATION_CODE, GrantType.IMPLICIT, GrantType.REFRESH_TOKEN],
    AppType.NATIVE: [GrantType.AUTHORIZATION_CODE, GrantType.IMPLICIT, GrantType.REFRESH_TOKEN],
    AppType.MACHINE_TO_MACHINE: [GrantType.CLIENT_CREDENTIALS],
}
DEFAULT_AUTH_METHOD: dict[str, str] = {
    AppType.REGULAR_WEB: AuthMethod.CLIENT_SECRET_POST,
    AppType.SPA: AuthMethod.NONE,
    AppType.NATIVE: AuthMethod.NONE,
    AppType.MACHINE_TO_MACHINE: AuthMethod.CLIENT_SECRET_POST,
}
MUTABLE_FIELDS = frozenset(
    {
        "name",
        "description",
        "is_first_party",
        "is_active",
        "grant_types",
        "token_endpoint_auth_method",
        "callbacks",
        "allowed_origins",
        "logout_urls",
        "client_metadata",
        "is_token_endpoint_ip_header_trusted",
    }
)


@dataclass(frozen=True, slots=True)
class ApplicationWithSecret:
    application: Application
    client_secret: str = field(repr=False)  # plaintext: show it once, never store or log it


def generate_client_secret() -> str:
    return secrets.token_urlsafe(48)


def _apply_derived_fields(application: Application) -> None:
    """Keep DOT's own single-valued fields consistent with our Auth0-style settings."""
    application.client_type = (
        AbstractApplication.CLIENT_PUBLIC
        if application.token_endpoint_auth_method == AuthMethod.NONE
        else AbstractApplication.CLIENT_CONFIDENTIAL
    )
    application.authorization_grant_type = (
        AbstractApplication.GRANT_CLIENT_CREDENTIALS
        if application.app_type == AppType.MACHINE_TO_MACHINE
        else AbstractApplication.GRANT_AUTHORIZATION_CODE
    )


def _invalidate(application: Application) -> None:
    ttlcache.invalidate(client_cache_key(application.tenant_id, application.client_id))


def _set_uris(
    application: Application,
    *,
    callbacks: Iterable[str] | None,
    allowed_origins: Iterable[str] | None,
    logout_urls: Iterable[str] | None = None,
):
    if callbacks is not None:
        application.redirect_uris = " ".join(callbacks)
    if allowed_origins is not None:
        application.allowed_origins = " ".join(allowed_origins)
    if (
        logout_urls is not None
    ):  # Auth0's "Allowed Logout URLs": RP-initiated logout's post_logout_redirect_uri
        application.post_logout_redirect_uris = " ".join(logout_urls)


@transaction.atomic
def application_create(
    *,
    tenant,
    name: str,
    app_type: str,
    grant_types: list[str] | None = None,
    token_endpoint_auth_method: str | None = None,
    is_first_party: bool = True,
    callbacks: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    logout_urls: Iterable[str] = (),
    description: str = "",
    is_system: bool = False,
    actor=None,
    is_dynamically_registered: bool = False,
    audit_data: dict | None = None,
    client_metadata: dict | None = None,
    is_token_endpoint_ip_header_trusted: bool = False,
) -> ApplicationWithSecret:
    """Register an application with Auth0's defaults for its type; returns the secret once.

    ``is_dynamically_registered`` marks a client created through RFC 7591 registration
    (``apps.oauth.registration``); ``audit_data`` adds to the audit event (e.g. the caller's IP).
    """
    if app_type not in AppType.values:
        raise ValidationError({"app_type": f"Unknown application type: {app_type!r}"})
    client_secret = generate_client_secret()
    application = Application(
        tenant=tenant,
        name=name,
        app_type=app_type,
        description=description,
        grant_types=list(grant_types if grant_types is not None else DEFAULT_GRANT_TYPES[app_type]),
        token_endpoint_auth_method=token_endpoint_auth_method or DEFAULT_AUTH_METHOD[app_type],
        is_first_party=is_first_party,
        is_system=is_system,
        is_dynamically_registered=is_dynamically_registered,
        client_metadata=dict(client_metadata or {}),
        is_token_endpoint_ip_header_trusted=is_token_endpoint_ip_header_trusted,
        client_secret=client_secret,
        hash_client_secret=True,
    )
    _set_uris(application, callbacks=callbacks, allowed_origins=allowed_origins, logout_urls=logout_urls)
    _apply_derived_fields(application)
    application.full_clean(exclude=["client_secret", "user"])
    application.save()
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.APPLICATION_CREATED,
        actor=actor,
        target=application.client_id,
        data={"name": name, "app_type": app_type, **(audit_data or {})},
    )
    _invalidate(application)
    return ApplicationWithSecret(application=application, client_secret=client_secret)


@transaction.atomic
def application_update(*, application: Application, actor=None, **changes) -> Application:
    changed = sorted(changes)
    uris = {
        key: changes.pop(key) for key in ("callbacks", "allowed_origins", "logout_urls") if key in changes
    }
    assign_changes(application, changes, allowed=MUTABLE_FIELDS, what="an application")
    _set_uris(
        application,
        callbacks=uris.get("callbacks"),
        allowed_origins=uris.get("allowed_origins"),
        logout_urls=uris.get("logout_urls"),
    )
    _apply_derived_fields(application)
    application.full_clean(exclude=["client_secret", "user"])
    application.save()
    audit_record(
        tenant=application.tenant,
        type=AuditEvent.Type.APPLICATION_UPDATED,
        actor=actor,
        target=application.client_id,
        data={"changed": changed},
    )
    _invalidate(application)
    return application


@transaction.atomic
def application_secret_rotate(*, application: Application, actor=None) -> str:
    """Replace the client secret; the old one stops working at once here, within the cache TTL elsewhere."""
    client_secret = generate_client_secret()
    application.client_secret = client_secret
    application.save(update_fields=["client_secret", "updated"])
    audit_record(
        tenant=application.tenant,
        type=AuditEvent.Type.APPLICATION_SECRET_ROTATED,
        actor=actor,
        target=application.client_id,
    )
    _invalidate(application)
    return client_secret


@transaction.atomic
def application_delete(*, application: Application, actor=None) -> None:
    if application.is_system:
        raise ValidationError("This application is managed by Portcullis and cannot be deleted.")
    audit_record(
        tenant=application.tenant,
        type=AuditEvent.Type.APPLICATION_DELETED,
        actor=actor,
        target=application.client_id,
        data={"name": application.name},
    )
    _invalidate(application)
    application.delete()
