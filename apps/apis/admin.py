"""Admin for APIs (resource servers) and their scopes, written through ``apps.apis.services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import construct_change_message, unquote
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.cache import add_never_cache_headers

from apps.apis.admin_tabs import (
    MSG_NO_SUCH_APPLICATION,
    M2MForm,
    ScopeAddForm,
    ScopeListForm,
    add_service_error,
    api_tabs,
    minted_token_display,
)
from apps.apis.models import Api, Scope
from apps.apis.selectors import api_scope_removal_impact
from apps.apis.services import (
    API_SETTINGS,
    MUTABLE_FIELDS,
    api_create,
    api_delete,
    api_scope_add,
    api_scopes_change,
    api_scopes_set,
    api_signing_secret,
    api_update,
)
from apps.core.client_ip import client_ip
from apps.dashboard.admin_base import (
    ServiceModelForm,
    TenantScopedAdmin,
    adopt,
    confirm_response,
    secret_response,
)
from apps.grants.models import ClientGrant
from apps.grants.selectors import client_grant_candidates
from apps.oauth import errors as oauth_errors
from apps.oauth.issuer import issuer_for_host
from apps.oauth.portal_tokens import api_test_token_issue
from apps.oauth.token_snippets import SECRET_PLACEHOLDER, client_credentials_snippets

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
    """APIs, each page in tabs like Auth0's dashboard: Settings (the change form), Permissions,
    Machine to Machine Applications (client grants) and Test (snippets and a test token).

    The add page takes the first scopes in an inline; afterwards they live on the Permissions
    tab. The identifier is fixed at creation. System APIs (the Management API) are read-only on
    every tab but Test. Each tab is its own admin URL under the object, scoped like the change
    page: another tenant's API is a 404 on all of them, a user who may only view sees every tab
    without its forms, and a POST without the change permission is refused (403).

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

    def get_inlines(self, request: HttpRequest, obj: Api | None) -> tuple[type, ...]:
        # A new API's first scopes come with it (one api_create); later, the Permissions tab.
        return self.inlines if obj is None else ()

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

    # --- URLs: the tabs and the signing secret, under the object ---------------------------------------

    def get_urls(self) -> list[URLPattern]:
        def route(suffix: str, view: Any, name: str) -> URLPattern:
            return path(f"<path:object_id>/{suffix}/", self.admin_site.admin_view(view), name=name)

        # Before the defaults: their "<path:object_id>/" catch-all would swallow these URLs.
        return [
            route("signing-secret", self.signing_secret_view, "apis_api_signing_secret"),
            route("permissions", self.permissions_view, "apis_api_permissions"),
            route("m2m", self.m2m_view, "apis_api_m2m"),
            route("test", self.test_view, "apis_api_test"),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        extra_context = {**(extra_context or {}), **self._tab_heading(obj, "settings")}
        if self._may_reveal(request, obj):
            extra_context["signing_secret_url"] = reverse("admin:apis_api_signing_secret", args=[obj.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    # --- the tabs -----------------------------------------------------------------------------------

    def _tab_heading(self, api: Api, tab: str) -> dict[str, Any]:
        return {"title": api.name, "subtitle": api.identifier, "tabs": api_tabs(api, tab)}

    def _tab_api(self, request: HttpRequest, object_id: str) -> Api:
        """The tab's API: a 404 for another tenant's (``get_object``), a 403 without view permission."""
        api = self.get_object(request, unquote(object_id))
        if not self.has_view_permission(request, api):
            raise PermissionDenied
        return api

    def _tab_response(
        self, request: HttpRequest, api: Api, tab: str, template: str, context: dict[str, Any]
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            **self._tab_heading(api, tab),
            "opts": self.opts,
            "original": api,
            "api": api,
            "has_view_permission": True,
            **context,
        }
        return TemplateResponse(request, f"admin/apis/api/{template}", context)

    def _tab_redirect(self, api: Api, url_name: str) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse(f"admin:{url_name}", args=[api.pk]))

    def permissions_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The API's scopes: add one, edit descriptions, remove some (after a confirmation when
        client grants, roles or users hold them). Writes: ``api_scope_add``, ``api_scopes_change``."""
        api = self._tab_api(request, object_id)
        editable = self.has_change_permission(request, api)
        scopes = list(Scope.objects.filter(api=api).order_by("value"))
        add_form = ScopeAddForm()
        list_form = ScopeListForm(scopes=scopes, disabled=not editable)
        if request.method == "POST":
            if not editable:
                raise PermissionDenied
            action = request.POST.get("action")
            if action == "add":
                add_form = ScopeAddForm(request.POST)
                if add_form.is_valid():
                    try:
                        scope = api_scope_add(api=api, actor=request.user, **add_form.cleaned_data)
                    except ValidationError as error:
                        add_service_error(add_form, error)
                    else:
                        self.message_user(request, f"Permission {scope.value} added.", messages.SUCCESS)
                        return self._tab_redirect(api, "apis_api_permissions")
            elif action == "save":
                list_form = ScopeListForm(request.POST, scopes=scopes)
                if list_form.is_valid():
                    removed = list_form.removed()
                    impact = api_scope_removal_impact(api=api, values=removed) if removed else None
                    if impact is not None and impact.in_use and request.POST.get("confirmed") != "yes":
                        return self._tab_response(
                            request,
                            api,
                            "permissions",
                            "permissions_confirm.html",
                            {"impact": impact, "form": list_form},
                        )
                    try:
                        api_scopes_change(
                            api=api, descriptions=list_form.descriptions(), remove=removed, actor=request.user
                        )
                    except ValidationError as error:
                        add_service_error(list_form, error)
                    else:
                        done = f"Removed {', '.join(removed)}." if removed else "Permissions saved."
                        self.message_user(request, done, messages.SUCCESS)
                        return self._tab_redirect(api, "apis_api_permissions")
            else:
                raise BadRequest("Unknown action.")  # neither form of this page posted it
        return self._tab_response(
            request,
            api,
            "permissions",
            "permissions.html",
            {"add_form": add_form, "list_form": list_form, "editable": editable},
        )

    def m2m_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Every M2M-capable application of the tenant, with a switch (the client grant) and the
        API's scopes to tick; one POST saves the rows that changed through the grant services."""
        api = self._tab_api(request, object_id)
        editable = self.has_change_permission(request, api) and self._may_write_grants(request)
        applications = client_grant_candidates(api=api)
        scopes = list(Scope.objects.filter(api=api).order_by("value").values_list("value", "description"))
        # The management client's grants are Portcullis's (read-only, as on the client grant admin).
        editable_ids = {app.pk for app in applications if not app.is_system} if editable else set()
        options = {"applications": applications, "scopes": scopes, "editable_ids": editable_ids}
        form = M2MForm(**options)
        if request.method == "POST":
            if not editable:
                raise PermissionDenied
            form = M2MForm(request.POST, **options)
            if form.is_valid():
                try:
                    changed = form.save(api=api, actor=request.user)
                except ValidationError as error:
                    add_service_error(form, error)
                else:
                    done = "; ".join(changed) + "." if changed else "No changes."
                    self.message_user(request, done, messages.SUCCESS if changed else messages.INFO)
                    return self._tab_redirect(api, "apis_api_m2m")
        return self._tab_response(
            request,
            api,
            "m2m",
            "m2m.html",
            {
                "form": form,
                "rows": form.rows(),
                "editable": bool(editable_ids),
                "scope_values": form.scope_values,
            },
        )

    def _may_write_grants(self, request: HttpRequest) -> bool:
        """The tab writes client grants: the client grant admin's own add, change and delete permissions."""
        grants = self.admin_site.get_model_admin(ClientGrant)
        return all(
            check(request)
            for check in (
                grants.has_add_permission,
                grants.has_change_permission,
                grants.has_delete_permission,
            )
        )

    def _may_mint(self, request: HttpRequest, api: Api) -> bool:
        # Not ApiAdmin.has_change_permission: a system API may still be tested (its client has a grant).
        return TenantScopedAdmin.has_change_permission(self, request, api)

    def test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Snippets for the token endpoint and, on POST, a real test token (``api_test_token_issue``)
        for one of the authorized applications, shown in this response only (no-store)."""
        api = self._tab_api(request, object_id)
        may_mint = self._may_mint(request, api)
        if request.method == "POST" and not may_mint:
            raise PermissionDenied
        authorized = [app for app in client_grant_candidates(api=api) if app.api_grant is not None]
        asked = (request.POST if request.method == "POST" else request.GET).get("application")
        chosen = next((app for app in authorized if str(app.pk) == asked), None)
        if chosen is None and request.method == "GET" and authorized:
            chosen = authorized[0]
        issuer = issuer_for_host(request, api.tenant)
        context: dict[str, Any] = {
            "authorized": authorized,
            "chosen": chosen,
            "may_mint": may_mint,
            "secret_placeholder": SECRET_PLACEHOLDER,
            "m2m_url": reverse("admin:apis_api_m2m", args=[api.pk]),
        }
        if chosen is not None:
            context["snippets"] = client_credentials_snippets(
                issuer=issuer,
                client_id=chosen.client_id,
                audience=api.identifier,
                auth_method=chosen.token_endpoint_auth_method,
            )
        if request.method == "POST":
            if chosen is None:
                context["refusal"] = {
                    "error": "invalid_request",
                    "error_description": MSG_NO_SUCH_APPLICATION,
                }
            else:
                try:
                    minted = api_test_token_issue(
                        api=api, application=chosen, issuer=issuer, actor=request.user, ip=client_ip(request)
                    )
                except oauth_errors.OAuthError as error:
                    context["refusal"] = error.as_dict()
                else:
                    context.update(minted_token_display(minted))
        response = self._tab_response(request, api, "test", "test.html", context)
        if request.method == "POST":
            # The token is in this response only: never cached, not even for the back button.
            add_never_cache_headers(response)
        return response

    # --- the HS256 secret, revealed on request -----------------------------------------------------

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
