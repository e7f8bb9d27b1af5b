"""Admin for token rules (written through ``apps.token_rules.services``) and their dry run.

The dry run asks the token endpoint's own code what it would decide
(``apps.oauth.grants.client_credentials.client_credentials_preview``): the same grant and
scope checks, the same compiled rules from the same cache, the same hook. Nothing is
issued or recorded.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from apps.apis.models import Api
from apps.apis.selectors import api_get_by_identifier
from apps.applications.models import Application
from apps.applications.selectors import application_get_for_token
from apps.dashboard.admin_base import ServiceModelForm, TenantScopedAdmin, member_tenant_ids, scope_to_tenants
from apps.dashboard.forms import ScopeListField
from apps.oauth import errors
from apps.oauth.constants import GrantType
from apps.oauth.grants.client_credentials import client_credentials_preview
from apps.token_rules.models import TokenRule
from apps.token_rules.selectors import token_rule_list
from apps.token_rules.services import (
    MUTABLE_FIELDS,
    RULE_FIELDS,
    token_rule_create,
    token_rule_delete,
    token_rule_update,
)

MSG_DRY_RUN_CROSS_TENANT = "The application and the API must belong to the same tenant."
MSG_DRY_RUN_GRANT_TYPE = (
    "This application may not use client_credentials: the token endpoint answers unauthorized_client."
)


class TokenRuleForm(ServiceModelForm):
    """The rule's fields; ``TokenRule.clean`` (run by the service) judges them and names the field."""

    add_scopes = ScopeListField(help_text="Added when the client grant includes them (never beyond it).")
    remove_scopes = ScopeListField(help_text="Removed from the token when present.")
    order = forms.IntegerField(
        min_value=0, required=False, help_text="Rules run from the lowest number up. Empty: after the others."
    )

    class Meta:
        model = TokenRule
        fields = ("tenant", *RULE_FIELDS)
        widgets = {
            "claims": forms.Textarea(attrs={"rows": 3, "cols": 80}),
            "metadata_claims": forms.Textarea(attrs={"rows": 3, "cols": 80}),
        }


