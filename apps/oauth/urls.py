"""Endpoints under a tenant's issuer, ``/t/<tenant>/``."""

from django.urls import path

from apps.oauth.views.discovery import jwks, openid_configuration
from apps.oauth.views.token import token_view

app_name = "oauth"

urlpatterns = [
    path(".well-known/openid-configuration", openid_configuration, name="openid-configuration"),
    path(".well-known/jwks.json", jwks, name="jwks"),
    path("oauth/token", token_view, name="token"),
]
