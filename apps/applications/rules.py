"""What an application of each type is and may use: Auth0's defaults and the grant types it may have.

One place for these rules: ``apps.applications.services`` applies them on every create and
update, whoever calls it (the portal, the Management API, config as code, RFC 7591
registration, ``bootstrap_demo``), and the portal's forms read them to offer only what is
allowed.

Auth0's "Grant Types Mapping": a single-page or native application is a *public* client
(token endpoint authentication ``none``) and gets ``authorization_code``, ``implicit`` and
``refresh_token``; a regular web application is *confidential* and gets those plus
``client_credentials``; the password and MFA grants are for trusted first-party applications
only. A machine-to-machine application (Auth0's ``non_interactive``) acts as itself, for no
user: it gets ``client_credentials``, and here nothing else (Auth0's dashboard would let one
tick user grants for it; they have no meaning without a user, so Portcullis refuses them).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from oauth2_provider.models import AbstractApplication

from apps.applications.models import Application

AppType = Application.AppType
GrantType = Application.GrantType
AuthMethod = Application.AuthMethod

CODE_UNKNOWN_APP_TYPE = "unknown_app_type"
CODE_GRANT_TYPE_NOT_FOR_APP_TYPE = "grant_type_not_for_app_type"
CODE_CLIENT_CREDENTIALS_NEEDS_SECRET = "client_credentials_needs_secret"
CODE_GRANT_TYPE_NEEDS_FIRST_PARTY = "grant_type_needs_first_party"

MSG_UNKNOWN_APP_TYPE = "Unknown application type: {app_type!r}."
MSG_GRANT_TYPE_NOT_FOR_APP_TYPE = "The {grant_type} grant is not available to a {app_type}: {reason}."
MSG_CLIENT_CREDENTIALS_NEEDS_SECRET = (
    "The Client credentials grant needs a client secret: choose a client-secret authentication "
    "method, or remove the grant."
)
MSG_GRANT_TYPE_NEEDS_FIRST_PARTY = (
    "The {grant_type} grant is only for first-party applications: with it, the application "
    "handles the user's password or MFA code."
)

# How the messages name each type ("a single-page application"), and why a grant is not for it.
APP_TYPE_NAMES: dict[str, str] = {
    AppType.REGULAR_WEB: "regular web application",
    AppType.SPA: "single-page application",
    AppType.NATIVE: "native application",
    AppType.MACHINE_TO_MACHINE: "machine-to-machine application",
}
_PUBLIC_REASON = "it is a public client, which cannot keep the secret that client credentials need"
_NOT_FOR_REASONS: dict[str, str] = {
    AppType.SPA: _PUBLIC_REASON,
    AppType.NATIVE: _PUBLIC_REASON,
    AppType.MACHINE_TO_MACHINE: "it acts as itself, for no user, and gets tokens with client credentials",
}

# Auth0's "trusted first-party" grants: the application sees the user's password (or MFA step).
FIRST_PARTY_GRANT_TYPES = frozenset(
    {GrantType.PASSWORD, GrantType.PASSWORD_REALM, GrantType.MFA_OTP, GrantType.MFA_RECOVERY_CODE}
)
_USER_GRANT_TYPES = tuple(value for value in GrantType.values if value != GrantType.CLIENT_CREDENTIALS)

# What each type may have, in the order GrantType declares them (the order the portal shows).
GRANT_TYPES_BY_APP_TYPE: dict[str, tuple[str, ...]] = {
    AppType.REGULAR_WEB: tuple(GrantType.values),
    AppType.SPA: _USER_GRANT_TYPES,
    AppType.NATIVE: _USER_GRANT_TYPES,
    AppType.MACHINE_TO_MACHINE: (GrantType.CLIENT_CREDENTIALS.value,),
}


@dataclass(frozen=True, slots=True)
class TypeDefaults:
    """What a new application of one type gets when its creator does not say (Auth0's defaults)."""

    grant_types: tuple[str, ...]
    token_endpoint_auth_method: str

    @property
    def client_type(self) -> str:
        """DOT's client type: public when the application authenticates with no secret."""
        return client_type_for(self.token_endpoint_auth_method)


TYPE_DEFAULTS: dict[str, TypeDefaults] = {
    AppType.REGULAR_WEB: TypeDefaults(
        grant_types=(
            GrantType.AUTHORIZATION_CODE,
            GrantType.IMPLICIT,
            GrantType.REFRESH_TOKEN,
            GrantType.CLIENT_CREDENTIALS,
        ),
        token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_POST,
    ),
    AppType.SPA: TypeDefaults(
        grant_types=(GrantType.AUTHORIZATION_CODE, GrantType.IMPLICIT, GrantType.REFRESH_TOKEN),
        token_endpoint_auth_method=AuthMethod.NONE,
    ),
    AppType.NATIVE: TypeDefaults(
        grant_types=(GrantType.AUTHORIZATION_CODE, GrantType.IMPLICIT, GrantType.REFRESH_TOKEN),
        token_endpoint_auth_method=AuthMethod.NONE,
    ),
    AppType.MACHINE_TO_MACHINE: TypeDefaults(
        grant_types=(GrantType.CLIENT_CREDENTIALS,),
        token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_POST,
    ),
}


def client_type_for(token_endpoint_auth_method: str) -> str:
    """RFC 6749 2.1: a client that authenticates with no secret is public, any other confidential."""
    if token_endpoint_auth_method == AuthMethod.NONE:
        return AbstractApplication.CLIENT_PUBLIC
    return AbstractApplication.CLIENT_CONFIDENTIAL


def app_type_defaults(app_type: str) -> TypeDefaults:
    """Auth0's defaults for a new application of ``app_type``; refuses an unknown type."""
    try:
        return TYPE_DEFAULTS[app_type]
    except KeyError:
        raise ValidationError(
            {
                "app_type": ValidationError(
                    MSG_UNKNOWN_APP_TYPE.format(app_type=app_type), code=CODE_UNKNOWN_APP_TYPE
                )
            }
        ) from None


def grant_types_for(app_type: str) -> tuple[str, ...]:
    """The grant types an application of ``app_type`` may have (before first-party and secret rules)."""
    return GRANT_TYPES_BY_APP_TYPE.get(app_type, ())


def grant_type_errors(
    *, app_type: str, grant_types: list[str], token_endpoint_auth_method: str, is_first_party: bool
) -> list[ValidationError]:
    """Why these grant types do not fit the application, one error (with its code) per grant type.

    Unknown values are left to the model's own check ("Unknown grant types").
    """
    errors: list[ValidationError] = []
    allowed = grant_types_for(app_type)
    for value in dict.fromkeys(grant_types):
        if value not in GrantType.values:
            continue
        label = GrantType(value).label
        if value not in allowed:
            errors.append(
                ValidationError(
                    MSG_GRANT_TYPE_NOT_FOR_APP_TYPE.format(
                        grant_type=label, app_type=APP_TYPE_NAMES[app_type], reason=_NOT_FOR_REASONS[app_type]
                    ),
                    code=CODE_GRANT_TYPE_NOT_FOR_APP_TYPE,
                )
            )
        elif value == GrantType.CLIENT_CREDENTIALS and token_endpoint_auth_method == AuthMethod.NONE:
            errors.append(
                ValidationError(
                    MSG_CLIENT_CREDENTIALS_NEEDS_SECRET, code=CODE_CLIENT_CREDENTIALS_NEEDS_SECRET
                )
            )
        elif value in FIRST_PARTY_GRANT_TYPES and not is_first_party:
            errors.append(
                ValidationError(
                    MSG_GRANT_TYPE_NEEDS_FIRST_PARTY.format(grant_type=label),
                    code=CODE_GRANT_TYPE_NEEDS_FIRST_PARTY,
                )
            )
    return errors
