"""The token endpoint, ``/t/<tenant>/oauth/token`` (RFC 6749 section 3.2)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.views.mixins import OAuthLibMixin

from apps.oauth import errors
from apps.oauth.backends import context_for
from apps.oauth.cleanup import sweeper_ensure_started
from apps.oauth.constants import TOKEN_RESPONSE_HEADERS
from apps.oauth.request_parsing import parse_token_request
from apps.oauth.token_events import error_of, token_request_logged


class TokenView(OAuthLibMixin, View):
    """DOT's OAuthLib pipeline behind our request parsing.

    Not DOT's ``TokenView``: its ``post`` looks every issued token up in the database
    to send a signal, and our M2M tokens have no row. Decorators are applied once to
    the view function (``token_view``), not per call through ``method_decorator``,
    because this is the hottest endpoint.
    """

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        sweeper_ensure_started()  # the expired-rows sweep runs in its own thread, never in a request
        try:
            context_for(request, parse_token_request(request))
        except errors.OAuthError as error:
            token_request_logged(
                request, status=error.status_code, error=error.error, error_description=error.description
            )
            return error.as_response()
        _, headers, body, status = self.create_token_response(request)
        if status == 200:
            token_request_logged(request, status=status)
        else:
            error, description = error_of(body)
            token_request_logged(request, status=status, error=error, error_description=description)
        # The headers (oauthlib's Content-Type among them) and the charset given at once: no default
        # Content-Type computed and then replaced, no settings lookup to encode the body.
        return HttpResponse(
            content=body, status=status, headers=headers | TOKEN_RESPONSE_HEADERS, charset=RESPONSE_CHARSET
        )

    def http_method_not_allowed(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return errors.MethodNotAllowed(errors.MSG_METHOD_NOT_ALLOWED).as_response()


RESPONSE_CHARSET = "utf-8"  # oauthlib's JSON bodies are ASCII (json.dumps' default)

token_view = csrf_exempt(sensitive_post_parameters("client_secret")(TokenView.as_view()))
