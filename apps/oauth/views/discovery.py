"""``/t/<tenant>/.well-known/openid-configuration`` and ``/t/<tenant>/.well-known/jwks.json``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from apps.oauth.discovery import tenant_discovery_document
from apps.oauth.issuer import issuer_for_request
from apps.tenants.selectors import signing_key_jwks

PUBLIC_CACHE = "public, max-age=300"


def _public_json(data: dict) -> JsonResponse:
    response = JsonResponse(data)
    response["Cache-Control"] = PUBLIC_CACHE
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def openid_configuration(request: HttpRequest) -> JsonResponse:
    return _public_json(tenant_discovery_document(issuer=issuer_for_request(request), tenant=request.tenant))


@require_safe
def jwks(request: HttpRequest) -> JsonResponse:
    return _public_json(signing_key_jwks(tenant=request.tenant))
