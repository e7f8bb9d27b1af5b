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
from django.core.handlers.wsgi import WSGIHandler, get_script_name
from django.urls import ResolverMatch, get_resolver, set_script_prefix, set_urlconf


def lean_path_re() -> re.Pattern[str]:
    """The paths the lean handler serves, derived from ``settings.LEAN_URLCONF``'s patterns
    (one list: a lean endpoint cannot be routed here and be missing there, or the reverse)."""
    patterns = import_module(settings.LEAN_URLCONF).urlpatterns
    alternatives = [pattern.pattern.regex.pattern.removeprefix("^").removesuffix("$") for pattern in patterns]
    return re.compile(r"^/(?:" + "|".join(alternatives) + r")$")


class LeanWSGIHandler(WSGIHandler):
    """Django's handler with a short middleware chain and its own URLconf.

    Three more differences, for speed on the token endpoint (issue 11), invisible to views and
    middleware (the token endpoint's tests run through both handlers: ``http_both_paths`` in
    tests/conftest.py):

    - ``request_started`` is not sent. Django's receivers of it reset the debug query log and
      close stale database connections; ``request_finished`` (still sent) closes stale
      connections at the end of every request, and the health check of the next use follows
      from that. Nothing else of ours listens to it. It cost ~60k instructions a request;
    - URL resolution is memoised per path: the lean URLconf's patterns capture nothing, so a
      path always resolves to the same match (a miss, which ``RoutedWSGIHandler`` never sends
      here, is not memoised);
    - the response body is handed to the server as a one-item list, after ``response.close()``
      (which sends ``request_finished``, as the server's call to it would). granian sends a
      list's bytes in one call; any other iterable it drives from its Rust side, one GIL
      round trip per chunk and one for ``close()``.
    """

    MAX_MEMOISED_PATHS = 4096  # one per tenant and lean route: emptied when full

    def __init__(self) -> None:
        super().__init__()
        self._matches: dict[str, ResolverMatch] = {}

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        # WSGIHandler.__call__ without request_started, and with no file streaming (no lean view
        # streams a file).
        set_script_prefix(get_script_name(environ))
        request = self.request_class(environ)
        response = self.get_response(request)
        response._handler_class = self.__class__
        headers = [
            *response.items(),
            *(("Set-Cookie", cookie.OutputString()) for cookie in response.cookies.values()),
        ]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        try:
            return [b"".join(response)]
        finally:
            response.close()

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
        urlconf = settings.LEAN_URLCONF
        set_urlconf(urlconf)
        path = request.path_info
        resolver_match = self._matches.get(path)
        if resolver_match is None:
            resolver_match = get_resolver(urlconf).resolve(path)
            if len(self._matches) >= self.MAX_MEMOISED_PATHS:
                self._matches.clear()
            self._matches[path] = resolver_match
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
