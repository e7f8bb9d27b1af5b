"""The WSGI entry point: a lean Django handler for the hot, stateless endpoints.

The token endpoint is our hottest path (DESIGN.md). It needs no session, CSRF, auth,
messages or static-file middleware, and each of those layers costs every request, so
``POST /t/<tenant>/oauth/token`` and ``/healthz`` are served by a second Django
handler whose middleware is ``settings.LEAN_MIDDLEWARE`` and whose URLconf is
``settings.LEAN_URLCONF``. Everything else goes through the full stack.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from importlib import import_module

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.urls import get_resolver, set_urlconf


def lean_path_re() -> re.Pattern[str]:
    """The paths the lean handler serves, derived from ``settings.LEAN_URLCONF``'s patterns
    (one list: a lean endpoint cannot be routed here and be missing there, or the reverse)."""
    patterns = import_module(settings.LEAN_URLCONF).urlpatterns
    alternatives = [pattern.pattern.regex.pattern.removeprefix("^").removesuffix("$") for pattern in patterns]
    return re.compile(r"^/(?:" + "|".join(alternatives) + r")$")


class LeanWSGIHandler(WSGIHandler):
    """Django's handler with a short middleware chain and its own URLconf."""

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler.load_middleware reads settings.MIDDLEWARE and takes no argument; this
        # runs once, when the WSGI application is built, before any request is served.
        full = settings.MIDDLEWARE
        try:
            settings.MIDDLEWARE = settings.LEAN_MIDDLEWARE
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full

    def resolve_request(self, request):
        set_urlconf(settings.LEAN_URLCONF)
        resolver_match = get_resolver(settings.LEAN_URLCONF).resolve(request.path_info)
        request.resolver_match = resolver_match
        return resolver_match


class RoutedWSGIHandler:
    """Sends the lean paths to ``LeanWSGIHandler`` and the rest to Django's usual handler."""

    def __init__(self) -> None:
        self.full = WSGIHandler()
        self.lean = LeanWSGIHandler()
        self.lean_path_re = lean_path_re()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if self.lean_path_re.match(environ.get("PATH_INFO", "")):
            return self.lean(environ, start_response)
        return self.full(environ, start_response)
