"""Errors of the registration endpoint, rendered as RFC 7591 section 3.2.2 JSON.

RFC 7591 defines ``invalid_redirect_uri`` and ``invalid_client_metadata`` (HTTP 400). It has no
code for "registration is closed" or "too many requests", so those use the nearest codes of
RFC 6749 (``access_denied``, ``temporarily_unavailable``) in the same JSON shape, with the
HTTP status that says what happened (403, 429 with ``Retry-After``): a client library that
understands RFC 7591 errors reads them, and one that does not still gets the status right.
Messages are module constants so tests assert against them.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from django.http import HttpResponse

from apps.oauth.constants import TOKEN_RESPONSE_HEADERS

# --- Messages ------------------------------------------------------------------------------
MSG_REGISTRATION_DISABLED = "Dynamic client registration is not enabled for this tenant."
MSG_RATE_LIMITED = "Too many registration requests from this address; retry after {seconds} seconds."
MSG_METHOD_NOT_ALLOWED = "The registration endpoint accepts only POST requests."
MSG_NOT_JSON = "Content-Type must be application/json (RFC 7591 section 3.1)."
MSG_BAD_JSON = "The request body is not a JSON object."
MSG_BODY_TOO_LARGE = "The request body is too large."
MSG_NOT_A_STRING = "{name} must be a string."
MSG_NOT_A_STRING_LIST = "{name} must be an array of strings."
MSG_CONTROL_CHARACTERS = "{name} must not contain control characters."
MSG_CLIENT_NAME_LENGTH = "client_name must be 1 to {limit} characters long."
MSG_AUTH_METHOD_UNSUPPORTED = (
    "token_endpoint_auth_method '{value}' is not supported; use none, client_secret_basic or "
    "client_secret_post."
)
MSG_APPLICATION_TYPE_UNSUPPORTED = "application_type '{value}' is not supported; use web or native."
MSG_NATIVE_WITH_SECRET = (
    "A native application cannot keep a client secret (RFC 8252 section 8.5): register it with "
    "token_endpoint_auth_method none."
)
MSG_GRANT_TYPES_EMPTY = "grant_types must name at least one grant type."
MSG_GRANT_TYPE_UNSUPPORTED = (
    "Grant type '{value}' is not available to dynamically registered clients; use "
    "authorization_code, implicit, refresh_token or client_credentials."
)
MSG_RESPONSE_TYPE_UNSUPPORTED = (
    "Response type '{value}' is not supported; use code, token, id_token or 'id_token token'."
)
MSG_RESPONSE_TYPE_WITHOUT_GRANT = (
    "Response type '{response_type}' needs the {grant_type} grant type in grant_types (RFC 7591 section 2.1)."
)
MSG_GRANT_WITHOUT_RESPONSE_TYPE = (
    "Grant type {grant_type} needs one of these response types in response_types: {response_types} "
    "(RFC 7591 section 2.1)."
)
MSG_PUBLIC_CLIENT_CREDENTIALS = (
    "A public client (token_endpoint_auth_method none) cannot use the client_credentials grant: "
    "it has no secret to authenticate with."
)
MSG_REFRESH_WITHOUT_CODE = "The refresh_token grant type needs the authorization_code grant type."
MSG_REDIRECT_URIS_REQUIRED = "redirect_uris is required for the authorization_code and implicit grant types."
MSG_REDIRECT_URIS_TYPE = "redirect_uris must be a non-empty array of strings."
MSG_TOO_MANY_REDIRECT_URIS = "At most {limit} redirect URIs can be registered."
MSG_REDIRECT_URI_TOO_LONG = "A redirect URI can be at most {limit} characters long."
MSG_REDIRECT_URI_NOT_ABSOLUTE = "Redirect URI '{uri}' is not an absolute http(s) URI with a host."
MSG_REDIRECT_URI_NOT_HTTPS = (
    "Redirect URI '{uri}' must use https; http is accepted only for localhost and loopback addresses."
)
MSG_REDIRECT_URI_FRAGMENT = "Redirect URI '{uri}' must not contain a fragment (RFC 6749 section 3.1.2)."
MSG_REDIRECT_URI_CREDENTIALS = "Redirect URI '{uri}' must not contain a user name or password."
MSG_REDIRECT_URI_MALFORMED = "Redirect URI '{uri}' is not a valid URL."
MSG_REDIRECT_URI_INVALID = "Redirect URI is invalid: {reason}"


class RegistrationError(Exception):
    """Base of the endpoint's errors: ``error``, ``description``, ``status``, extra ``headers``."""

    error = "invalid_client_metadata"
    status = HTTPStatus.BAD_REQUEST

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    @property
    def headers(self) -> dict[str, str]:
        return {}

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}

    def as_response(self) -> HttpResponse:
        response = HttpResponse(
            json.dumps(self.as_dict()), status=self.status, content_type="application/json"
        )
        for name, value in (TOKEN_RESPONSE_HEADERS | self.headers).items():
            response[name] = value
        return response


class InvalidClientMetadata(RegistrationError):
    """RFC 7591 3.2.2: a metadata value is invalid or the values are inconsistent."""

    error = "invalid_client_metadata"


class InvalidRedirectUri(RegistrationError):
    """RFC 7591 3.2.2: one or more redirection URIs are invalid (or missing where required)."""

    error = "invalid_redirect_uri"


class RequestTooLarge(InvalidClientMetadata):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class MethodNotAllowed(RegistrationError):
    error = "invalid_request"
    status = HTTPStatus.METHOD_NOT_ALLOWED

    @property
    def headers(self) -> dict[str, str]:
        return {"Allow": "POST"}


class RegistrationDisabled(RegistrationError):
    """The tenant has not enabled registration: a refusal by policy, not a missing endpoint."""

    error = "access_denied"
    status = HTTPStatus.FORBIDDEN


class RegistrationRateLimited(RegistrationError):
    """Too many registrations from one address in the current window (RFC 6585 section 4)."""

    error = "temporarily_unavailable"
    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, retry_after: int) -> None:
        super().__init__(MSG_RATE_LIMITED.format(seconds=retry_after))
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
