"""Wiring for views protected by the kit: ``ResourceServerMixin`` and its exception handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from . import errors
from .authentication import JWTAccessTokenAuthentication
from .permissions import RequiredScopes


class ResourceServerMixin:
    """Mix into an ``APIView``/``ViewSet`` (first in the bases) to protect it with the kit.

    Set ``authentication_classes`` to your ``JWTAccessTokenAuthentication`` subclass and
    ``required_scopes`` per action, or replace ``permission_classes`` with ``HasScope(...)``.
    Only these views get the kit's error rendering; the project's global DRF settings stay as they are.
    """

    authentication_classes: list[type] = [JWTAccessTokenAuthentication]
    permission_classes: list[type] = [RequiredScopes]

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return resource_server_exception_handler


def resource_server_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """RFC 6750 section 3 responses for the kit's errors; everything else goes to the project's handler.

    Bodies: ``{"error", "error_description"}`` (+ ``"scope"`` for insufficient_scope); a
    request with no token gets only a description, as section 3.1 asks for no error code then.
    """
    request: Request | None = context.get("request")
    authenticator = _kit_authenticator(request)
    if isinstance(exc, errors.BearerError) and authenticator is not None:
        set_rollback()
        return Response(
            exc.as_dict(),
            status=exc.status_code,
            headers={"WWW-Authenticate": exc.www_authenticate(realm=authenticator.config().realm)},
        )
    if isinstance(exc, exceptions.NotAuthenticated) and authenticator is not None:
        return Response(
            {"error_description": errors.MSG_TOKEN_MISSING},
            status=exc.status_code,
            headers={"WWW-Authenticate": authenticator.authenticate_header(request)},
        )
    handler = api_settings.EXCEPTION_HANDLER
    if handler is resource_server_exception_handler:  # configured globally: don't recurse
        handler = drf_exception_handler
    return handler(exc, context)


def _kit_authenticator(request: Request | None) -> JWTAccessTokenAuthentication | None:
    for authenticator in getattr(request, "authenticators", None) or ():
        if isinstance(authenticator, JWTAccessTokenAuthentication):
            return authenticator
    return None
