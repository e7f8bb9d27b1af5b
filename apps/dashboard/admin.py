"""Portcullis branding of the Django admin (the tenant admins' portal at ``/admin/``), its dashboard
home and its events page.

The per-model admins live next to their models (``apps/<app>/admin.py``) and build on
``apps.dashboard.admin_base.TenantScopedAdmin``. Every app registers on ``admin.site``, so the
dashboard is hooked into that site rather than into a replacement ``AdminSite``: its ``index``
gets the dashboard's context (``templates/admin/index.html`` shows it above the model list),
and its URLs gain ``events/`` (``admin:events``), behind the admin's sign-in like every page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path

from apps.dashboard.views import dashboard_context, events_view

admin.site.site_header = "Portcullis"
admin.site.site_title = "Portcullis"
admin.site.index_title = "Tenant administration"
# No public site at "/" to link to: tenants live under /t/<slug>/.
admin.site.site_url = None

_stock_index = admin.site.index
_stock_get_urls = admin.site.get_urls


def _dashboard_index(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """Django's admin index (its model list included) with the dashboard's figures, charts and events."""
    return _stock_index(request, {**dashboard_context(request), **(extra_context or {})})


def _get_urls() -> list[URLPattern | URLResolver]:
    return [path("events/", admin.site.admin_view(events_view), name="events"), *_stock_get_urls()]


admin.site.index = _dashboard_index  # type: ignore[method-assign]
admin.site.get_urls = _get_urls  # type: ignore[method-assign]
