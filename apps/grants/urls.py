"""End-user pages about grants under a tenant's issuer, ``/t/<tenant>/``."""

from django.urls import path

from apps.grants.views import authorized_applications_view, revoke_view

app_name = "grants"

urlpatterns = [
    path("account/applications", authorized_applications_view, name="authorized-applications"),
    path("account/applications/<int:grant_id>/revoke", revoke_view, name="revoke"),
]
