"""Degrade, don't fail: a request that needs an unreachable database gets a 503 with Retry-After.

When Postgres restarts or the network to it blinks, every query raises ``OperationalError``
or ``InterfaceError``. Those are not bugs in the request: the right answer is "try again
shortly", never a 500 with a traceback. ``DatabaseUnavailableMiddleware`` turns them into a
503 for views, and ``config.urls.server_error`` does the same for anything raised outside a
view (middleware resolving a tenant or a session). The answer speaks the surface's format:

- under a tenant's issuer (``/t/<slug>/``): RFC 6749 JSON, ``temporarily_unavailable``
  (RFC 6749 section 4.1.2.1 names that error for exactly this);
- the Management API (``/t/<slug>/api/v2/``): Auth0's error shape;
- pages: a readable HTML page.

Requests that only read cached configuration (client_credentials at the token endpoint) don't
get here at all: ``apps.core.ttlcache`` serves stale entries while the database is away. A
write that failed was inside its own transaction, so nothing is half-written.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader

from apps.core import metrics

logger = logging.getLogger(__name__)

MSG_DATABASE_UNAVAILABLE = "The service is temporarily unavailable. Please retry shortly."
ERROR_TEMPORARILY_UNAVAILABLE = "temporarily_unavailable"
_MANAGEMENT_PATH = re.compile(r"^/t/[a-z0-9-]+/api/v2/")


def is_database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` says the database cannot be reached (not a bad query or a constraint)."""
    return isinstance(error, OperationalError | InterfaceError)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 for ``request``'s surface, with ``Retry-After`` and no caching."""
    path = request.path
    surface = "management" if _MANAGEMENT_PATH.match(path) else "tenant" if path.startswith("/t/") else "page"
    metrics.DATABASE_UNAVAILABLE.labels(surface).inc()
    if surface == "management":
        body = {
            "statusCode": 503,
            "error": "Service Unavailable",
            "message": MSG_DATABASE_UNAVAILABLE,
            "errorCode": ERROR_TEMPORARILY_UNAVAILABLE,
        }
        response = HttpResponse(json.dumps(body), status=503, content_type="application/json")
    elif path.startswith("/t/") or path.startswith("/health"):
        body = {"error": ERROR_TEMPORARILY_UNAVAILABLE, "error_description": MSG_DATABASE_UNAVAILABLE}
        response = HttpResponse(json.dumps(body), status=503, content_type="application/json")
    else:
        html = loader.render_to_string("503.html", {"message": MSG_DATABASE_UNAVAILABLE})
        response = HttpResponse(html, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(settings.DATABASE_RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Answers 503 + Retry-After when a view fails because the database is unreachable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        logger.warning(
            "Database unavailable, answered 503: %s %s (%s)", request.method, request.path, exception
        )
        return unavailable_response(request)
