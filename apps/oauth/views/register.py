"""``/t/<tenant>/oidc/register``: RFC 7591 dynamic client registration (open, like Auth0's).

No initial access token (RFC 7591 section 3): when the tenant enables registration, anyone
may register a client, so each client IP address is rate-limited per tenant. Called by
programs with a JSON body, never by a browser form: exempt from CSRF, no CORS.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from apps.core.client_ip import client_ip
from apps.oauth.constants import JSON_CONTENT_TYPE, TOKEN_RESPONSE_HEADERS
from apps.oauth.registration import errors
from apps.oauth.registration.metadata import parse_client_metadata
from apps.oauth.registration.services import client_register, registration_admit


@csrf_exempt
def register_view(request: HttpRequest) -> HttpResponse:
    """Checks in this order: method, tenant switch and rate limit, body, metadata; then registers."""
    try:
        if request.method != "POST":
            raise errors.MethodNotAllowed(errors.MSG_METHOD_NOT_ALLOWED)
        ip = client_ip(request)
        registration_admit(tenant=request.tenant, ip=ip)
        metadata = parse_client_metadata(_json_object(request))
        registered = client_register(tenant=request.tenant, metadata=metadata, ip=ip)
    except errors.RegistrationError as error:
        return error.as_response()
    response = HttpResponse(
        json.dumps(registered.response_body()), status=HTTPStatus.CREATED, content_type=JSON_CONTENT_TYPE
    )
    for name, value in TOKEN_RESPONSE_HEADERS.items():  # it carries a secret: never cached
        response[name] = value
    return response


def _json_object(request: HttpRequest) -> dict:
    """RFC 7591 section 3.1: the request is a JSON object sent as ``application/json``."""
    if request.content_type != JSON_CONTENT_TYPE:
        raise errors.InvalidClientMetadata(errors.MSG_NOT_JSON)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise errors.RequestTooLarge(errors.MSG_BODY_TOO_LARGE)
    try:
        document = json.loads(request.body)
    except RequestDataTooBig as exc:
        raise errors.RequestTooLarge(errors.MSG_BODY_TOO_LARGE) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.InvalidClientMetadata(errors.MSG_BAD_JSON) from exc
    if not isinstance(document, dict):
        raise errors.InvalidClientMetadata(errors.MSG_BAD_JSON)
    return document
