"""What every Management API view shares: authentication, scopes, Auth0's errors, JSON only."""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from apps.management.api.authentication import ManagementTokenAuthentication
from apps.management.api.errors import (
    MSG_PAYLOAD_TOO_LARGE,
    ManagementApiError,
    bad_request,
    management_exception_handler,
)
from apps.management.api.permissions import ScopeRequired

MSG_NUL_IN_URL = "Query validation error: the URL contains a NUL character."


class ManagementView(APIView):
    """A Management API endpoint. Subclasses set ``required_scopes`` (method -> scope) and call
    services for every write (the same ones the admin and the commands use), passing
    ``request.user`` (the calling client) as the actor."""

    authentication_classes = [ManagementTokenAuthentication]
    permission_classes = [ScopeRequired]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    required_scopes: dict[str, str] = {}

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
            raise ManagementApiError(
                status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                message=MSG_PAYLOAD_TOO_LARGE.format(limit=limit),
                error_code="payload_too_large",
            )
