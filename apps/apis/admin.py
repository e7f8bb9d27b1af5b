"""Admin for APIs (resource servers) and their scopes, written through ``apps.apis.services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import construct_change_message, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse

from apps.apis.models import Api, Scope
from apps.apis.services import (
    API_SETTINGS,
    MUTABLE_FIELDS,
    api_create,
    api_delete,
    api_scopes_set,
    api_signing_secret,
    api_update,
)
from apps.dashboard.admin_base import (
    ServiceModelForm,
    TenantScopedAdmin,
    adopt,
    confirm_response,
    secret_response,
)

_SETTINGS = API_SETTINGS


class ApiAddForm(ServiceModelForm):
    class Meta:
        model = Api
        fields = ("tenant", "name", "identifier", *_SETTINGS)
        help_texts = {"identifier": "The audience clients ask tokens for. It cannot change later."}


class ApiChangeForm(ServiceModelForm):
    class Meta:
        model = Api
        fields = ("name", *_SETTINGS)


class ScopeInline(admin.TabularInline):
    """The API's scopes; saved as a whole through ``api_scopes_set`` by ``ApiAdmin.save_related``."""

    model = Scope
    fields = ("value", "description")
    extra = 1

    def _editable(self, obj: Api | None) -> bool:
        return obj is None or not obj.is_system

    def has_add_permission(self, request: HttpRequest, obj: Api | None = None) -> bool:
        return super().has_add_permission(request, obj) and self._editable(obj)

    def has_change_permission(self, request: HttpRequest, obj: Api | None = None) -> bool:
        return super().has_change_permission(request, obj) and self._editable(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Api | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self._editable(obj)


def _scopes_from(formsets: Any) -> dict[str, str] | None:
    """``{value: description}`` as the scope inline now stands, or None without an editable inline."""
    for formset in formsets:
        if formset.model is Scope:
            return {
                form.cleaned_data["value"]: form.cleaned_data.get("description", "")
                for form in formset.forms
                if form.cleaned_data.get("value") and not form.cleaned_data.get("DELETE")
            }
    return None


@admin.register(Api)
class ApiAdmin(TenantScopedAdmin):
    """APIs with a scope inline. The identifier is fixed at creation; system APIs are read-only.

    An HS256 API's signing secret is never on the change page: it takes the explicit
    "Reveal signing secret" button (a POST), and appears only in that response.
    """

    list_display = ("name", "identifier", "tenant", "signing_alg", "is_system")
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter), "signing_alg", "is_system")
    search_fields = ("name", "identifier")
    form = ApiChangeForm
    add_form = ApiAddForm
    inlines = (ScopeInline,)
    change_form_template = "admin/apis/api/change_form.html"
    fieldsets = (
        (None, {"fields": ("tenant", "name", "identifier", "is_system")}),
        ("Token settings", {"fields": _SETTINGS}),
    )
    add_fieldsets = (
        (None, {"fields": ("tenant", "name", "identifier")}),
        ("Token settings", {"fields": _SETTINGS}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Api | None = None) -> tuple[str, ...]:
        return () if obj is None else ("tenant", "identifier", "is_system")

    def has_change_permission(self, request: HttpRequest, obj: Api | None = None) -> bool:
        return super().has_change_permission(request, obj) and not (obj is not None and obj.is_system)

    def has_delete_permission(self, request: HttpRequest, obj: Api | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_system)

    # --- writes -------------------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Api, form: forms.ModelForm, change: bool) -> None:
        # A new API is created in save_related, where its scopes (the inline) are known too:
        # one api_create call instead of a create followed by a scopes update.
        if change:
            self.service_update(request, obj, form)

    def service_update(self, request: HttpRequest, obj: Api, form: forms.ModelForm) -> None:
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in MUTABLE_FIELDS}
        if changes:
            api_update(api=obj, actor=request.user, **changes)

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        scopes = _scopes_from(formsets)
        if not change:
            data = form.cleaned_data
            options = {field: data[field] for field in _SETTINGS}
            created = api_create(
                tenant=data["tenant"],
                name=data["name"],
                identifier=data["identifier"],
                scopes=scopes or {},
                actor=request.user,
                **options,
            )
            adopt(form.instance, created)
            return
        api = form.instance
        current = {scope.value: scope.description for scope in api.scopes.all()}
        if scopes is not None and scopes != current:
            api_scopes_set(api=api, scopes=scopes, actor=request.user)

    def construct_change_message(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, add: bool
    ) -> list[dict[str, Any]]:
        # The scope inline went through api_scopes_set, not formset.save(), so Django's
        # per-row description is unavailable: the history says "Scopes" changed.
        message = construct_change_message(form, [], add)
        if not add and any(formset.has_changed() for formset in formsets):
            message.append({"changed": {"fields": ["Scopes"]}})
        return message

    def service_delete(self, request: HttpRequest, obj: Api) -> None:
        api_delete(api=obj, actor=request.user)

    # --- the HS256 secret, revealed on request -----------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        reveal = path(
            "<path:object_id>/signing-secret/",
            self.admin_site.admin_view(self.signing_secret_view),
            name="apis_api_signing_secret",
        )
        # Before the defaults: their "<path:object_id>/" catch-all would swallow this URL.
        return [reveal, *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if self._may_reveal(request, obj):
            extra_context["signing_secret_url"] = reverse("admin:apis_api_signing_secret", args=[obj.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def _may_reveal(self, request: HttpRequest, obj: Api) -> bool:
        return obj.signing_alg == Api.SigningAlgorithm.HS256 and self.has_change_permission(request, obj)

    def signing_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET asks for confirmation; POST shows the HS256 secret in that response only."""
        api = self.get_object(request, unquote(object_id))
        if api.signing_alg != Api.SigningAlgorithm.HS256:
            raise Http404("This API does not sign with a shared secret.")
        if not self.has_change_permission(request, api):
            raise PermissionDenied
        change_url = reverse("admin:apis_api_change", args=[api.pk])
        if request.method != "POST":
            return confirm_response(
                request,
                self,
                title="Reveal signing secret",
                obj=api,
                message=(
                    "This API's tokens are signed with HS256 and this shared secret. Anyone who has it "
                    "can mint tokens for the API: share it only with the API's developers."
                ),
                button="Reveal signing secret",
                cancel_url=change_url,
            )
        return secret_response(
            request,
            self,
            title="Signing secret",
            obj=api,
            secret_label="HS256 signing secret",
            secret=api_signing_secret(api=api, actor=request.user),
            details=[("Identifier", api.identifier)],
            continue_url=change_url,
        )
