"""End-user sign-in pages under a tenant's issuer, ``/t/<tenant>/``."""

from django.urls import path

app_name = "accounts"

urlpatterns: list = []
