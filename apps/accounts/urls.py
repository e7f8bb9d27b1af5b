"""End-user sign-in pages under a tenant's issuer, ``/t/<tenant>/``."""

from django.urls import path

from apps.accounts.mfa.pages import account_mfa_view, login_mfa_view
from apps.accounts.views import login_view, logout_view

app_name = "accounts"

urlpatterns = [
    path("login", login_view, name="login"),
    path("login/mfa", login_mfa_view, name="login-mfa"),
    path("logout", logout_view, name="logout"),
    path("account/mfa", account_mfa_view, name="account-mfa"),
]
