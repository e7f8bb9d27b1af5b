"""Admin for the audit trail: read-only, filtered by tenant and event type."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from apps.audit.models import AuditEvent, TokenEvent
from apps.dashboard.admin_base import ReadOnlyAdminMixin, TenantScopedAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """Who changed what, in the user's tenants. Portal-level events (no tenant) are for superusers."""

    list_display = ("created_at", "type", "tenant", "actor_label", "target")
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter), "type")
    search_fields = ("target", "actor_label")
    fields = ("created_at", "tenant", "type", "actor", "actor_label", "target", "data_pretty")
    readonly_fields = fields

    @admin.display(description="Data")
    def data_pretty(self, obj: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.data, indent=2, sort_keys=True))


@admin.register(TokenEvent)
class TokenEventAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """The token log of the user's tenants: every token issued or refused."""

    list_display = ("created_at", "type", "tenant", "client_id", "audience", "error")
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter), "type", "error")
    search_fields = ("client_id", "audience", "jti")
    fields = (
        "created_at", "tenant", "type", "client_id", "audience", "scope", "jti", "error", "error_description", "ip",
    )  # fmt: skip
    readonly_fields = fields
