"""Turn a token-endpoint HTTP request into OAuth parameters, refusing malformed input.

Runs before oauthlib so that every malformed request gets a specific RFC 6749 error:
wrong content type, oversize or unparsable body, repeated parameters (RFC 6749
section 3.2; ``resource`` excepted, RFC 8707 section 2), query-string parameters.
Auth0's SDKs post JSON with explicit nulls; a null means "not sent".
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest

from apps.oauth import constants, errors
from apps.oauth.grants.registry import SUPPORTED_GRANT_TYPES

Params = list[tuple[str, str]]
_REPEATABLE = frozenset({constants.PARAM_RESOURCE})
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def parse_token_request(request: HttpRequest) -> Params:
    """The request's body parameters, in order. Raises an ``errors.OAuthError``."""
    params = parse_body_params(request)
    _check_grant_type(params)
    return params


def parse_body_params(request: HttpRequest) -> Params:
    """Form or JSON body parameters with the token endpoint's checks, but no ``grant_type`` rule
    (for the other endpoints clients post to the same way, e.g. ``mfa/challenge``)."""
    if request.META.get("QUERY_STRING"):
        raise errors.InvalidRequest(errors.MSG_QUERY_NOT_ALLOWED)
    content_type = request.content_type
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise errors.RequestTooLarge(errors.MSG_BODY_TOO_LARGE)
    if content_type == constants.FORM_CONTENT_TYPE:
        params = _parse_form(_read_body(request))
    elif content_type == constants.JSON_CONTENT_TYPE:
        params = _parse_json(_read_body(request))
    else:
        raise errors.InvalidRequest(errors.MSG_BAD_CONTENT_TYPE)
    _reject_duplicates(params)
    _reject_control_characters(params)
    return params


def _reject_control_characters(params: Params) -> None:
    """RFC 6749 Appendix A: parameter values are visible characters; a control character
    (NUL above all, which Postgres refuses in text) is never part of a valid request."""
    for name, value in params:
        if _CONTROL_CHARACTERS.search(value) or _CONTROL_CHARACTERS.search(name):
            raise errors.InvalidRequest(
                errors.MSG_CONTROL_CHARACTERS.format(name=name[:50].encode("unicode_escape").decode())
            )


def _check_grant_type(params: Params) -> None:
    grant_type = next((value for name, value in params if name == constants.PARAM_GRANT_TYPE), "")
    if not grant_type:
        raise errors.InvalidRequest(errors.MSG_MISSING_GRANT_TYPE)
    if grant_type not in SUPPORTED_GRANT_TYPES:
        raise errors.UnsupportedGrantType(
            errors.MSG_UNSUPPORTED_GRANT_TYPE.format(grant_type=grant_type[:100])
        )


def _read_body(request: HttpRequest) -> bytes:
    from django.core.exceptions import RequestDataTooBig

    try:
        return request.body
    except RequestDataTooBig as exc:
        raise errors.RequestTooLarge(errors.MSG_BODY_TOO_LARGE) from exc


def _parse_form(body: bytes) -> Params:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.InvalidRequest("The request body is not valid UTF-8.") from exc
    try:
        return parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except ValueError as exc:
        raise errors.InvalidRequest("The request body is not valid form data.") from exc


def _parse_json(body: bytes) -> Params:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.InvalidRequest(errors.MSG_BAD_JSON) from exc
    if not isinstance(document, dict):
        raise errors.InvalidRequest(errors.MSG_BAD_JSON)
    params: Params = []
    for name, value in document.items():
        if value is None:
            continue
        values = value if name in _REPEATABLE and isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, str):
                raise errors.InvalidRequest(errors.MSG_NON_STRING_PARAMETER.format(name=name))
            params.append((name, item))
    return params


def _reject_duplicates(params: Params) -> None:
    seen: set[str] = set()
    for name, _ in params:
        if name in seen and name not in _REPEATABLE:
            raise errors.InvalidRequest(errors.MSG_DUPLICATE_PARAMETER.format(name=name))
        seen.add(name)
