"""Auth0's ``fields`` / ``include_fields`` query parameters: which properties of each object a GET answers.

``fields`` is a comma-separated list of property names; with ``include_fields=true`` (the default)
only those are answered, with ``include_fields=false`` all but those. Without ``fields`` (or with an
empty one) everything is answered, whatever ``include_fields`` says. A list's paging envelope
(``start``, ``limit``, ``total``, checkpoint ``next``) is never filtered, only its items.

Where Auth0's reference gives the names ``fields`` may hold (a pattern: ``clients``, ``users/{id}``,
``logs``), a name outside them is refused as Auth0 refuses it (400 ``invalid_query_string``).
Otherwise a name the object does not have (Auth0's ``picture``, which we never answer, or a
misspelling where Auth0 gives no list: ``users``, ``resource-servers``) is ignored, as if not
named; naming nothing the object has is naming nothing, so it is answered whole.
``include_fields`` must be ``true`` or ``false``.

A view declares ``selectable_fields = SelectableFields(...)``; ``ManagementView`` reads the
parameters before the handler runs (so a refusal is Auth0's 400) and filters the answer after it,
and the OpenAPI document lists the parameters: one implementation for every endpoint that has them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request

from apps.management.api.errors import bad_request
from apps.management.api.pagination import boolean_param

FIELDS = "fields"
INCLUDE_FIELDS = "include_fields"
MSG_UNKNOWN_FIELDS = "Query validation error: 'fields' may not name {names} (allowed: {allowed})."


@dataclass(frozen=True, slots=True)
class FieldSelection:
    """What one request asked for: these names, kept (``include``) or dropped."""

    names: frozenset[str]
    include: bool

    def apply(self, body: dict[str, Any], *, always: frozenset[str]) -> dict[str, Any]:
        named = self.names & body.keys()  # names the object does not have are ignored
        if not named:
            return body
        if self.include:
            return {name: value for name, value in body.items() if name in named or name in always}
        return {name: value for name, value in body.items() if name not in named or name in always}


@dataclass(frozen=True, slots=True)
class SelectableFields:
    """How an endpoint takes ``fields``/``include_fields``.

    ``items``: for a list endpoint, the key of its items in the paging envelope (``clients``); None
    for an endpoint answering one object. ``allowed``: the names Auth0's reference allows in
    ``fields`` (others are refused), or None to ignore unknown names. ``always``: properties answered
    whatever is asked (the logs' ``log_id``, which a checkpoint reader needs).
    """

    items: str | None = None
    allowed: frozenset[str] | None = None
    always: frozenset[str] = frozenset()

    def parse(self, request: Request) -> FieldSelection | None:
        """The request's selection, None when it asks for everything; 400 for a bad parameter."""
        include = boolean_param(request, INCLUDE_FIELDS)
        names = frozenset(name.strip() for name in request.query_params.get(FIELDS, "").split(","))
        names -= {""}
        if self.allowed is not None and names - self.allowed:
            raise bad_request(
                MSG_UNKNOWN_FIELDS.format(
                    names=", ".join(sorted(names - self.allowed))[:200],
                    allowed=", ".join(sorted(self.allowed)),
                ),
                error_code="invalid_query_string",
            )
        if not names:
            return None
        return FieldSelection(names=names, include=include is not False)

    def select(self, data: Any, selection: FieldSelection) -> Any:
        """``data`` (an answer of the endpoint) with each object cut down to the selection."""
        if isinstance(data, list):
            return [self._one(item, selection) for item in data]
        if isinstance(data, dict) and self.items is not None:
            if isinstance(data.get(self.items), list):
                return data | {self.items: [self._one(item, selection) for item in data[self.items]]}
            return data
        return self._one(data, selection)

    def _one(self, item: Any, selection: FieldSelection) -> Any:
        return selection.apply(item, always=self.always) if isinstance(item, dict) else item

    def openapi_parameters(self) -> list[OpenApiParameter]:
        fields = OpenApiParameter(
            FIELDS,
            OpenApiTypes.STR,
            description="Comma-separated property names to answer (include_fields=true) or to leave out (false).",
            pattern=None if self.allowed is None else _names_pattern(self.allowed),
        )
        include = OpenApiParameter(
            INCLUDE_FIELDS,
            OpenApiTypes.BOOL,
            description="Whether the names in fields are answered (true, the default) or left out (false).",
        )
        return [fields, include]


def _names_pattern(allowed: frozenset[str]) -> str:
    """Auth0's pattern for ``fields``: allowed names separated by commas."""
    name = "(" + "|".join(re.escape(item) for item in sorted(allowed)) + ")"
    return f"^{name}(,{name})*$"
