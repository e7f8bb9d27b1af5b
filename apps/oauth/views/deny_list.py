"""``/t/<tenant>/oauth/deny-list?audience=<API>``: the deny-list feed resource servers poll.

Public, like JWKS: a ``jti`` names a token without granting anything. The kit
(``apps.resource_kit.deny_list``) fetches it every ``refresh_interval`` seconds and refuses the
listed tokens; a revoked token is therefore accepted by a resource server for at most that long
(plus the server's config sync window). An API that cannot wait calls introspection instead.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from apps.apis.selectors import api_get_by_identifier
from apps.grants.selectors import deny_list_feed

MSG_AUDIENCE_REQUIRED = "The audience parameter (the API's identifier) is required."
MSG_UNKNOWN_AUDIENCE = "Unknown audience: {audience}"


def _error(description: str, status: int) -> JsonResponse:
    return JsonResponse({"error": "invalid_request", "error_description": description}, status=status)


@require_safe
def deny_list_view(request: HttpRequest) -> HttpResponse:
    audience = request.GET.get("audience", "")
    if not audience:
        return _error(MSG_AUDIENCE_REQUIRED, 400)
    if api_get_by_identifier(tenant_id=request.tenant.pk, identifier=audience) is None:
        return _error(MSG_UNKNOWN_AUDIENCE.format(audience=audience), 404)
    interval = settings.DENY_LIST_FEED_REFRESH_SECONDS
    body = json.dumps(
        {
            "audience": audience,
            "denied": deny_list_feed(tenant_id=request.tenant.pk, audience=audience),
            "refresh_interval": interval,
        },
        separators=(",", ":"),
    ).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "Cache-Control": f"public, max-age={interval}",
        "ETag": etag,
        "Access-Control-Allow-Origin": "*",
    }
    if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return response
