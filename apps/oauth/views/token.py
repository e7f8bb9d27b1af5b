"""The token endpoint, ``/t/<tenant>/oauth/token`` (RFC 6749 section 3.2)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.views import TokenView as DotTokenView

from apps.oauth import errors
from apps.oauth.request_parsing import parse_token_request


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(DotTokenView):
    """DOT's token view, fed our parsed request.

    DOT's own ``post`` looks the issued token up in the database to send a signal; our
    M2M tokens have no row, so this view returns oauthlib's response directly.
    """

    @method_decorator(sensitive_post_parameters("client_secret"))
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            request.oauth_params = parse_token_request(request)
        except errors.OAuthError as error:
            return error.as_response()
        _, headers, body, status = self.create_token_response(request)
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response

    def http_method_not_allowed(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return errors.MethodNotAllowed(errors.MSG_METHOD_NOT_ALLOWED).as_response()
