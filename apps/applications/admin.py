"""Admin for applications (OAuth clients), written through ``apps.applications.services``.

Replaces django-oauth-toolkit's ``ApplicationAdmin`` for our swapped model: that one edits
``client_secret`` in a form field, knows nothing of tenants, and saves rows directly.
"""

from __future__ import annotations

from typing import Any

import oauth2_provider.admin  # noqa: F401 - DOT registers its admin first; we replace it below
from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse

from apps.applications.models import Application
from apps.applications.services import (
    MUTABLE_FIELDS,
    application_create,
    application_delete,
    application_secret_rotate,
    application_update,
)
from apps.dashboard.admin_base import (
    ServiceModelForm,
    TenantScopedAdmin,
    confirm_response,
    secret_response,
)
from apps.dashboard.forms import UriListField

_NEW_SECRET_ATTR = "_portcullis_new_client_secret"
# Form field -> application_update keyword, where they differ.
_SERVICE_NAMES = {"redirect_uris": "callbacks"}


class _ApplicationFields(forms.Form):
    """Fields both application forms declare (the model stores them in other shapes)."""

    grant_types = forms.MultipleChoiceField(
        choices=Application.GrantType.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    redirect_uris = UriListField(label="Allowed callback URLs")
    allowed_origins = UriListField(label="Allowed web origins")


class ApplicationAddForm(_ApplicationFields, ServiceModelForm):
    name = forms.CharField(max_length=255)
    token_endpoint_auth_method = forms.ChoiceField(
        choices=[("", "The default for the application type"), *Application.AuthMethod.choices],
        required=False,
        label="Token endpoint authentication method",
    )

    class Meta:
        model = Application
        fields = (
            "tenant",
            "name",
            "app_type",
            "description",
            "is_first_party",
            "grant_types",
            "token_endpoint_auth_method",
            "redirect_uris",
            "allowed_origins",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grant_types"].help_text = "Leave all unticked for the defaults of the application type."


class ApplicationChangeForm(_ApplicationFields, ServiceModelForm):
    name = forms.CharField(max_length=255)

    class Meta:
        model = Application
        fields = (
            "name",
            "description",
            "is_active",
            "is_first_party",
            "grant_types",
            "token_endpoint_auth_method",
            "is_token_endpoint_ip_header_trusted",
            "redirect_uris",
            "allowed_origins",
            "client_metadata",
        )
        labels = {"client_metadata": "Application metadata"}
        help_texts = {
            "client_metadata": 'String keys and values that token rules can match and copy: {"plan": "gold"}.'
        }

    def clean_client_metadata(self) -> Any:
        return (
            {} if self.cleaned_data.get("client_metadata") is None else self.cleaned_data["client_metadata"]
        )


if admin.site.is_registered(Application):
    admin.site.unregister(Application)


class RegisteredDynamicallyFilter(admin.BooleanFieldListFilter):
    """Filter on ``is_dynamically_registered``, titled as the list column is."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = "registered dynamically"


@admin.register(Application)
class ApplicationAdmin(TenantScopedAdmin):
    """Applications of the user's tenants.

    The client secret is shown once, in the response to creating the application or to
    rotating its secret; the stored hash is in no form, list or page. System applications
    (the Management API's client) are read-only and cannot be deleted; their secret can be
    rotated, which is how a lost or leaked management secret is replaced.
    """

    list_display = (
        "name",
        "client_id",
        "tenant",
        "app_type",
        "is_active",
        "is_system",
        "registered_dynamically",
    )
    list_filter = (
        ("tenant", admin.RelatedOnlyFieldListFilter),
        "app_type",
        "is_active",
        "is_system",
        ("is_dynamically_registered", RegisteredDynamicallyFilter),
    )
    search_fields = ("name", "client_id")
    # DOT's get_absolute_url points at its own management views, which we do not serve.
    view_on_site = False
    form = ApplicationChangeForm
    add_form = ApplicationAddForm
    change_form_template = "admin/applications/application/change_form.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "tenant",
                    "name",
                    "client_id",
                    "app_type",
                    "description",
                    "is_system",
                    "registered_dynamically",
                )
            },
        ),
        (
            "Settings",
            {
                "fields": (
                    "is_active",
                    "is_first_party",
                    "grant_types",
                    "token_endpoint_auth_method",
                    "is_token_endpoint_ip_header_trusted",
                )
            },
        ),
        ("URLs", {"fields": ("redirect_uris", "allowed_origins")}),
        ("Application metadata", {"fields": ("client_metadata",)}),
        ("History", {"fields": ("created", "updated")}),
    )
    add_fieldsets = (
        (None, {"fields": ("tenant", "name", "app_type", "description", "is_first_party")}),
        ("Settings", {"fields": ("grant_types", "token_endpoint_auth_method")}),
        ("URLs", {"fields": ("redirect_uris", "allowed_origins")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Application | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return (
            "tenant",
            "client_id",
            "app_type",
            "is_system",
            "registered_dynamically",
            "created",
            "updated",
        )

    @admin.display(description="Registered dynamically", boolean=True, ordering="is_dynamically_registered")
    def registered_dynamically(self, obj: Application) -> bool:
        """Created through RFC 7591 registration by a third party, not by a tenant admin."""
        return obj.is_dynamically_registered

    def has_change_permission(self, request: HttpRequest, obj: Application | None = None) -> bool:
        return super().has_change_permission(request, obj) and not (obj is not None and obj.is_system)

    def has_delete_permission(self, request: HttpRequest, obj: Application | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_system)

    def has_rotate_permission(self, request: HttpRequest, obj: Application) -> bool:
        """Rotating is a change of credentials, allowed on system applications too (see the class)."""
        return super().has_change_permission(request, obj)

    # --- writes -------------------------------------------------------------------------------

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> Application:
        data = form.cleaned_data
        created = application_create(
            tenant=data["tenant"],
            name=data["name"],
            app_type=data["app_type"],
            grant_types=data["grant_types"] or None,
            token_endpoint_auth_method=data["token_endpoint_auth_method"] or None,
            is_first_party=data["is_first_party"],
            callbacks=data["redirect_uris"],
            allowed_origins=data["allowed_origins"],
            description=data["description"],
            actor=request.user,
        )
        # For response_add, in this request only: never stored, logged or put in a message.
        setattr(request, _NEW_SECRET_ATTR, created.client_secret)
        return created.application

    def service_update(self, request: HttpRequest, obj: Application, form: forms.ModelForm) -> None:
        changes = {
            _SERVICE_NAMES.get(field, field): form.cleaned_data[field]
            for field in form.changed_data
            if _SERVICE_NAMES.get(field, field) in MUTABLE_FIELDS
        }
        if changes:
            application_update(application=obj, actor=request.user, **changes)

    def service_delete(self, request: HttpRequest, obj: Application) -> None:
        application_delete(application=obj, actor=request.user)

    def response_add(
        self, request: HttpRequest, obj: Application, post_url_continue: str | None = None
    ) -> HttpResponse:
        return self._secret_page(
            request, obj, getattr(request, _NEW_SECRET_ATTR), title="Application created: client secret"
        )

    def _secret_page(
        self, request: HttpRequest, obj: Application, secret: str, *, title: str
    ) -> HttpResponse:
        return secret_response(
            request,
            self,
            title=title,
            obj=obj,
            secret_label="Client secret",
            secret=secret,
            details=[("Client ID", obj.client_id)],
            continue_url=reverse("admin:applications_application_change", args=[obj.pk]),
        )

    # --- rotating the secret --------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        rotate = path(
            "<path:object_id>/rotate-secret/",
            self.admin_site.admin_view(self.rotate_secret_view),
            name="applications_application_rotate_secret",
        )
        # Before the defaults: their "<path:object_id>/" catch-all would swallow this URL.
        return [rotate, *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if obj.client_type == Application.CLIENT_CONFIDENTIAL and self.has_rotate_permission(request, obj):
            extra_context["rotate_secret_url"] = reverse(
                "admin:applications_application_rotate_secret", args=[obj.pk]
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def rotate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET asks for confirmation; POST rotates and shows the new secret in that response only."""
        application = self.get_object(request, unquote(object_id))
        if not self.has_rotate_permission(request, application):
            raise PermissionDenied
        if request.method != "POST":
            return confirm_response(
                request,
                self,
                title="Rotate client secret",
                obj=application,
                message=(
                    "A new client secret will be generated and shown once. The current secret stops "
                    "working at once: update every deployment of this application."
                ),
                button="Rotate secret",
                cancel_url=reverse("admin:applications_application_change", args=[application.pk]),
            )
        secret = application_secret_rotate(application=application, actor=request.user)
        self.log_change(request, application, "Rotated the client secret.")
        return self._secret_page(request, application, secret, title="New client secret")
