"""Admin for the audit trail: read-only, filtered by tenant and event type."""

from __future__ import annotations

import json

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from apps.audit.models import AuditEvent, TokenEvent
from apps.dashboard.admin_base import ReadOnlyAdminMixin, TenantScopedAdmin


class RefusalReasonFilter(admin.SimpleListFilter):
    """Refused sign-ins by Auth0's error name (``data.reason``): wrong credentials or attack protection."""

    title = "sign-in refusal reason"
    parameter_name = "reason"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("invalid_grant", "Wrong email or password (invalid_grant)"),
            ("too_many_attempts", "Blocked or throttled (too_many_attempts)"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in {value for value, _ in self.lookups(request, None)}:
            return queryset.filter(type=AuditEvent.Type.USER_LOGIN_FAILED, data__reason=self.value())
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """Who changed what, in the user's tenants. Portal-level events (no tenant) are for superusers.

    Sign-in events (``user.login_failed``, ``user.blocked``, ``ip.throttled``...) filter by type and
    refusal reason, and are found by username (target) or IP address.
    """

    list_display = ("created_at", "type", "tenant", "actor_label", "target", "ip")
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter), "type", RefusalReasonFilter)
    search_fields = ("target", "actor_label", "data__ip")
    fields = ("created_at", "tenant", "type", "actor", "actor_label", "target", "data_pretty")
    readonly_fields = fields

    @admin.display(description="IP address")
    def ip(self, obj: AuditEvent) -> str:
        return (obj.data or {}).get("ip") or "" if isinstance(obj.data, dict) else ""

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
