"""RFC 6750 section 3 bearer-token errors, as DRF exceptions with the exact JSON bodies.

Each error is also a DRF ``APIException`` subclass with the body as its ``detail``, so
even a view that forgets the kit's exception handler answers with the right status and
body; the handler in ``views.py`` adds the precise ``WWW-Authenticate``
header. Messages are constants so tests (and API developers) can assert against them.
Descriptions never echo token contents: they are safe to log and to show the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rest_framework import exceptions

# --- Messages ------------------------------------------------------------------------------
MSG_TOKEN_MISSING = "An access token is required: send it in the Authorization header with the Bearer scheme."
MSG_AUTHORIZATION_MALFORMED = "The Authorization header must be 'Bearer' followed by exactly one token."
MSG_TOKEN_MALFORMED = "The access token is not a well-formed JWT."
MSG_ALG_NOT_ALLOWED = "The access token is signed with an algorithm this API does not accept."
MSG_TYP_INVALID = "The access token is not a JWT access token: its typ header must be at+jwt (RFC 9068)."
MSG_CRIT_UNSUPPORTED = "The access token has critical header parameters this API does not understand."
MSG_KID_MISSING = "The access token has no kid header naming its signing key."
MSG_KEY_UNKNOWN = "No signing key published by the issuer matches the access token's kid."
MSG_KEY_ALG_MISMATCH = "The signing key named by the access token's kid is not a key for its alg."
MSG_JWKS_UNAVAILABLE = (
    "The issuer's signing keys (JWKS) could not be fetched, so the access token cannot be verified; "
    "try again later."
)
MSG_SIGNATURE_INVALID = "The access token's signature is invalid."
MSG_EXPIRED = "The access token expired."
MSG_NOT_YET_VALID = "The access token is not valid yet (nbf or iat is in the future)."
MSG_AUDIENCE_INVALID = "The access token is not intended for this API (aud)."
MSG_ISSUER_INVALID = "The access token was not issued by the issuer this API trusts (iss)."
MSG_CLAIM_MISSING = "The access token lacks the required {claim} claim."
MSG_CLAIM_INVALID = "The access token's {claim} claim is invalid."
MSG_TOKEN_INVALID = "The access token is invalid."
MSG_TOKEN_REVOKED = "The access token has been revoked."
MSG_DENY_LIST_UNAVAILABLE = (
    "The issuer's deny list could not be fetched, so the access token cannot be checked for "
    "revocation; try again later."
)
MSG_INSUFFICIENT_SCOPE = "The access token lacks the scope this operation requires: {scope}."

# RFC 6750 section 3: error_description and realm values may only contain these characters
# (no double quote, no backslash, printable ASCII), so nothing needs escaping inside the quotes.
_NOT_QUOTABLE = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


def quoted(value: str) -> str:
    """An RFC 7235 quoted-string holding only the characters RFC 6750 section 3 allows."""
    return '"' + _NOT_QUOTABLE.sub("", value) + '"'


def www_authenticate(*, realm: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """``Bearer <params>, realm="..."`` (RFC 6750 section 3). Auth-param order carries no meaning
    (RFC 7235 section 2.1); the error comes first so it is what a human reading the header sees."""
    pairs = [f"{name}={quoted(value)}" for name, value in params]
    pairs.append(f"realm={quoted(realm)}")
    return "Bearer " + ", ".join(pairs)


class BearerError:
    """Mixin for RFC 6750 section 3.1 errors: ``error`` code, ``description``, ``as_dict()``."""

    error: str
    description: str
    status_code: int

    def __init__(self, description: str) -> None:
        self.description = description
        super().__init__(detail=self.as_dict())  # type: ignore[call-arg]

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}

    def header_params(self) -> list[tuple[str, str]]:
        return [("error", self.error), ("error_description", self.description)]

    def www_authenticate(self, *, realm: str) -> str:
        return www_authenticate(realm=realm, params=self.header_params())


class InvalidRequest(BearerError, exceptions.ParseError):
    """400: the Authorization header is malformed (RFC 6750 section 3.1, ``invalid_request``)."""

    error = "invalid_request"


class InvalidToken(BearerError, exceptions.AuthenticationFailed):
    """401: the token is expired, forged, malformed or not for this API (``invalid_token``)."""

    error = "invalid_token"


class InsufficientScope(BearerError, exceptions.PermissionDenied):
    """403: the token is valid but lacks a scope the operation needs (``insufficient_scope``).

    ``scope`` lists every scope the operation requires (RFC 6750 section 3), space-delimited.
    """

    error = "insufficient_scope"

    def __init__(self, required: Iterable[str]) -> None:
        self.scope = " ".join(sorted(required))
        super().__init__(MSG_INSUFFICIENT_SCOPE.format(scope=self.scope))

    def as_dict(self) -> dict[str, str]:
        return {**super().as_dict(), "scope": self.scope}

    def header_params(self) -> list[tuple[str, str]]:
        return [("error", self.error), ("scope", self.scope), ("error_description", self.description)]
