"""RFC 7591 section 2 client metadata: parse a registration request and check it is consistent.

What Portcullis registers: ``client_name``, ``redirect_uris``, ``grant_types``,
``response_types``, ``token_endpoint_auth_method`` and OpenID Connect Dynamic Client
Registration's ``application_type``. Every other member (``client_uri``, ``logo_uri``,
``scope``, ``contacts``, ``tos_uri``, ``policy_uri``, ``jwks_uri``, ``software_id``...) is
accepted and ignored, as RFC 7591 section 2 requires of metadata a server does not use, and
left out of the response, which lists only what was registered (section 3.2.1). A JSON
``null`` means the member was not sent.

Defaults follow RFC 7591 section 2: ``client_secret_basic``, ``["authorization_code"]`` and
``["code"]``, except that when only one of ``grant_types`` and ``response_types`` is sent the
other is derived from it (section 2.1 asks for a consistent pair; deriving it saves clients
from sending both).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models

from apps.applications.models import Application
from apps.oauth.authorization.rules import IMPLICIT_RESPONSE_TYPES, ResponseType
from apps.oauth.constants import AuthMethod, GrantType
from apps.oauth.registration import errors

AppType = Application.AppType

CLIENT_NAME_MAX_LENGTH = 255  # Application.name
DEFAULT_CLIENT_NAME = "Unnamed application"
MAX_REDIRECT_URIS = 20
MAX_REDIRECT_URI_LENGTH = 2000


class ApplicationType(models.TextChoices):
    """OpenID Connect Dynamic Client Registration 1.0 section 2, ``application_type``."""

    WEB = "web", "Web"
    NATIVE = "native", "Native"


SUPPORTED_AUTH_METHODS = (AuthMethod.NONE, AuthMethod.CLIENT_SECRET_BASIC, AuthMethod.CLIENT_SECRET_POST)
DEFAULT_AUTH_METHOD = AuthMethod.CLIENT_SECRET_BASIC  # RFC 7591 section 2
# Not offered to third parties: the password and MFA-OTP grants hand the user's credentials to
# the client, which only an application of the tenant's own (first-party) may see.
SUPPORTED_GRANT_TYPES = (
    GrantType.AUTHORIZATION_CODE,
    GrantType.IMPLICIT,
    GrantType.REFRESH_TOKEN,
    GrantType.CLIENT_CREDENTIALS,
)
REDIRECT_GRANT_TYPES = frozenset({GrantType.AUTHORIZATION_CODE, GrantType.IMPLICIT})
# RFC 7591 section 2.1: which grant type each response type uses.
GRANT_TYPE_OF_RESPONSE_TYPE = {
    response_type.value: (
        GrantType.IMPLICIT.value
        if response_type in IMPLICIT_RESPONSE_TYPES
        else GrantType.AUTHORIZATION_CODE.value
    )
    for response_type in ResponseType
}
# Response types are sets of space-separated values ("token id_token" is "id_token token").
_RESPONSE_TYPE_BY_VALUES = {frozenset(value.split()): value for value in ResponseType.values}
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_REDIRECT_SCHEMES = ("https", "http")
_URL_VALIDATOR = URLValidator(schemes=list(_REDIRECT_SCHEMES))


@dataclass(frozen=True, slots=True)
class ClientMetadata:
    """The metadata a registration request asked for, checked and with defaults filled in."""

    client_name: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    token_endpoint_auth_method: str
    application_type: str

    @property
    def is_confidential(self) -> bool:
        return self.token_endpoint_auth_method != AuthMethod.NONE

    @property
    def app_type(self) -> str:
        """The Auth0 application type this client is in the admin and to our grant rules."""
        if self.application_type == ApplicationType.NATIVE:
            return AppType.NATIVE
        if not self.is_confidential:
            return AppType.SPA
        if REDIRECT_GRANT_TYPES.isdisjoint(self.grant_types):
            return AppType.MACHINE_TO_MACHINE  # client_credentials only
        return AppType.REGULAR_WEB

    def as_registered(self) -> dict[str, Any]:
        """The RFC 7591 section 3.2.1 members that describe what was registered."""
        return {
            "client_name": self.client_name,
            "redirect_uris": list(self.redirect_uris),
            "grant_types": list(self.grant_types),
            "response_types": list(self.response_types),
            "token_endpoint_auth_method": str(self.token_endpoint_auth_method),
            "application_type": str(self.application_type),
        }


def parse_client_metadata(document: dict[str, Any]) -> ClientMetadata:
    """Check a registration request's JSON object; raises an ``errors.RegistrationError``."""
    client_name = _client_name(document.get("client_name"))
    auth_method = _optional_string(document, "token_endpoint_auth_method", DEFAULT_AUTH_METHOD)
    if auth_method not in SUPPORTED_AUTH_METHODS:
        raise errors.InvalidClientMetadata(errors.MSG_AUTH_METHOD_UNSUPPORTED.format(value=auth_method[:100]))
    application_type = _optional_string(document, "application_type", ApplicationType.WEB)
    if application_type not in ApplicationType.values:
        raise errors.InvalidClientMetadata(
            errors.MSG_APPLICATION_TYPE_UNSUPPORTED.format(value=application_type[:100])
        )
    if application_type == ApplicationType.NATIVE and auth_method != AuthMethod.NONE:
        raise errors.InvalidClientMetadata(errors.MSG_NATIVE_WITH_SECRET)
    grant_types, response_types = _grant_and_response_types(
        _optional_string_list(document, "grant_types"), _optional_string_list(document, "response_types")
    )
    if GrantType.CLIENT_CREDENTIALS in grant_types and auth_method == AuthMethod.NONE:
        raise errors.InvalidClientMetadata(errors.MSG_PUBLIC_CLIENT_CREDENTIALS)
    redirect_uris = _redirect_uris(
        document.get("redirect_uris"), required=not REDIRECT_GRANT_TYPES.isdisjoint(grant_types)
    )
    return ClientMetadata(
        client_name=client_name,
        redirect_uris=redirect_uris,
        grant_types=grant_types,
        response_types=response_types,
        token_endpoint_auth_method=auth_method,
        application_type=application_type,
    )


