"""Client authentication at the token endpoint (RFC 6749 section 2.3, OIDC Core section 9).

A client uses exactly one method per request, and the one it registered
(``token_endpoint_auth_method``). Secrets are checked by DOT against the keyed hash.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from apps.oauth import errors
from apps.oauth.constants import AuthMethod


def used_method(request) -> str:
    """Which method the request used; refuses none, both, or a malformed header."""
    header = request.headers.get("HTTP_AUTHORIZATION", "")
    has_basic = header[:6].lower() == "basic "
    has_body_secret = bool(getattr(request, "client_secret", None))
    if has_basic and has_body_secret:
        raise errors.InvalidRequest(errors.MSG_CLIENT_AUTH_MULTIPLE, request=request)
    if has_basic:
        client_id = basic_client_id(header)
        if request.client_id and request.client_id != client_id:
            raise errors.InvalidRequest(errors.MSG_CLIENT_ID_MISMATCH, request=request)
        return AuthMethod.CLIENT_SECRET_BASIC
    if has_body_secret and request.client_id:
        return AuthMethod.CLIENT_SECRET_POST
    raise errors.InvalidClient(errors.MSG_CLIENT_AUTH_MISSING, request=request)


def basic_client_id(header: str) -> str:
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        client_id, _ = decoded.split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise errors.InvalidClient(errors.MSG_CLIENT_AUTH_MALFORMED) from exc
    return unquote_plus(client_id)


def check_registered_method(request, method: str) -> None:
    expected = request.client.token_endpoint_auth_method
    if expected != method:
        raise errors.InvalidClient(
            errors.MSG_CLIENT_AUTH_METHOD.format(expected=expected, used=method), request=request
        )
