"""Admin for client grants (which application may get tokens for which API), through ``apps.grants.services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from apps.apis.models import Api
from apps.dashboard.admin_base import ServiceModelForm, TenantScopedAdmin, member_tenant_ids, scope_to_tenants
from apps.grants.models import ClientGrant, DeniedToken, UserGrant
from apps.grants.services import (
    client_grant_create,
    client_grant_delete,
    client_grant_update,
    token_deny,
    token_undeny,
    user_grant_revoke,
)

# (group label or None, api id or None, [scope values]) — see ScopeCheckboxes.
ScopeGroups = list[tuple[str | None, int | None, list[str]]]


class ScopeCheckboxes(forms.CheckboxSelectMultiple):
    """Scope checkboxes grouped by API; each carries ``data-api`` so the page can show the chosen API's."""

    group_api_ids: dict[str, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group_api_ids = {}

    def optgroups(self, name: str, value: Any, attrs: Any = None) -> list:
        groups = super().optgroups(name, value, attrs)
        for group, options, _index in groups:
            api_id = self.group_api_ids.get(group)
            for option in options:
                if api_id is not None:
                    option["attrs"]["data-api"] = str(api_id)
        return groups

    class Media:
        js = ("portcullis/client_grant.js",)


class ClientGrantForm(ServiceModelForm):
    """Application, API and scopes; the scopes offered are those of the user's tenants' APIs.

    Whether each scope is defined by the *chosen* API is the service's rule
    (``client_grant_create``); its refusal comes back onto the ``scopes`` field.
    """

    scopes = forms.MultipleChoiceField(required=False, widget=ScopeCheckboxes)
    scope_groups: ScopeGroups = []

    class Meta:
        model = ClientGrant
        fields = ("application", "api", "scopes")
        labels = {"api": "API"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["scopes"]
        if len(self.scope_groups) == 1 and self.scope_groups[0][0] is None:
            field.choices = [(value, value) for value in self.scope_groups[0][2]]
        else:
            field.choices = [
                (label, [(value, value) for value in values]) for label, _, values in self.scope_groups
            ]
            field.widget.group_api_ids = {label: api_id for label, api_id, _ in self.scope_groups if label}


@admin.register(ClientGrant)
class ClientGrantAdmin(TenantScopedAdmin):
    """Client grants of the user's tenants. The application and API are fixed once created.

    Grants of system applications (the management client's) are read-only, like the
    applications themselves.
    """

    list_display = ("application", "api_identifier", "scope_list", "tenant")
    list_select_related = ("tenant", "application", "api")
    list_filter = (
        ("tenant", admin.RelatedOnlyFieldListFilter),
        ("api", admin.RelatedOnlyFieldListFilter),
        ("application", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("application__name", "application__client_id", "api__identifier", "api__name")
    form = ClientGrantForm
    fields = ("application", "api", "scopes")

    @admin.display(description="API", ordering="api__identifier")
    def api_identifier(self, obj: ClientGrant) -> str:
        return obj.api.identifier

    @admin.display(description="Scopes")
    def scope_list(self, obj: ClientGrant) -> str:
        return " ".join(obj.scopes)

    def get_readonly_fields(self, request: HttpRequest, obj: ClientGrant | None = None) -> tuple[str, ...]:
        return () if obj is None else ("application", "api")

    def get_fields(self, request: HttpRequest, obj: ClientGrant | None = None) -> Any:
        # A member who may only look sees the scopes as words, not the stored JSON list.
        if obj is not None and not self.has_change_permission(request, obj):
            return ("application", "api", "scope_list")
        return super().get_fields(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "application":
            formfield.queryset = formfield.queryset.filter(is_system=False)
        return formfield

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "application" and hasattr(formfield.widget, "can_add_related"):
            # A new application's one-time secret would be shown in the popup and lost: no "+".
            formfield.widget.can_add_related = False
        return formfield

    def form_attrs(self, request: HttpRequest, obj: ClientGrant | None) -> dict[str, Any]:
        if obj is not None:
            return {"scope_groups": [(None, None, list(obj.api.scopes.values_list("value", flat=True)))]}
        apis = scope_to_tenants(Api.objects.all(), member_tenant_ids(request)).prefetch_related("scopes")
        groups = [
            (f"{api.name} ({api.identifier})", api.pk, [scope.value for scope in api.scopes.all()])
            for api in apis.select_related("tenant").order_by("tenant__slug", "name")
        ]
        # An API without scopes offers nothing to tick (a grant of no scopes needs no checkbox).
        return {"scope_groups": [group for group in groups if group[2]]}

    def _system(self, obj: ClientGrant | None) -> bool:
        return obj is not None and obj.application.is_system

    def has_change_permission(self, request: HttpRequest, obj: ClientGrant | None = None) -> bool:
        return super().has_change_permission(request, obj) and not self._system(obj)

    def has_delete_permission(self, request: HttpRequest, obj: ClientGrant | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._system(obj)

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> ClientGrant:
        data = form.cleaned_data
        return client_grant_create(
            tenant=data["application"].tenant,
            application=data["application"],
            api=data["api"],
            scopes=data["scopes"],
            actor=request.user,
        )

    def service_update(self, request: HttpRequest, obj: ClientGrant, form: forms.ModelForm) -> None:
        if "scopes" in form.changed_data:
            client_grant_update(grant=obj, scopes=form.cleaned_data["scopes"], actor=request.user)

    def service_delete(self, request: HttpRequest, obj: ClientGrant) -> None:
        client_grant_delete(grant=obj, actor=request.user)


@admin.register(UserGrant)
class UserGrantAdmin(TenantScopedAdmin):
    """End users' consents, as the authorized-applications page shows them. Nobody edits a consent;
    deleting one revokes it (``user_grant_revoke``): its refresh tokens stop working at once."""

    list_display = ("user", "application", "audience", "scope_list", "created_at", "updated_at")
    list_filter = (
        ("tenant", admin.RelatedOnlyFieldListFilter),
        ("application", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("user__username", "user__email", "application__name", "audience")
    list_select_related = ("tenant", "user", "application")
    readonly_fields = (
        "tenant",
        "user",
        "application",
        "api",
        "audience",
        "scope_list",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    actions = ["delete_selected"]

    @admin.display(description="Scopes")
    def scope_list(self, obj: UserGrant) -> str:
        return " ".join(obj.scopes)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: UserGrant | None = None) -> bool:
        return False

    def service_delete(self, request: HttpRequest, obj: UserGrant) -> None:
        user_grant_revoke(grant=obj, actor=request.user)


class DeniedTokenForm(ServiceModelForm):
    """The token to deny: its ``jti`` and API (as in Auth0's deny list); the expiry may be left empty."""

    class Meta:
        model = DeniedToken
        fields = ("tenant", "jti", "audience", "expires_at", "reason")
        help_texts = {
            "jti": "The token's jti claim (decode the token, e.g. on jwt.io, to read it).",
            "audience": "The API identifier in the token's aud claim (empty for a userinfo-only token).",
            "expires_at": "The token's exp. Leave empty to keep the entry for the tenant's longest token lifetime.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "expires_at" in self.fields:
            self.fields["expires_at"].required = False


@admin.register(DeniedToken)
class DeniedTokenAdmin(TenantScopedAdmin):
    """The deny list: access tokens refused before they expire. Added here, by the revocation
    endpoint and by every revocation of a grant or refresh token; deleting an entry lets the token
    through again."""

    list_display = ("jti", "audience", "expires_at", "reason", "created_at", "tenant")
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter), "audience")
    search_fields = ("jti", "audience", "reason")
    form = DeniedTokenForm
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request: HttpRequest, obj: DeniedToken | None = None) -> tuple[str, ...]:
        return () if obj is None else ("tenant", "jti", "audience", "expires_at", "reason", "created_at")

    def has_change_permission(self, request: HttpRequest, obj: DeniedToken | None = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> DeniedToken:
        data = form.cleaned_data
        return token_deny(
            tenant=data["tenant"],
            jti=data["jti"],
            audience=data.get("audience", ""),
            expires_at=data.get("expires_at"),
            reason=data.get("reason", ""),
            actor=request.user,
        )

    def service_delete(self, request: HttpRequest, obj: DeniedToken) -> None:
        token_undeny(entry=obj, actor=request.user)
