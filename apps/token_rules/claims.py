"""Which claim names a token rule (or the token hook) may set, and which values.

Auth0 asks custom claims to be namespaced (``https://example.com/plan``) so they cannot
clash with registered claims or with claims a future standard defines. We require an
absolute ``http(s)`` URL with a host, and refuse every claim our tokens or the standards
already give a meaning to, whatever its spelling. Both the admin (through the model's
``clean``) and the evaluation of the hook's result use these checks: one rule, one place.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from django.core.exceptions import ValidationError

# RFC 7519 4.1, RFC 9068 2.2, RFC 8693 4, RFC 7800 3, OIDC Core 2 and 5.1, and Auth0's own:
# what our access tokens carry or a verifier could read with a meaning of its own.
RESERVED_CLAIMS = frozenset(
    {
        "iss", "sub", "aud", "exp", "nbf", "iat", "jti",  # RFC 7519
        "client_id", "scope", "auth_time", "acr", "amr",  # RFC 9068
        "azp", "gty", "permissions", "org_id", "org_name",  # Auth0
        "act", "may_act", "cnf",  # RFC 8693, RFC 7800
        "nonce", "at_hash", "c_hash", "sid", "kid", "typ", "alg",  # OIDC, JOSE header names
        "roles", "groups", "entitlements",  # RFC 9068 2.2.3.1 (RFC 7643 attributes)
    }
)  # fmt: skip
MAX_CLAIM_NAME_LENGTH = 255
MAX_CLAIM_VALUE_BYTES = 2048
MAX_CLAIMS_PER_RULE = 20

MSG_CLAIM_RESERVED = "'{name}' is a registered claim; a rule cannot set it."
MSG_CLAIM_NOT_NAMESPACED = (
    "'{name}' is not namespaced: custom claim names are absolute http(s) URLs, e.g. https://example.com/plan."
)
MSG_CLAIM_NAME_TOO_LONG = "Claim names are at most 255 characters."
MSG_CLAIM_VALUE_NULL = "Claim '{name}' has no value (null)."
MSG_CLAIM_VALUE_NOT_JSON = (
    "Claim '{name}' has a value that is not JSON (a string, number, boolean, list or object)."
)
MSG_CLAIM_VALUE_TOO_LARGE = "Claim '{name}' is larger than 2048 bytes as JSON."
MSG_CLAIMS_TOO_MANY = "A rule sets at most 20 claims."
MSG_CLAIMS_NOT_OBJECT = (
    'Claims are a JSON object of claim name to value, e.g. {"https://example.com/plan": "gold"}.'
)


def claim_name_error(name: object) -> str | None:
    """Why ``name`` cannot be a custom claim, or None when it can."""
    if not isinstance(name, str) or not name:
        return MSG_CLAIM_NOT_NAMESPACED.format(name=name)
    if len(name) > MAX_CLAIM_NAME_LENGTH:
        return MSG_CLAIM_NAME_TOO_LONG
    if name.lower() in RESERVED_CLAIMS:
        return MSG_CLAIM_RESERVED.format(name=name)
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        return MSG_CLAIM_NOT_NAMESPACED.format(name=name)
    try:
        parts = urllib.parse.urlsplit(name)
    except ValueError:
        return MSG_CLAIM_NOT_NAMESPACED.format(name=name)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return MSG_CLAIM_NOT_NAMESPACED.format(name=name)
    return None


def claim_value_error(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be the value of claim ``name``, or None when it can."""
    if value is None:
        return MSG_CLAIM_VALUE_NULL.format(name=name)
    try:
        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError):
        return MSG_CLAIM_VALUE_NOT_JSON.format(name=name)
    if len(encoded.encode()) > MAX_CLAIM_VALUE_BYTES:
        return MSG_CLAIM_VALUE_TOO_LARGE.format(name=name)
    return None


def validate_claim_names(names, *, field: str) -> None:
    """Raise one ``ValidationError`` (code ``invalid_claim``) listing every bad name in ``names``."""
    problems = [error for name in names if (error := claim_name_error(name))]
    if problems:
        raise ValidationError({field: problems}, code="invalid_claim")