@admin.register(TokenRule)
class TokenRuleAdmin(TenantScopedAdmin):
    """Token rules of the user's tenants, in evaluation order, with a dry run."""

    list_display = ("order", "name", "enabled", "when", "then", "tenant")
    list_display_links = ("name",)
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter), "enabled", "action")
    list_select_related = ("tenant", "application", "api")
    search_fields = ("name",)
    ordering = ("tenant", "order", "id")
    form = TokenRuleForm
    change_list_template = "admin/token_rules/tokenrule/change_list.html"
    fieldsets = (
        (None, {"fields": ("tenant", "name", "enabled", "order")}),
        (
            "When (every condition set must hold)",
            {"fields": ("application", "api", "metadata_key", "metadata_value")},
        ),
        (
            "Then",
            {
                "fields": (
                    "action",
                    "claims",
                    "metadata_claims",
                    "add_scopes",
                    "remove_scopes",
                    "deny_message",
                )
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: TokenRule | None = None) -> tuple[str, ...]:
        return () if obj is None else ("tenant",)

    @admin.display(description="When")
    def when(self, obj: TokenRule) -> str:
        parts = [
            f"application {obj.application}" if obj.application_id else "",
            f"API {obj.api.identifier}" if obj.api_id else "",
            f"metadata {obj.metadata_key}={obj.metadata_value or '*'}" if obj.metadata_key else "",
        ]
        return ", ".join(part for part in parts if part) or "always"

    @admin.display(description="Then")
    def then(self, obj: TokenRule) -> str:
        if obj.action == TokenRule.Action.DENY:
            return f"deny: {obj.deny_message}"
        parts = [
            f"claims {', '.join([*obj.claims, *obj.metadata_claims])}"
            if obj.claims or obj.metadata_claims
            else "",
            f"+{' +'.join(obj.add_scopes)}" if obj.add_scopes else "",
            f"-{' -'.join(obj.remove_scopes)}" if obj.remove_scopes else "",
        ]
        return "; ".join(part for part in parts if part)

    # --- writes -------------------------------------------------------------------------------

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> TokenRule:
        data = form.cleaned_data
        return token_rule_create(
            tenant=data["tenant"],
            actor=request.user,
            **{field: data[field] for field in RULE_FIELDS if field in data},
        )

    def service_update(self, request: HttpRequest, obj: TokenRule, form: forms.ModelForm) -> None:
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in MUTABLE_FIELDS}
        if changes:
            token_rule_update(rule=obj, actor=request.user, **changes)

    def service_delete(self, request: HttpRequest, obj: TokenRule) -> None:
        token_rule_delete(rule=obj, actor=request.user)

    # --- the dry run --------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        dry_run = path(
            "dry-run/", self.admin_site.admin_view(self.dry_run_view), name="token_rules_tokenrule_dry_run"
        )
        return [dry_run, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "dry_run_url": reverse("admin:token_rules_tokenrule_dry_run"),
        }
        return super().changelist_view(request, extra_context)

    def dry_run_view(self, request: HttpRequest) -> HttpResponse:
        """GET only: choosing an application and an API changes nothing, so the form submits by GET."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        tenant_ids = member_tenant_ids(request)
        form = DryRunForm(
            request.GET or None,
            applications=scope_to_tenants(Application.objects.all(), tenant_ids).select_related("tenant"),
            apis=scope_to_tenants(Api.objects.all(), tenant_ids).select_related("tenant"),
        )
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": "Token rules: dry run",
            "opts": self.opts,
            "form": form,
        }
        if form.is_valid():
            context.update(dry_run(form.cleaned_data))
        return TemplateResponse(request, "admin/token_rules/tokenrule/dry_run.html", context)


class DryRunForm(forms.Form):
    application = forms.ModelChoiceField(queryset=Application.objects.none())
    api = forms.ModelChoiceField(queryset=Api.objects.none(), label="API")
    scope = forms.CharField(
        required=False,
        label="Requested scopes",
        help_text="Space-separated, as the scope parameter. Empty: every granted scope (the default).",
    )

    def __init__(self, *args: Any, applications, apis, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = applications
        self.fields["application"].label_from_instance = lambda app: f"{app} ({app.tenant.slug})"
        self.fields["api"].queryset = apis
        self.fields["api"].label_from_instance = lambda api: (
            f"{api.name} — {api.identifier} ({api.tenant.slug})"
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        application, api = cleaned.get("application"), cleaned.get("api")
        if application is not None and api is not None and application.tenant_id != api.tenant_id:
            raise forms.ValidationError(MSG_DRY_RUN_CROSS_TENANT, code="cross_tenant")
        return cleaned


def dry_run(data: dict[str, Any]) -> dict[str, Any]:
    """What the page shows for the chosen application, API and scopes."""
    application, api = data["application"], data["api"]
    tenant = application.tenant
    rules = list(token_rule_list(tenant=tenant))
    result: dict[str, Any] = {
        "tenant": tenant,
        "disabled_rules": [rule for rule in rules if not rule.enabled],
        "rule_count": len(rules),
    }
    if GrantType.CLIENT_CREDENTIALS not in application.grant_types:
        result["warning"] = MSG_DRY_RUN_GRANT_TYPE
    # What the token endpoint reads: the cached client and API snapshot, not these form objects.
    client = application_get_for_token(tenant_id=tenant.pk, client_id=application.client_id)
    snapshot = api_get_by_identifier(tenant_id=tenant.pk, identifier=api.identifier)
    try:
        outcome = client_credentials_preview(
            tenant=tenant, application=client, api=snapshot, scopes=data["scope"].split()
        )
    except errors.OAuthError as error:
        result["refusal"] = error.as_dict()
        result["refusal_json"] = json.dumps(result["refusal"])
        return result
    result["outcome"] = outcome
    if outcome.failure is not None:
        result["refusal"] = errors.ServerError(errors.MSG_TOKEN_HOOK_FAILED).as_dict()
    elif outcome.denied is not None:
        result["refusal"] = errors.AccessDenied(outcome.denied).as_dict()
    else:
        result["scope"] = " ".join(outcome.scopes)
        result["claims_json"] = json.dumps(outcome.claims, indent=2, ensure_ascii=False, sort_keys=True)
    if "refusal" in result:
        result["refusal_json"] = json.dumps(result["refusal"])
    return result
