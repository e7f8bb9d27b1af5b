"""Client authentication at the token and revocation endpoints (RFC 6749 section 2.3, OIDC Core 9).

A client that holds a secret (registered ``client_secret_post`` or ``client_secret_basic``)
may use either method (RFC 6749 2.3.1: the server MUST support Basic; most libraries
default to it, Auth0 registers ``client_secret_post``), but exactly one per request. A
public client (``none``) sends no secret and is refused if it does. Secrets are checked by
DOT against the keyed hash.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from apps.oauth import errors
from apps.oauth.constants import AuthMethod

SECRET_METHODS = frozenset({AuthMethod.CLIENT_SECRET_BASIC, AuthMethod.CLIENT_SECRET_POST})


def sends_credentials(request) -> bool:
    """Whether the request carries a secret, by either method (then it must authenticate)."""
    header = request.headers.get("HTTP_AUTHORIZATION", "")
    return header[:6].lower() == "basic " or bool(getattr(request, "client_secret", None))


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
    """A client with a secret may use either secret method; a public client none."""
    expected = request.client.token_endpoint_auth_method
    if expected == AuthMethod.NONE and method != AuthMethod.NONE:
        raise errors.InvalidClient(errors.MSG_PUBLIC_CLIENT_SECRET, request=request)
    if expected in SECRET_METHODS and method not in SECRET_METHODS:
        raise errors.InvalidClient(errors.MSG_CLIENT_AUTH_MISSING, request=request)
