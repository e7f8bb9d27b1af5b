"""One JSON line per request, and a request id on every log line emitted while serving it.

``RequestLogMiddleware`` is the first middleware of both handlers (the full stack and the lean
token path, ``apps.core.handlers``). For each request it

- takes the caller's ``X-Request-ID`` when it is sane (at most ``REQUEST_ID_MAX_LENGTH``
  characters of ``REQUEST_ID_CHARS``: it is echoed in a response header and written to logs, so
  nothing that could split a header or a line), otherwise makes one up, and returns it in the
  response's ``X-Request-ID``;
- binds it to ``request_id_var`` for as long as the request is served, so that
  ``RequestIdFilter`` can stamp it on every record logged meanwhile, whoever logs it (Django's
  own 5xx tracebacks included);
- logs one record to ``portcullis.request``: method, path (never the query string, where
  clients put tokens and secrets), status, duration, the tenant's slug, and the client id
  when the OAuth pipeline identified one (``request.oauth``, ``apps.oauth.context``). Nothing
  else from the request is read: no body, no header but ``X-Request-ID``, so no secret,
  token, password or ``Authorization`` value can reach the log.

``JsonFormatter`` writes each record as one JSON object per line (``settings.LOGGING`` sends
every logger to stdout through it); ``ServerErrorsOnly`` drops ``django.request``'s per-4xx
warnings ("Not Found: …", "Bad Request: …"), which the request line already says better.

Cost on the token path (measured, README "Production deployment"): a few microseconds for the
id, the context variable and the header, and the JSON line itself when ``portcullis.request``
is enabled at INFO (``REQUEST_LOG=false`` turns it off).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import time
import traceback
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from apps.core import metrics

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_META = "HTTP_X_REQUEST_ID"
REQUEST_ID_MAX_LENGTH = 128
# Letters, digits and the punctuation of UUIDs, base64, ULIDs and "service:trace" ids; no space,
# quote, comma or control character (a header value and a log field must stay one token).
REQUEST_ID_CHARS = "A-Za-z0-9._:@+/=-"
_SANE_REQUEST_ID = re.compile(rf"[{REQUEST_ID_CHARS}]{{1,{REQUEST_ID_MAX_LENGTH}}}").fullmatch
# A path longer than this is cut in the log line (the request line of a server has limits of its own).
PATH_MAX_LENGTH = 1024

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("portcullis_request_id", default="")

logger = logging.getLogger("portcullis.request")


def request_id_for(incoming: str | None) -> str:
    """The caller's request id when it is sane, else a new random one (32 hex digits)."""
    if incoming and _SANE_REQUEST_ID(incoming):
        return incoming
    return secrets.token_hex(16)


def current_request_id() -> str:
    """The id of the request this thread (or task) is serving; empty outside a request."""
    return request_id_var.get()


class RequestLogMiddleware:
    """Request id in, request id out, one ``portcullis.request`` record per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_for(request.META.get(REQUEST_ID_META))
        bound = request_id_var.set(request_id)
        try:
            # Django turns every exception into a response below this middleware, after logging it
            # to django.request (with this request's id, since the variable is bound).
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            metrics.request_answered(request, response, seconds=time.perf_counter() - started)
            if logger.isEnabledFor(logging.INFO):
                self._log(request, response, started)
                # Django's handler logs every answer >= 400 again once the middleware has returned,
                # outside the request id's scope ("Not Found: /x", "Service Unavailable: /x"), unless
                # the response says it has been logged (django.utils.log.log_response's own mark).
                response._has_been_logged = True
            return response
        finally:
            request_id_var.reset(bound)

    @staticmethod
    def _log(request: HttpRequest, response: HttpResponse, started: float) -> None:
        tenant = getattr(request, "tenant", None)
        oauth = getattr(request, "oauth", None)  # apps.oauth.context.OAuthContext on OAuth endpoints
        path = request.path[:PATH_MAX_LENGTH]
        status = response.status_code
        fields = {
            "method": request.method,
            "path": path,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "tenant": tenant.slug if tenant is not None else None,
            "client_id": (oauth.client_id or None) if oauth is not None else None,
        }
        # makeRecord + handle rather than logger.info: info() walks the stack to find its caller
        # (file, line, function), which this line never shows and the token path would pay for.
        record = logger.makeRecord(
            logger.name, logging.INFO, "", 0, "%s %s %s", (request.method, path, status), None, extra=fields
        )
        logger.handle(record)


class RequestIdFilter(logging.Filter):
    """Stamps ``record.request_id`` (empty outside a request) on every record a handler emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class ServerErrorsOnly(logging.Filter):
    """For ``django.request``: keep 5xx records (tracebacks), drop the per-4xx warning lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", 500) >= 500


class RefusedHostWarning(logging.Filter):
    """For ``django.security.DisallowedHost``: Django logs a Host header outside ``ALLOWED_HOSTS`` as
    an error with a traceback. It is the client's mistake (a scanner's, or a proxy not yet configured),
    not ours: keep the one-line reason, which names the Host and the setting, as a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info = record.exc_text = None
        return True


# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime", "request_id"}
)
_JSON_SCALARS = (str, int, float, bool, type(None))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, extras, exception.

    Extras (``logger.info(..., extra={...})``) are included when their values are JSON scalars;
    anything else (Django passes the ``HttpRequest`` itself to ``django.request``) is left out,
    so an object's repr never leaks into a log line.
    """

    _last_second: tuple[int, str] = (-1, "")

    def _utc_second(self, second: int) -> str:
        """``second`` as ISO 8601 UTC text, formatted once per second (a line's cost matters)."""
        cached_second, text = self._last_second  # one tuple: threads never see half an update
        if second != cached_second:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._last_second = (second, text)
        return text

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": f"{self._utc_second(int(record.created))}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            document["request_id"] = request_id
        for name, value in record.__dict__.items():
            if name not in _STANDARD_ATTRIBUTES and isinstance(value, _JSON_SCALARS):
                document[name] = value
        if record.exc_info:
            document["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            document["exception"] = record.exc_text
        if record.stack_info:
            document["stack"] = record.stack_info
        return json.dumps(document, default=str)  # ASCII: safe on any stdout encoding
