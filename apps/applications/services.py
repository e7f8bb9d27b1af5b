"""Registering applications and managing their secrets.

A client secret leaves the server exactly twice: in the return value of
``application_create`` and of ``application_secret_rotate``. Only its keyed hash is stored.

Every create and update applies the same rules, whoever calls: Auth0's defaults per type and
the grant types a type may have (``apps.applications.rules``), and the checks of callback,
logout and origin URLs (``apps.applications.uris``). Refusals are ``ValidationError``s keyed by
model field, each message with a code.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from oauth2_provider.models import AbstractApplication

from apps.applications import uris
from apps.applications.models import Application
from apps.applications.rules import app_type_defaults, client_type_for, grant_type_errors
from apps.applications.selectors import client_cache_key
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core import ttlcache
from apps.core.services import assign_changes

AppType = Application.AppType
GrantType = Application.GrantType
AuthMethod = Application.AuthMethod

# What decides which grant types fit: a change to any of them re-checks the grant types.
_GRANT_RULE_INPUTS = frozenset({"grant_types", "token_endpoint_auth_method", "is_first_party"})
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
    application.client_type = client_type_for(application.token_endpoint_auth_method)
    application.authorization_grant_type = (
        AbstractApplication.GRANT_CLIENT_CREDENTIALS
        if application.app_type == AppType.MACHINE_TO_MACHINE
        else AbstractApplication.GRANT_AUTHORIZATION_CODE
    )


def _invalidate(application: Application) -> None:
    ttlcache.invalidate(client_cache_key(application.tenant_id, application.client_id))


Errors = dict[str, list[ValidationError]]


def _set_uris(
    application: Application,
    *,
    callbacks: Iterable[str] | None,
    allowed_origins: Iterable[str] | None,
    logout_urls: Iterable[str] | None = None,
) -> Errors:
    """Set the URL lists given (None: leave it), each checked entry by entry (``apps.applications.uris``).

    A list with a bad entry is not set; its errors, one per bad entry, are returned under the
    model field's name. Auth0's "Allowed Logout URLs" are RP-initiated logout's
    ``post_logout_redirect_uri`` values.
    """
    errors: Errors = {}
    given = {uris.CALLBACKS: callbacks, uris.ALLOWED_ORIGINS: allowed_origins, uris.LOGOUT_URLS: logout_urls}
    for kind, values in given.items():
        if values is None:
            continue
        values = list(values)
        refused = uris.uri_list_errors(values, kind=kind, app_type=application.app_type)
        if refused:
            errors[uris.MODEL_FIELDS[kind]] = refused
        else:
            setattr(application, uris.MODEL_FIELDS[kind], " ".join(values))
    return errors


def _check_grant_types(application: Application) -> Errors:
    refused = grant_type_errors(
        app_type=application.app_type,
        grant_types=list(application.grant_types),
        token_endpoint_auth_method=application.token_endpoint_auth_method,
        is_first_party=application.is_first_party,
    )
    return {"grant_types": refused} if refused else {}


def _full_clean(application: Application, errors: Errors) -> None:
    """The model's validation (DOT's and ours) and the services' own, reported together."""
    errors = {field: list(messages) for field, messages in errors.items()}
    try:
        application.full_clean(exclude=["client_secret", "user"])
    except ValidationError as exc:
        for field, messages in exc.error_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


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
    defaults = app_type_defaults(app_type)
    client_secret = generate_client_secret()
    application = Application(
        tenant=tenant,
        name=name,
        app_type=app_type,
        description=description,
        grant_types=list(grant_types if grant_types is not None else defaults.grant_types),
        token_endpoint_auth_method=token_endpoint_auth_method or defaults.token_endpoint_auth_method,
        is_first_party=is_first_party,
        is_system=is_system,
        is_dynamically_registered=is_dynamically_registered,
        client_metadata=dict(client_metadata or {}),
        is_token_endpoint_ip_header_trusted=is_token_endpoint_ip_header_trusted,
        client_secret=client_secret,
        hash_client_secret=True,
    )
    errors = _set_uris(
        application, callbacks=callbacks, allowed_origins=allowed_origins, logout_urls=logout_urls
    )
    errors |= _check_grant_types(application)
    _apply_derived_fields(application)
    _full_clean(application, errors)
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
    lists = {
        key: changes.pop(key) for key in ("callbacks", "allowed_origins", "logout_urls") if key in changes
    }
    assign_changes(application, changes, allowed=MUTABLE_FIELDS, what="an application")
    errors = _set_uris(
        application,
        callbacks=lists.get("callbacks"),
        allowed_origins=lists.get("allowed_origins"),
        logout_urls=lists.get("logout_urls"),
    )
    # Grant types are checked when something they depend on changes: an older row that predates
    # a rule can still be renamed, and is told about the rule when its grant types are edited.
    if _GRANT_RULE_INPUTS.intersection(changed):
        errors |= _check_grant_types(application)
    _apply_derived_fields(application)
    _full_clean(application, errors)
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
