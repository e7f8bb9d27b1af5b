"""Auth0's MFA API under a tenant's issuer: ``mfa/associate``, ``mfa/challenge``, ``mfa/authenticators``.

What a first-party app needs to finish a password-grant sign-in that answered ``mfa_required``
(Auth0: "Authenticate using the resource owner password flow with MFA", "Manage authenticator
factors using the MFA API"). The rules are in ``apps.accounts.mfa``; these views parse, check
who is calling, and render Auth0's JSON (``{"error", "error_description"}`` on failure).

Who is calling:
- ``mfa/associate`` and ``mfa/authenticators`` take ``Authorization: Bearer`` with either the
  ``mfa_token`` of an ``mfa_required`` answer, or an access token of this tenant for the MFA
  API (audience ``<issuer>mfa/``) with the ``enroll`` (associate) or ``read:authenticators``
  (list) scope. With only an ``mfa_token``, a user who already has a confirmed authenticator
  cannot associate another ("User is already enrolled"): they must pass the existing factor first.
- ``mfa/challenge`` authenticates the client exactly as the token endpoint does (the same
  validator), then checks the ``mfa_token`` was issued to that client.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request as OAuthRequest

from apps.accounts.errors import SignInRefused
from apps.accounts.mfa.selectors import authenticator_list, mfa_enrolled
from apps.accounts.mfa.services import MfaUnavailable, totp_associate
from apps.accounts.mfa.tokens import mfa_token_client_id, mfa_token_read
from apps.accounts.models import MfaAuthenticator, MfaRecoveryCode, User
from apps.applications.models import Application
from apps.oauth import errors
from apps.oauth.backends import context_for
from apps.oauth.claims import user_id_from_subject
from apps.oauth.constants import TOKEN_RESPONSE_HEADERS
from apps.oauth.context import bound
from apps.oauth.issuer import issuer_for_request
from apps.oauth.mfa_api import SCOPE_ENROLL, SCOPE_READ_AUTHENTICATORS, looks_like_jwt, mfa_audience
from apps.oauth.request_parsing import parse_body_params
from apps.oauth.tokens import verify_access_token

AUTHENTICATOR_TYPE_OTP = MfaAuthenticator.Type.OTP.value
AUTHENTICATOR_TYPE_RECOVERY_CODE = "recovery-code"
CHALLENGE_TYPE_OTP = "otp"
MAX_BODY_BYTES = 4096

MSG_BEARER_MISSING = "Send an mfa_token or an MFA API access token as 'Authorization: Bearer <token>'."
MSG_ACCESS_TOKEN_INVALID = "The access token is invalid, expired or revoked."
MSG_ACCESS_TOKEN_AUDIENCE = "The access token is not for the MFA API (audience {audience})."
MSG_ACCESS_TOKEN_SCOPE = "The access token lacks the '{scope}' scope."
MSG_ALREADY_ENROLLED = "User is already enrolled."
MSG_AUTHENTICATOR_TYPES_MISSING = (
    'authenticator_types is required: a list of authenticator types, e.g. ["otp"].'
)
MSG_AUTHENTICATOR_TYPE_UNSUPPORTED = "Only the otp authenticator type is supported."
MSG_MFA_TOKEN_MISSING = "Missing required parameter: mfa_token"
MSG_CHALLENGE_TYPE_UNSUPPORTED = (
    "The user does not support the requested challenge type ({types}). Supported type: otp."
)
MSG_NOT_ENROLLED = "User is not enrolled. Associate an authenticator first (mfa/associate)."
MSG_AUTHENTICATOR_UNKNOWN = "Unknown authenticator_id."
MSG_BAD_BODY = "The request body must be a JSON object or form data."


class MfaApiError(Exception):
    """An answer of the MFA API other than a sign-in refusal: ``error``, description, status."""

    def __init__(self, error: str, description: str, status: HTTPStatus, *, bearer: bool = False) -> None:
        super().__init__(description)
        self.error, self.description, self.status, self.bearer = error, description, status, bearer


def _json(body: object, status: int = HTTPStatus.OK, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    for name, value in (TOKEN_RESPONSE_HEADERS | (headers or {})).items():
        response[name] = value
    return response


def _error_response(error: Exception) -> HttpResponse:
    if isinstance(error, SignInRefused):
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
        return _json({"error": error.code, "error_description": error.message}, error.status, headers)
    if isinstance(error, errors.OAuthError):
        return _json(error.as_dict(), error.status_code, error.headers)
    assert isinstance(error, MfaApiError)  # noqa: S101
    headers = {}
    if error.bearer:  # RFC 6750 section 3
        headers["WWW-Authenticate"] = (
            f'Bearer error="{error.error}"' if error.error != "unauthorized" else "Bearer"
        )
    return _json({"error": error.error, "error_description": error.description}, error.status, headers)


# --- Who is calling ------------------------------------------------------------------------------


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise MfaApiError("unauthorized", MSG_BEARER_MISSING, HTTPStatus.UNAUTHORIZED, bearer=True)
    return token


def _user_from_access_token(request: HttpRequest, token: str, *, scope: str) -> User:
    """The end user of an MFA API access token (RFC 6750 errors when it is not one)."""
    issuer = issuer_for_request(request)
    claims = verify_access_token(token, tenant_id=request.tenant.pk, issuer=issuer)
    if claims is None:
        raise MfaApiError("invalid_token", MSG_ACCESS_TOKEN_INVALID, HTTPStatus.UNAUTHORIZED, bearer=True)
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    expected = mfa_audience(issuer)
    if expected not in audiences:
        raise MfaApiError(
            "invalid_token",
            MSG_ACCESS_TOKEN_AUDIENCE.format(audience=expected),
            HTTPStatus.UNAUTHORIZED,
            bearer=True,
        )
    if scope not in str(claims.get("scope", "")).split():
        raise MfaApiError(
            "insufficient_scope",
            MSG_ACCESS_TOKEN_SCOPE.format(scope=scope),
            HTTPStatus.FORBIDDEN,
            bearer=True,
        )
    user_id = user_id_from_subject(str(claims.get("sub", "")))
    user = (
        User.objects.filter(pk=user_id, tenant_id=request.tenant.pk, is_active=True).first()
        if user_id is not None
        else None
    )
    if user is None:
        raise MfaApiError("invalid_token", MSG_ACCESS_TOKEN_INVALID, HTTPStatus.UNAUTHORIZED, bearer=True)
    return user


def _bearer_user(request: HttpRequest, *, scope: str) -> tuple[User, bool]:
    """The user the bearer credential speaks for, and whether it was (only) an ``mfa_token``."""
    token = _bearer_token(request)
    if looks_like_jwt(token):
        return _user_from_access_token(request, token, scope=scope), False
    claims = mfa_token_read(tenant=request.tenant, token=token, client_id=mfa_token_client_id(token))
    return claims.user, True


def _authenticated_client(request: HttpRequest, params: list[tuple[str, str]]) -> Application:
    """The client, authenticated exactly as at the token endpoint (our validator; RFC 6749 2.3)."""
    context = context_for(request, params)
    headers = {}
    if "HTTP_AUTHORIZATION" in request.META:
        headers["HTTP_AUTHORIZATION"] = request.META["HTTP_AUTHORIZATION"]
    oauth_request = OAuthRequest(
        request.build_absolute_uri(), http_method="POST", body=params, headers=headers
    )
    validator = oauth2_settings.OAUTH2_VALIDATOR_CLASS()
    with bound(context):
        if validator.client_authentication_required(oauth_request):
            validator.authenticate_client(oauth_request)  # raises InvalidClient
        elif not validator.authenticate_client_id(oauth_request.client_id, oauth_request):
            raise errors.InvalidClient(errors.MSG_CLIENT_AUTH_FAILED)
    return oauth_request.client


# --- Endpoints -----------------------------------------------------------------------------------


def _authenticator_types(request: HttpRequest) -> list[str]:
    """``authenticator_types`` from a JSON body (a list, Auth0's shape) or form data (repeated)."""
    if len(request.body) > MAX_BODY_BYTES:
        raise errors.RequestTooLarge(errors.MSG_BODY_TOO_LARGE)
    if request.content_type == "application/json":
        try:
            document = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise errors.InvalidRequest(MSG_BAD_BODY) from None
        if not isinstance(document, dict):
            raise errors.InvalidRequest(MSG_BAD_BODY)
        value = document.get("authenticator_types")
        types = [value] if isinstance(value, str) else value
    else:
        types = request.POST.getlist("authenticator_types") or request.POST.getlist("authenticator_types[]")
    if not types or not isinstance(types, list) or not all(isinstance(item, str) for item in types):
        raise errors.InvalidRequest(MSG_AUTHENTICATOR_TYPES_MISSING)
    return types


@csrf_exempt
@require_POST
def mfa_associate_view(request: HttpRequest) -> HttpResponse:
    """``POST mfa/associate``: a new (unconfirmed) OTP authenticator; the first valid code confirms it."""
    try:
        user, only_mfa_token = _bearer_user(request, scope=SCOPE_ENROLL)
        types = _authenticator_types(request)
        if AUTHENTICATOR_TYPE_OTP not in types:
            raise MfaApiError(
                "unsupported_challenge_type", MSG_AUTHENTICATOR_TYPE_UNSUPPORTED, HTTPStatus.BAD_REQUEST
            )
        if only_mfa_token and mfa_enrolled(user=user):
            raise MfaApiError("access_denied", MSG_ALREADY_ENROLLED, HTTPStatus.FORBIDDEN)
        try:
            association = totp_associate(tenant=request.tenant, user=user)
        except MfaUnavailable as unavailable:
            raise MfaApiError(
                "unsupported_challenge_type", unavailable.message, HTTPStatus.BAD_REQUEST
            ) from None
    except (MfaApiError, SignInRefused, errors.OAuthError) as error:
        return _error_response(error)
    body = {
        "authenticator_type": AUTHENTICATOR_TYPE_OTP,
        "secret": association.secret,
        "barcode_uri": association.barcode_uri,
    }
    if association.recovery_codes:  # only at the first enrolment (Auth0)
        body["recovery_codes"] = association.recovery_codes
    return _json(body)


@csrf_exempt
@require_POST
@sensitive_post_parameters("client_secret", "mfa_token")
def mfa_challenge_view(request: HttpRequest) -> HttpResponse:
    """``POST mfa/challenge``: which challenge the client should answer at the token endpoint (``otp``)."""
    try:
        params = parse_body_params(request)
        client = _authenticated_client(request, params)
        values = dict(params)
        token = values.get("mfa_token", "")
        if not token:
            raise errors.InvalidRequest(MSG_MFA_TOKEN_MISSING)
        claims = mfa_token_read(tenant=request.tenant, token=token, client_id=client.client_id)
        requested = values.get("challenge_type", "").split()
        if requested and CHALLENGE_TYPE_OTP not in requested:
            raise MfaApiError(
                "unsupported_challenge_type",
                MSG_CHALLENGE_TYPE_UNSUPPORTED.format(types=", ".join(requested)[:100]),
                HTTPStatus.BAD_REQUEST,
            )
        confirmed = authenticator_list(tenant=request.tenant, user=claims.user, confirmed_only=True)
        if not confirmed:
            raise MfaApiError("association_required", MSG_NOT_ENROLLED, HTTPStatus.BAD_REQUEST)
        authenticator_id = values.get("authenticator_id")
        if authenticator_id and authenticator_id not in {row.public_id for row in confirmed}:
            raise errors.InvalidRequest(MSG_AUTHENTICATOR_UNKNOWN)
    except (MfaApiError, SignInRefused, errors.OAuthError) as error:
        return _error_response(error)
    return _json({"challenge_type": CHALLENGE_TYPE_OTP})


@csrf_exempt
@require_GET
def mfa_authenticators_view(request: HttpRequest) -> HttpResponse:
    """``GET mfa/authenticators``: the user's authenticators as Auth0 lists them (no secrets)."""
    try:
        user, _ = _bearer_user(request, scope=SCOPE_READ_AUTHENTICATORS)
    except (MfaApiError, SignInRefused) as error:
        return _error_response(error)
    rows = authenticator_list(tenant=request.tenant, user=user)
    body = [{"id": row.public_id, "authenticator_type": row.type, "active": row.confirmed} for row in rows]
    has_recovery_codes = (
        any(row.confirmed for row in rows)
        and MfaRecoveryCode.objects.for_tenant(request.tenant)
        .filter(user=user, used_at__isnull=True)
        .exists()
    )
    if has_recovery_codes:
        body.append(
            {
                "id": f"{AUTHENTICATOR_TYPE_RECOVERY_CODE}|dev_{user.pk}",
                "authenticator_type": AUTHENTICATOR_TYPE_RECOVERY_CODE,
                "active": True,
            }
        )
    return _json(body)
