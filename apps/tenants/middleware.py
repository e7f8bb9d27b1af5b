"""Resolve ``request.tenant`` once per request from the ``/t/<slug>/`` path prefix."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.tenants.selectors import tenant_get_by_slug

TENANT_PREFIX = "/t/"


class TenantMiddleware:
    """Sets ``request.tenant`` (None outside ``/t/``); unknown tenants get a JSON 404 here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        path = request.path_info
        if path.startswith(TENANT_PREFIX):
            slug = path[len(TENANT_PREFIX) :].split("/", 1)[0]
            tenant = tenant_get_by_slug(slug=slug) if slug else None
            if tenant is None:
                return JsonResponse(
                    {"error": "not_found", "error_description": f"Unknown tenant: {slug!r}"}, status=404
                )
            request.tenant = tenant
        return self.get_response(request)
