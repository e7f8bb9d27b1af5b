"""Validators for protocol strings shared by several apps."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN_RE = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+$")


def validate_scope_token(value: str) -> None:
    if not SCOPE_TOKEN_RE.match(value):
        raise ValidationError(
            "A scope is printable ASCII without spaces, double quotes or backslashes (RFC 6749 section 3.3).",
            code="invalid_scope",
        )
