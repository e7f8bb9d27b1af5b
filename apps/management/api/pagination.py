"""Auth0's paging: ``page`` (from 0) and ``per_page`` (default 50, at most 100), and with
``include_totals=true`` the envelope ``{"start", "limit", "length", "total", "<items>": [...]}``;
without it, a plain JSON array."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.response import Response

from apps.management.api.errors import bad_request

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100


def _non_negative_int(request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise bad_request(
            f"Query validation error: '{name}' must be a non-negative integer.",
            error_code="invalid_query_string",
        )
    return int(raw)


def is_true(request, name: str) -> bool:
    return str(request.query_params.get(name, "")).lower() == "true"


def paginated(request, rows: QuerySet | Sequence, *, key: str, render) -> Response:
    """One page of ``rows`` (rendered by ``render``), in Auth0's shape for ``key`` (``clients``...)."""
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
