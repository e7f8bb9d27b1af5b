"""``/t/<tenant>/oauth/introspect``: RFC 7662 token introspection, for the tenant's confidential clients."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from oauth2_provider.views.mixins import OAuthLibMixin

from apps.oauth.backends import context_for
from apps.oauth.constants import TOKEN_RESPONSE_HEADERS


@csrf_exempt
@require_POST
@sensitive_post_parameters("client_secret", "token")
def introspect_view(request: HttpRequest) -> HttpResponse:
    """``{"active": true, ...claims}`` for an active token, exactly ``{"active": false}`` otherwise
    (``apps.oauth.introspection``); a caller that fails client authentication gets 401."""
    context_for(request, [(name, value) for name, values in request.POST.lists() for value in values])
    _, headers, body, status = OAuthLibMixin.get_oauthlib_core().create_introspect_response(request)
    response = HttpResponse(content=body or "", status=status, content_type="application/json")
    for name, value in (headers | TOKEN_RESPONSE_HEADERS).items():
        response[name] = value
    return response
