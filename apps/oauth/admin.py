"""Admin for django-oauth-toolkit's token models (ours, swapped in): tenant-scoped and view-only.

DOT registers its own admins for these models (``oauth2_provider.admin``); they filter by
any application of any tenant and allow editing tokens. We keep DOT's masking of the
credentials and its "revoke" actions, and add tenant scoping on top. Tokens are issued by
the OAuth flows, never written in the admin. (The Application admin is replaced in
``apps/applications/admin.py``.)
"""

from __future__ import annotations

import oauth2_provider.admin as dot_admin
from django.contrib import admin

from apps.dashboard.admin_base import ReadOnlyAdminMixin, TenantScopedAdmin
from apps.oauth.models import AccessToken, Grant, IDToken, RefreshToken

for _model in (AccessToken, RefreshToken, Grant, IDToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)

_FILTERS = (("tenant", admin.RelatedOnlyFieldListFilter), ("application", admin.RelatedOnlyFieldListFilter))


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdminMixin, TenantScopedAdmin, dot_admin.AccessTokenAdmin):
    list_display = ("pk", "masked_token", "tenant", "user", "application", "audience", "expires")
    list_filter = _FILTERS
    list_select_related = ("tenant", "application", "user")


@admin.register(RefreshToken)
class RefreshTokenAdmin(ReadOnlyAdminMixin, TenantScopedAdmin, dot_admin.RefreshTokenAdmin):
    list_display = ("pk", "masked_token", "tenant", "user", "application", "revoked")
    list_filter = _FILTERS
    list_select_related = ("tenant", "application", "user")


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdminMixin, TenantScopedAdmin, dot_admin.GrantAdmin):
    list_display = ("pk", "masked_code", "tenant", "application", "user", "expires")
    list_filter = _FILTERS
    list_select_related = ("tenant", "application", "user")


@admin.register(IDToken)
class IDTokenAdmin(ReadOnlyAdminMixin, TenantScopedAdmin, dot_admin.IDTokenAdmin):
    list_display = ("jti", "tenant", "user", "application", "expires")
    list_filter = _FILTERS
    list_select_related = ("tenant", "application", "user")
