from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path, re_path


def healthz(request):
    """Liveness probe; also the framework's own floor in ``make bench``."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    # TenantMiddleware has already resolved request.tenant from this prefix.
    re_path(r"^t/[a-z0-9-]+/", include("apps.oauth.urls")),
    path("sample/", include("apps.timesheets.urls")),
]
