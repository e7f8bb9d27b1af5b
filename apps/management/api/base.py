"""What every Management API view shares: authentication, scopes, Auth0's errors, JSON only."""

from __future__ import annotations

from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from apps.management.api.authentication import ManagementTokenAuthentication
from apps.management.api.errors import management_exception_handler
from apps.management.api.permissions import ScopeRequired


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
