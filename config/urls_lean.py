"""URLs served by the lean handler (apps.core.handlers): stateless, hot endpoints only."""

from django.urls import re_path

from apps.core.health import health_alive, health_ready
from apps.core.metrics import metrics_view
from apps.oauth.views.introspect import introspect_view
from apps.oauth.views.token import token_view
from config.urls import bad_request, healthz, page_not_found, server_error

handler400 = bad_request
handler404 = page_not_found
handler500 = server_error

urlpatterns = [
    re_path(r"^t/[a-z0-9-]+/oauth/token$", token_view, name="token"),
    re_path(r"^t/[a-z0-9-]+/oauth/introspect$", introspect_view, name="introspect"),
    re_path(r"^healthz$", healthz, name="healthz"),
    re_path(r"^metrics$", metrics_view, name="metrics"),
    re_path(r"^health/alive$", health_alive, name="health-alive"),
    re_path(r"^health/ready$", health_ready, name="health-ready"),
]
