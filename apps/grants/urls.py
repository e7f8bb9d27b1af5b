"""End-user pages about grants under a tenant's issuer, ``/t/<tenant>/``."""

from django.urls import path

app_name = "grants"

urlpatterns: list = []
