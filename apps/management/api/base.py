"""What every Management API view shares: authentication, scopes, Auth0's errors, JSON only, a
bounded body, and the query parameters Auth0 gives many GETs (``fields``/``include_fields``,
checkpoint paging), declared per view and documented in the OpenAPI document."""

from __future__ import annotations

import io
from http import HTTPStatus

from django.conf import settings
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.management.api.authentication import ManagementTokenAuthentication
from apps.management.api.errors import (
    MSG_PAYLOAD_TOO_LARGE,
    ManagementApiError,
    bad_request,
    management_exception_handler,
)
from apps.management.api.fields import FieldSelection, SelectableFields
from apps.management.api.permissions import RequiredScope, ScopeRequired
from apps.management.api.schema import ManagementAutoSchema

MSG_NUL_IN_URL = "Query validation error: the URL contains a NUL character."


def _too_large(limit: int) -> ManagementApiError:
    return ManagementApiError(
        status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        message=MSG_PAYLOAD_TOO_LARGE.format(limit=limit),
        error_code="payload_too_large",
    )


def _read_unsized_body(request: Request, limit: int | None) -> None:
    """Read a body sent without ``Content-Length`` (``Transfer-Encoding: chunked``), at most
    ``limit`` + 1 bytes of it: more is a 413; what fits is handed to the parser as a sized body.

    Django reads ``Content-Length`` bytes and DRF parses nothing without one, so such a body would
    otherwise be taken for an empty one. It can be read only where the server says the input ends
    (``wsgi.input_terminated``, as granian, gunicorn and werkzeug do); elsewhere it stays unread.
    """
    django_request = request._request
    meta = django_request.META
    if meta.get("CONTENT_LENGTH") or "chunked" not in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        return
    stream = meta.get("wsgi.input")
    if not meta.get("wsgi.input_terminated") or stream is None or django_request._read_started:
        return
    budget = (limit + 1) if limit is not None else -1
    chunks: list[bytes] = []
    size = 0
    while budget < 0 or size < budget:
        chunk = stream.read(budget - size if budget >= 0 else 64 * 1024)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if limit is not None and size > limit:
        raise _too_large(limit)
    body = b"".join(chunks)
    django_request._body = body
    django_request._stream = io.BytesIO(body)
    meta["CONTENT_LENGTH"] = str(len(body))


class ManagementView(APIView):
    """A Management API endpoint. Subclasses set ``required_scopes`` (method -> scope, or a tuple
    of scopes any one of which will do) and call services for every write (the same ones the admin
    and the commands use), passing ``request.user`` (the calling client) as the actor.

    Where Auth0's GET takes ``fields``/``include_fields``, the view sets ``selectable_fields``
    (``fields.SelectableFields``); where it takes ``from``/``take``, ``checkpoint_paging = True``
    and passes ``checkpoints=self.checkpoint_paging`` to ``paginated``. Both are then read and
    documented here, for every such view alike.
    """

    authentication_classes = [ManagementTokenAuthentication]
    permission_classes = [ScopeRequired]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    schema = ManagementAutoSchema()
    required_scopes: dict[str, RequiredScope] = {}
    selectable_fields: SelectableFields | None = None
    checkpoint_paging: bool = False
    field_selection: FieldSelection | None = None

    def get_exception_handler(self):
        return management_exception_handler

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # Postgres text cannot hold NUL: refuse it here, for every view, rather than 500 in a query.
        if any("\x00" in str(value) for value in kwargs.values()):
            raise bad_request(MSG_NUL_IN_URL, error_code="invalid_uri")
        if any("\x00" in key or "\x00" in value for key, value in request.query_params.items()):
            raise bad_request(MSG_NUL_IN_URL, error_code="invalid_query_string")
        # DRF's parser reads the stream itself, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check
        # (which only guards request.body): refuse a declared oversized body before parsing it.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            raise _too_large(limit)
        _read_unsized_body(request, limit)
        if self.selectable_fields is not None and request.method == "GET":
            self.field_selection = self.selectable_fields.parse(request)

    def finalize_response(self, request, response, *args, **kwargs):
        # Auth0's fields/include_fields cut the objects of a successful answer (never an error).
        if (
            self.field_selection is not None
            and self.selectable_fields is not None
            and isinstance(response, Response)
            and response.status_code == HTTPStatus.OK
        ):
            response.data = self.selectable_fields.select(response.data, self.field_selection)
        return super().finalize_response(request, response, *args, **kwargs)
