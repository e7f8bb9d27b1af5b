"""RFC 6749 section 5.2 errors, with Auth0's wording where Auth0 has one.

Each error is an oauthlib ``OAuth2Error`` so it can be raised anywhere inside the
oauthlib pipeline (validator, grant) and is rendered by oauthlib as RFC 6749 JSON;
``as_response`` renders the same body for checks that run before oauthlib.
Messages are module constants so tests assert against them.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from django.http import HttpResponse
from oauthlib.oauth2.rfc6749 import errors as oauthlib_errors

from apps.oauth.constants import TOKEN_RESPONSE_HEADERS

# --- Messages ------------------------------------------------------------------------------
MSG_MISSING_GRANT_TYPE = "Missing required parameter: grant_type"
MSG_UNSUPPORTED_GRANT_TYPE = "Unsupported grant type: {grant_type}"
MSG_GRANT_TYPE_NOT_ALLOWED = "Grant type '{grant_type}' not allowed for the client."
MSG_DUPLICATE_PARAMETER = "Parameter '{name}' is included more than once (RFC 6749 section 3.2)."
MSG_BAD_CONTENT_TYPE = "Content-Type must be application/x-www-form-urlencoded or application/json."
MSG_BAD_JSON = "The request body is not a valid JSON object."
MSG_NON_STRING_PARAMETER = "Parameter '{name}' must be a string."
MSG_CONTROL_CHARACTERS = "Parameter '{name}' contains control characters (RFC 6749 Appendix A)."
MSG_BODY_TOO_LARGE = "The request body is too large."
MSG_METHOD_NOT_ALLOWED = "The token endpoint accepts only POST requests."
MSG_QUERY_NOT_ALLOWED = "Parameters must be sent in the request body, not the URL query."
MSG_CLIENT_AUTH_MISSING = (
    "Client authentication is required: send client_id and client_secret in the body "
    "(client_secret_post) or an HTTP Basic Authorization header (client_secret_basic)."
)
MSG_CLIENT_AUTH_FAILED = "Client authentication failed: unknown client, inactive client or wrong secret."
MSG_CLIENT_AUTH_MULTIPLE = "Use exactly one client authentication method per request (RFC 6749 section 2.3)."
MSG_CLIENT_AUTH_MALFORMED = "The HTTP Basic Authorization header is malformed."
MSG_PUBLIC_CLIENT_SECRET = (
    "This is a public client (token_endpoint_auth_method none): it must not send a client secret."
)
MSG_CLIENT_ID_MISMATCH = (
    "client_id in the body does not match the client authenticated by the Authorization header."
)
MSG_NO_AUDIENCE = "No audience parameter was provided, and no default audience has been configured"
MSG_SERVICE_NOT_FOUND = "Service not found: {audience}"
MSG_NO_CLIENT_GRANT = (
    'Client is not authorized to access "{audience}". You need to create a "client-grant" '
    "associated to this API."
)
MSG_SCOPES_NOT_GRANTED = "Client has not been granted scopes: {scopes}"
MSG_MALFORMED_SCOPE = "The scope parameter is malformed (RFC 6749 section 3.3)."
MSG_AUDIENCE_RESOURCE_MISMATCH = "audience and resource name different APIs; send one of them."
MSG_MULTIPLE_RESOURCES = "Only one resource (API) can be requested per token."
MSG_INVALID_RESOURCE = "The resource '{resource}' is not an absolute URI (RFC 8707 section 2)."
MSG_SIGNING_KEY_MISSING = "The tenant has no current signing key for {algorithm}."
MSG_RBAC_NOT_APPLIED = "Role-based access control was not applied to this user token."
MSG_CODE_REPLAYED = "Invalid authorization code: it was already used; the tokens it issued are revoked."
MSG_REFRESH_TOKEN_INVALID = "Unknown or invalid refresh token."
MSG_REFRESH_TOKEN_EXPIRED = (
    "Expired refresh token: its absolute lifetime or its inactivity lifetime has passed; sign in again."
)
MSG_PKCE_METHOD = "code_challenge_method must be S256 (plain is not accepted)."
MSG_MISSING_PARAMETER = "Missing required parameter: {name}"
MSG_UNKNOWN_REALM = "Unknown realm '{realm}': this tenant's user database is '{connection}'."
MSG_TOKEN_HOOK_FAILED = (
    "The token could not be issued: the tenant's token hook failed (recorded for the tenant's admins)."
)


class OAuthError(oauthlib_errors.OAuth2Error):
    """Base of our RFC 6749 errors: ``error``, ``description``, ``status_code``."""

    error = "invalid_request"
    status_code = HTTPStatus.BAD_REQUEST

    def __init__(self, description: str, *, request=None) -> None:
        super().__init__(description=description, status_code=int(self.status_code), request=request)

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}

    @property
    def headers(self) -> dict[str, str]:
        return {}

    def as_response(self) -> HttpResponse:
        response = HttpResponse(
            json.dumps(self.as_dict()), status=self.status_code, content_type="application/json"
        )
        for name, value in (TOKEN_RESPONSE_HEADERS | self.headers).items():
            response[name] = value
        return response


class InvalidRequest(OAuthError):
    error = "invalid_request"


class RequestTooLarge(InvalidRequest):
    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class MethodNotAllowed(InvalidRequest):
    status_code = HTTPStatus.METHOD_NOT_ALLOWED

    @property
    def headers(self) -> dict[str, str]:
        return {"Allow": "POST"}


class InvalidClient(OAuthError):
    """RFC 6749 section 5.2: 401 with a challenge for the scheme clients may use."""

    error = "invalid_client"
    status_code = HTTPStatus.UNAUTHORIZED

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Basic realm="token"'}


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"
    status_code = HTTPStatus.FORBIDDEN  # Auth0 answers 403 here


class AccessDenied(OAuthError):
    error = "access_denied"
    status_code = HTTPStatus.FORBIDDEN  # Auth0 answers 403 here


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class InvalidTarget(OAuthError):
    error = "invalid_target"  # RFC 8707 section 2


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class SignInFailed(OAuthError):
    """A refused end-user sign-in at the token endpoint (``apps.accounts.errors.SignInRefused``),
    rendered with the refusal's own Auth0 error name and status: ``invalid_grant`` 403 for wrong
    credentials, ``too_many_attempts`` 429 (with ``Retry-After`` when the refusal says when to
    come back), ``mfa_required`` 403 with the ``mfa_token`` to continue with."""

    def __init__(self, refusal, *, request=None, extra: dict[str, str] | None = None) -> None:
        self.error = refusal.code
        self.status_code = refusal.status
        self.retry_after = refusal.retry_after
        self.extra = dict(extra or {})
        super().__init__(refusal.message, request=request)

    @property
    def twotuples(self) -> list[tuple[str, str]]:
        """oauthlib renders its JSON body from these: the extra members (``mfa_token``) too."""
        return [*super().twotuples, *self.extra.items()]

    def as_dict(self) -> dict[str, str]:
        return super().as_dict() | self.extra

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


class ServerError(OAuthError):
    """A failure on our side, told to the client as RFC 6749 JSON (never an HTML page or a traceback).

    500, not 503: the failure is not temporary (a bug in a hook, a missing key fails the same
    way on every retry), and 503 would invite clients and load balancers to retry it.
    """

    error = "server_error"
    status_code = HTTPStatus.INTERNAL_SERVER_ERROR


class ServerMisconfigured(ServerError):
    pass
