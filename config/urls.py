import sys

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views import defaults
from django.views.generic import TemplateView

from apps.core.health import health_alive, health_ready
from apps.core.metrics import metrics_view
from apps.core.unavailable import is_database_unavailable, unavailable_response
from apps.dashboard.portal import portal_tenant_switch


def _is_protocol_path(request) -> bool:
    return request.path.startswith(("/t/", "/health/")) or request.path == "/healthz"


def page_not_found(request, exception):
    """JSON under a tenant's issuer (clients parse it), a readable page elsewhere."""
    if _is_protocol_path(request):
        return JsonResponse(
            {"error": "not_found", "error_description": f"No endpoint at {request.path}"}, status=404
        )
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    if _is_protocol_path(request):
        return JsonResponse({"error": "invalid_request", "error_description": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def server_error(request):
    # Raised outside a view (tenant or session middleware) while the database is unreachable:
    # a 503 to retry, not a 500 (views get the same from DatabaseUnavailableMiddleware).
    if is_database_unavailable(sys.exc_info()[1]):
        return unavailable_response(request)
    if _is_protocol_path(request):
        return JsonResponse(
            {"error": "server_error", "error_description": "Internal server error."}, status=500
        )
    return defaults.server_error(request)


handler400 = bad_request
handler404 = page_not_found
handler500 = server_error


def healthz(request):
    """Liveness probe; also the framework's own floor in ``make bench``."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    # The portal header's tenant switcher (before the admin's own URLs, which would catch it).
    path("admin/tenant/switch/", portal_tenant_switch, name="portal_tenant_switch"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    # Served by the lean handler in production (config/urls_lean.py); here for the full stack's
    # callers (the test server, an ASGI deployment).
    path("health/alive", health_alive, name="health-alive"),
    path("health/ready", health_ready, name="health-ready"),
    # TenantMiddleware has resolved request.tenant; each app owns its pages under the issuer.
    re_path(r"^t/[a-z0-9-]+/", include("apps.oauth.urls")),
    re_path(r"^t/[a-z0-9-]+/", include("apps.accounts.urls")),
    re_path(r"^t/[a-z0-9-]+/", include("apps.grants.urls")),
    re_path(r"^t/[a-z0-9-]+/api/v2/", include("apps.management.api.urls")),
    path("sample/", include("apps.timesheets.urls")),
]
