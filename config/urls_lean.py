"""URLs served by the lean handler (apps.core.handlers): stateless, hot endpoints only."""

from django.urls import re_path

from apps.oauth.views.token import token_view
from config.urls import healthz

urlpatterns = [
    re_path(r"^t/[a-z0-9-]+/oauth/token$", token_view, name="token"),
    re_path(r"^healthz$", healthz, name="healthz"),
]
