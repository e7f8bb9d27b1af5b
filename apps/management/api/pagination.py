"""Auth0's paging, both kinds.

Offset paging (every list): ``page`` (from 0) and ``per_page`` (default 50, at most 100), and with
``include_totals=true`` the envelope ``{"start", "limit", "length", "total", "<items>": [...]}``;
without it, a plain JSON array.

Checkpoint paging (``from``/``take``, where Auth0 has it: ``clients``, ``client-grants``,
``roles/{id}/users``, and ``logs`` in its own shape): ``take`` (default 50, 1 to 100) items after the
checkpoint ``from``, answered as ``{"<items>": [...], "next": "<checkpoint>"}``; ``next`` is there
only when more items follow, and is the ``from`` of the next request. A checkpoint is opaque (it
names a row, not a position), so rows added or removed between requests neither repeat nor skip
others. ``from`` or ``take`` in a request selects checkpoint paging (``page``/``per_page``/
``include_totals`` are then ignored, as Auth0 ignores them).

``Checkpoint`` reads ``from``/``take`` for every endpoint with checkpoints, the logs included (whose
checkpoint is a ``log_id`` and whose answer is Auth0's plain array with a ``Link`` header).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from apps.management.api.errors import bad_request

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100
DEFAULT_TAKE = 50
MAX_TAKE = 100
FROM, TAKE = "from", "take"
MSG_BOOLEAN = "Query validation error: '{name}' must be true or false."
MSG_TAKE = f"Query validation error: 'take' must be an integer from 1 to {MAX_TAKE}."
MSG_FROM = "Query validation error: 'from' must be the 'next' of an earlier answer."
_CURSOR_PREFIX = "pk:"


def _non_negative_int(request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise bad_request(
            f"Query validation error: '{name}' must be a non-negative integer.",
            error_code="invalid_query_string",
        )
    return int(raw)


def is_true(request, name: str) -> bool:
    return str(request.query_params.get(name, "")).lower() == "true"


def boolean_param(request, name: str) -> bool | None:
    """A ``true``/``false`` query parameter (any case); None when absent or empty, 400 otherwise."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        raise bad_request(MSG_BOOLEAN.format(name=name), error_code="invalid_query_string")
    return raw.lower() == "true"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A checkpoint read: at most ``take`` items after ``after`` (the request's ``from``, "" from
    the start)."""

    after: str
    take: int

    @classmethod
    def of(cls, request) -> Checkpoint | None:
        """The request's ``from``/``take``, or None when it pages by offset; 400 for a bad ``take``."""
        params = request.query_params
        if FROM not in params and TAKE not in params:
            return None
        raw = params.get(TAKE) or ""
        if raw and (not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_TAKE):
            raise bad_request(MSG_TAKE, error_code="invalid_query_string")
        return cls(after=params.get(FROM) or "", take=int(raw) if raw else DEFAULT_TAKE)


def checkpoint_of(row: Model) -> str:
    """The opaque checkpoint naming ``row`` (the ``next`` of an answer ending with it)."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{row.pk}".encode()).decode().rstrip("=")


def _pk_after(checkpoint: str) -> int | None:
    try:
        decoded = base64.urlsafe_b64decode(checkpoint + "=" * (-len(checkpoint) % 4)).decode()
    except (binascii.Error, ValueError):
        return None
    raw = decoded.removeprefix(_CURSOR_PREFIX) if decoded.startswith(_CURSOR_PREFIX) else ""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


def checkpoint_page(rows: QuerySet, checkpoint: Checkpoint, *, key: str, render: Callable) -> Response:
    """One checkpoint page of ``rows`` in primary-key order: ``{key: [...], "next": ...}``."""
    rows = rows.order_by("pk")
    if checkpoint.after:
        after = _pk_after(checkpoint.after)
        if after is None:
            raise bad_request(MSG_FROM, error_code="invalid_query_string")
        rows = rows.filter(pk__gt=after)
    page = list(rows[: checkpoint.take + 1])  # one more than asked: is there a next page?
    items = page[: checkpoint.take]
    body: dict[str, Any] = {key: [render(row) for row in items]}
    if len(page) > checkpoint.take:
        body["next"] = checkpoint_of(items[-1])
    return Response(body)


def paginated(request, rows: QuerySet | Sequence, *, key: str, render, checkpoints: bool = False) -> Response:
    """One page of ``rows`` (rendered by ``render``), in Auth0's shape for ``key`` (``clients``...).

    With ``checkpoints`` (the view's ``checkpoint_paging``; ``rows`` a QuerySet), a request with
    ``from``/``take`` gets a checkpoint page instead.
    """
    checkpoint = Checkpoint.of(request) if checkpoints else None
    if checkpoint is not None:
        return checkpoint_page(rows, checkpoint, key=key, render=render)
    page = _non_negative_int(request, "page", 0)
    per_page = _non_negative_int(request, "per_page", DEFAULT_PER_PAGE)
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise bad_request(
            f"Query validation error: 'per_page' must be between 1 and {MAX_PER_PAGE}.",
            error_code="invalid_query_string",
        )
    start = page * per_page
    items: list[Any] = [render(row) for row in rows[start : start + per_page]]
    if not is_true(request, "include_totals"):
        return Response(items)
    total = rows.count() if isinstance(rows, QuerySet) else len(rows)
    return Response({"start": start, "limit": per_page, "length": len(items), "total": total, key: items})


CHECKPOINT_PARAMETERS = [
    OpenApiParameter(
        FROM, OpenApiTypes.STR, description="Checkpoint paging: the 'next' of the previous page."
    ),
    OpenApiParameter(
        TAKE,
        {"type": "integer", "minimum": 1, "maximum": MAX_TAKE},
        description=f"Checkpoint paging: how many items (1 to {MAX_TAKE}, default {DEFAULT_TAKE}).",
    ),
]
