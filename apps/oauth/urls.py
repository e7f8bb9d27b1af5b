"""Endpoints under a tenant's issuer, ``/t/<tenant>/``."""

from django.urls import path

from apps.oauth.views.authorize import authorize_view, consent_view
from apps.oauth.views.deny_list import deny_list_view
from apps.oauth.views.discovery import jwks, openid_configuration
from apps.oauth.views.introspect import introspect_view
from apps.oauth.views.logout import logout_view
from apps.oauth.views.mfa import mfa_associate_view, mfa_authenticators_view, mfa_challenge_view
from apps.oauth.views.register import register_view
from apps.oauth.views.revoke import revoke_view
from apps.oauth.views.token import token_view
from apps.oauth.views.userinfo import userinfo_view

app_name = "oauth"

urlpatterns = [
    path(".well-known/openid-configuration", openid_configuration, name="openid-configuration"),
    path(".well-known/jwks.json", jwks, name="jwks"),
    path("authorize", authorize_view, name="authorize"),
    path("consent", consent_view, name="consent"),
    path("oauth/token", token_view, name="token"),
    path("oauth/revoke", revoke_view, name="revoke"),
    path("oauth/introspect", introspect_view, name="introspect"),
    path("oauth/deny-list", deny_list_view, name="deny-list"),
    path("userinfo", userinfo_view, name="userinfo"),
    path("oidc/logout", logout_view, name="logout"),
    path("oidc/register", register_view, name="register"),
    # Auth0's MFA API (Authentication API): not listed in discovery, as Auth0 does not.
    path("mfa/associate", mfa_associate_view, name="mfa-associate"),
    path("mfa/challenge", mfa_challenge_view, name="mfa-challenge"),
    path("mfa/authenticators", mfa_authenticators_view, name="mfa-authenticators"),
]
