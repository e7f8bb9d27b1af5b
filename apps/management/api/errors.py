"""Auth0's Management API error shape, from one exception handler (``management_exception_handler``).

Every error answer is ``{"statusCode", "error", "message", "errorCode"}``: ``error`` is the HTTP
reason phrase, ``message`` says what is wrong in words, ``errorCode`` is a stable code tests and
scripts can match (Auth0's where it has one: ``invalid_body``, ``invalid_query_string``,
``insufficient_scope``, ``inexistent_<resource>``, ...). Services' ``ValidationError`` codes
become ``errorCode`` as they are.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

MSG_MISSING_TOKEN = "Missing authentication"
MSG_BAD_TOKEN = "Invalid token"
MSG_INSUFFICIENT_SCOPE = "Insufficient scope, expected any of: {scopes}"
MSG_NOT_FOUND = "The {resource} does not exist"
MSG_PAYLOAD_TOO_LARGE = "Payload too large: the request body is limited to {limit} bytes"


class ManagementApiError(exceptions.APIException):
    """An error answered in Auth0's shape: ``status``, ``message`` and ``error_code``."""

    def __init__(self, *, status: int, message: str, error_code: str, headers: dict[str, str] | None = None):
        super().__init__(detail=message, code=error_code)
        self.status_code = int(status)
        self.message = message
        self.error_code = error_code
        self.extra_headers = headers or {}


def not_found(resource: str, *, error_code: str | None = None) -> ManagementApiError:
    """Auth0's 404: ``The client does not exist``, ``inexistent_client``."""
    return ManagementApiError(
        status=HTTPStatus.NOT_FOUND,
        message=MSG_NOT_FOUND.format(resource=resource.replace("_", " ")),
        error_code=error_code or f"inexistent_{resource}",
    )


def bad_request(message: str, *, error_code: str = "invalid_body") -> ManagementApiError:
    return ManagementApiError(status=HTTPStatus.BAD_REQUEST, message=message, error_code=error_code)


def conflict(message: str, *, error_code: str = "conflict") -> ManagementApiError:
    return ManagementApiError(status=HTTPStatus.CONFLICT, message=message, error_code=error_code)


def error_body(*, status: int, message: str, error_code: str) -> dict[str, Any]:
    return {
        "statusCode": int(status),
        "error": HTTPStatus(int(status)).phrase,
        "message": message,
        "errorCode": error_code,
    }


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    """DRF's nested error details as readable ``field: message`` lines."""
    if isinstance(detail, dict):
        lines: list[str] = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            lines += _flatten(value, f"{prefix}{name}." if name else prefix)
        return lines
    if isinstance(detail, list):
        return [line for item in detail for line in _flatten(item, prefix)]
    field = prefix.rstrip(".")
    return [f"{field}: {detail}" if field else str(detail)]


def _django_validation_error(exc: DjangoValidationError) -> ManagementApiError:
    messages = exc.messages
    code = getattr(exc, "code", None)
    if code is None and hasattr(exc, "error_list"):
        code = next((error.code for error in exc.error_list if error.code), None)
    if hasattr(exc, "error_dict"):
        messages = [f"{field}: {msg}" for field, errors in exc.message_dict.items() for msg in errors]
    return bad_request("; ".join(messages), error_code=code or "invalid_body")


def management_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER`` for the Management API: everything in Auth0's error shape."""
    if isinstance(exc, DjangoValidationError):
        exc = _django_validation_error(exc)
    elif isinstance(exc, Http404):
        exc = ManagementApiError(status=HTTPStatus.NOT_FOUND, message="Not found", error_code="not_found")
    if isinstance(exc, ManagementApiError):
        status, message, code = exc.status_code, exc.message, exc.error_code
        headers = exc.extra_headers
    elif isinstance(exc, exceptions.NotAuthenticated):
        status, message, code, headers = HTTPStatus.UNAUTHORIZED, MSG_MISSING_TOKEN, "missing_token", {}
    elif isinstance(exc, exceptions.AuthenticationFailed):
        status, message, code, headers = HTTPStatus.UNAUTHORIZED, str(exc.detail), "invalid_token", {}
    elif isinstance(exc, exceptions.ParseError):
        status, message, code, headers = HTTPStatus.BAD_REQUEST, str(exc.detail), "invalid_body", {}
    elif isinstance(exc, exceptions.ValidationError):
        status, code, headers = HTTPStatus.BAD_REQUEST, "invalid_body", {}
        message = "Payload validation error: " + "; ".join(_flatten(exc.detail))
    elif isinstance(exc, exceptions.APIException):
        status, message, headers = exc.status_code, str(exc.detail), {}
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
    else:
        return None  # a bug: Django's 500 handler (JSON under /t/) takes it
    response = Response(error_body(status=status, message=message, error_code=code), status=status)
    if int(status) == HTTPStatus.UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Bearer realm="api/v2"'
    for name, value in headers.items():
        response[name] = value
    return response