# --- members -----------------------------------------------------------------------------------
def _optional_string(document: dict[str, Any], name: str, default: str) -> str:
    value = document.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise errors.InvalidClientMetadata(errors.MSG_NOT_A_STRING.format(name=name))
    return value


def _optional_string_list(document: dict[str, Any], name: str) -> tuple[str, ...] | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise errors.InvalidClientMetadata(errors.MSG_NOT_A_STRING_LIST.format(name=name))
    return tuple(dict.fromkeys(value))


def _client_name(value: Any) -> str:
    if value is None:
        return DEFAULT_CLIENT_NAME
    if not isinstance(value, str):
        raise errors.InvalidClientMetadata(errors.MSG_NOT_A_STRING.format(name="client_name"))
    name = value.strip()
    if not 1 <= len(name) <= CLIENT_NAME_MAX_LENGTH:
        raise errors.InvalidClientMetadata(errors.MSG_CLIENT_NAME_LENGTH.format(limit=CLIENT_NAME_MAX_LENGTH))
    if _CONTROL_CHARACTERS.search(name):
        raise errors.InvalidClientMetadata(errors.MSG_CONTROL_CHARACTERS.format(name="client_name"))
    return name


def _grant_and_response_types(
    grant_types: tuple[str, ...] | None, response_types: tuple[str, ...] | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """RFC 7591 section 2.1: each response type needs its grant type, and each redirect-based
    grant type needs one of its response types."""
    if response_types is not None:
        response_types = tuple(dict.fromkeys(_response_type(value) for value in response_types))
    if grant_types is None:
        grant_types = (
            tuple(dict.fromkeys(GRANT_TYPE_OF_RESPONSE_TYPE[value] for value in response_types))
            if response_types is not None
            else (GrantType.AUTHORIZATION_CODE.value,)
        )
    if not grant_types:
        raise errors.InvalidClientMetadata(errors.MSG_GRANT_TYPES_EMPTY)
    for grant_type in grant_types:
        if grant_type not in SUPPORTED_GRANT_TYPES:
            raise errors.InvalidClientMetadata(
                errors.MSG_GRANT_TYPE_UNSUPPORTED.format(value=grant_type[:100])
            )
    if response_types is None:
        response_types = tuple(
            value for value, grant_type in GRANT_TYPE_OF_RESPONSE_TYPE.items() if grant_type in grant_types
        )
    for response_type in response_types:
        grant_type = GRANT_TYPE_OF_RESPONSE_TYPE[response_type]
        if grant_type not in grant_types:
            raise errors.InvalidClientMetadata(
                errors.MSG_RESPONSE_TYPE_WITHOUT_GRANT.format(
                    response_type=response_type, grant_type=grant_type
                )
            )
    for grant_type in REDIRECT_GRANT_TYPES.intersection(grant_types):
        needed = [value for value, grant in GRANT_TYPE_OF_RESPONSE_TYPE.items() if grant == grant_type]
        if not set(needed).intersection(response_types):
            raise errors.InvalidClientMetadata(
                errors.MSG_GRANT_WITHOUT_RESPONSE_TYPE.format(
                    grant_type=grant_type, response_types=", ".join(f"'{value}'" for value in needed)
                )
            )
    if GrantType.REFRESH_TOKEN in grant_types and GrantType.AUTHORIZATION_CODE not in grant_types:
        raise errors.InvalidClientMetadata(errors.MSG_REFRESH_WITHOUT_CODE)
    return grant_types, response_types


def _response_type(value: str) -> str:
    canonical = _RESPONSE_TYPE_BY_VALUES.get(frozenset(value.split()))
    if canonical is None:
        raise errors.InvalidClientMetadata(errors.MSG_RESPONSE_TYPE_UNSUPPORTED.format(value=value[:100]))
    return canonical


# --- redirect URIs -----------------------------------------------------------------------------
def _redirect_uris(value: Any, *, required: bool) -> tuple[str, ...]:
    if value is None:
        if required:
            raise errors.InvalidRedirectUri(errors.MSG_REDIRECT_URIS_REQUIRED)
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise errors.InvalidRedirectUri(errors.MSG_REDIRECT_URIS_TYPE)
    uris = tuple(dict.fromkeys(value))
    if len(uris) > MAX_REDIRECT_URIS:
        raise errors.InvalidRedirectUri(errors.MSG_TOO_MANY_REDIRECT_URIS.format(limit=MAX_REDIRECT_URIS))
    for uri in uris:
        _check_redirect_uri(uri)
    return uris


def _check_redirect_uri(uri: str) -> None:
    """RFC 6749 3.1.2 and RFC 8252 7.3/8.3: absolute, no fragment, https unless on this machine.

    Stricter than what an admin may save (any http URI): anyone can register, and the admin's
    own validation (the application model's) still runs when the client is created.
    """
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        raise errors.InvalidRedirectUri(
            errors.MSG_REDIRECT_URI_TOO_LONG.format(limit=MAX_REDIRECT_URI_LENGTH)
        )
    shown = uri[:200]
    if _CONTROL_CHARACTERS.search(uri):
        raise errors.InvalidRedirectUri(errors.MSG_CONTROL_CHARACTERS.format(name="redirect_uris"))
    if "#" in uri:
        raise errors.InvalidRedirectUri(errors.MSG_REDIRECT_URI_FRAGMENT.format(uri=shown))
    try:
        parts = urlsplit(uri)
        host, _port = parts.hostname, parts.port
    except ValueError:  # e.g. a port out of range, a broken IPv6 literal
        raise errors.InvalidRedirectUri(errors.MSG_REDIRECT_URI_NOT_ABSOLUTE.format(uri=shown)) from None
    if parts.scheme not in _REDIRECT_SCHEMES or not host:
        raise errors.InvalidRedirectUri(errors.MSG_REDIRECT_URI_NOT_ABSOLUTE.format(uri=shown))
    if parts.username is not None:
        raise errors.InvalidRedirectUri(errors.MSG_REDIRECT_URI_CREDENTIALS.format(uri=shown))
    if parts.scheme == "http" and not is_loopback_host(host):
        raise errors.InvalidRedirectUri(errors.MSG_REDIRECT_URI_NOT_HTTPS.format(uri=shown))
    try:
        _URL_VALIDATOR(uri)  # host syntax, whitespace, wildcards ("*" is no host)
    except ValidationError:
        raise errors.InvalidRedirectUri(errors.MSG_REDIRECT_URI_MALFORMED.format(uri=shown)) from None


def is_loopback_host(host: str) -> bool:
    """``localhost`` (and its subdomains, RFC 6761 6.3) or a loopback IP address."""
    host = host.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
