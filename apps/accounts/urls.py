"""End-user sign-in pages under a tenant's issuer, ``/t/<tenant>/``."""

from django.urls import path

from apps.accounts.views import login_view, logout_view

app_name = "accounts"

urlpatterns = [
    path("login", login_view, name="login"),
    path("logout", logout_view, name="logout"),
]
