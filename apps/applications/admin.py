"""The portal's application pages, written through ``apps.applications.services``.

Like Auth0's dashboard: "Create application" asks only for a name and a type (and the tenant)
and the service gives the type's defaults; a confidential application's secret is then shown
once, with a copy button. The application's page has tabs: Settings, Credentials (with "Rotate
secret"), Application URIs, Grant types, Advanced (one form, one service call per save: the
tabs are sections of it, switched in the page) and Quickstart (its own read-only page).

Replaces django-oauth-toolkit's ``ApplicationAdmin`` for our swapped model: that one edits
``client_secret`` in a form field, knows nothing of tenants, and saves rows directly.
"""

from __future__ import annotations

from typing import Any

import oauth2_provider.admin  # noqa: F401 - DOT registers its admin first; we replace it below
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.text import slugify

from apps.applications.models import Application
from apps.applications.quickstart import quickstart_for
from apps.applications.rules import grant_types_for
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
from apps.oauth.issuer import issuer_for_host

AppType = Application.AppType

_NEW_SECRET_ATTR = "_portcullis_new_client_secret"
# Form field -> application_update keyword, where they differ.
_SERVICE_NAMES = {"redirect_uris": "callbacks", "post_logout_redirect_uris": "logout_urls"}

# The "Create application" dialog's choices, in Auth0's order, each with what it is for.
APP_TYPE_EXPLANATIONS: dict[str, str] = {
    AppType.NATIVE: "Mobile, desktop or command-line apps on the user's device; public, signs in with PKCE.",
    AppType.SPA: "JavaScript apps in the browser (React, Vue, Angular); public, signs in with PKCE.",
    AppType.REGULAR_WEB: "Server-side web apps (Django, Rails, Express) that sign users in and keep a secret.",
    AppType.MACHINE_TO_MACHINE: "Services, daemons and scripts that call your APIs as themselves, with no user.",
}
APP_TYPE_CHOICES = [
    (
        value,
        format_html(
            '<strong>{}</strong> <span class="portcullis-choice-help">{}</span>',
            AppType(value).label,
            explanation,
        ),
    )
    for value, explanation in APP_TYPE_EXPLANATIONS.items()
]

TAB_QUICKSTART = "Quickstart"
SECRET_HIDDEN = (
    "Hidden. Portcullis keeps only a hash of it: it was shown once, when the application was "
    "created or its secret was rotated."
)
SECRET_NONE = "None: a public client (single-page or native app) has no secret; it signs in with PKCE."


class ApplicationAddForm(ServiceModelForm):
    """Auth0's "Create application" dialog: a name and a type; the service sets the rest."""

    name = forms.CharField(max_length=255, help_text="You can change it later.")
    app_type = forms.ChoiceField(choices=APP_TYPE_CHOICES, widget=forms.RadioSelect, label="Application type")

    class Meta:
        model = Application
        fields = ("tenant", "name", "app_type")


class ApplicationChangeForm(ServiceModelForm):
    """The application's page: every tab but Quickstart is a section of this one form."""

    name = forms.CharField(max_length=255)
    grant_types = forms.MultipleChoiceField(
        choices=Application.GrantType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only the grant types an application of this type can use are offered.",
    )
    redirect_uris = UriListField(
        label="Allowed callback URLs",
        help_text=(
            "Where users may be sent back after signing in (redirect_uri), one per line, matched "
            "exactly: https, or http for local development; a native app may use its own scheme "
            "(com.example.app:/callback). No fragments (#) and no wildcards (*)."
        ),
    )
    post_logout_redirect_uris = UriListField(
        label="Allowed logout URLs",
        help_text="Where users may be sent after signing out (post_logout_redirect_uri), one per line.",
    )
    allowed_origins = UriListField(
        label="Allowed web origins (CORS)",
        help_text=(
            "Origins whose browser code may call the token endpoint: scheme, host and port only "
            "(https://app.example.com), one per line. CORS is answered for https origins."
        ),
    )

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
            "post_logout_redirect_uris",
            "allowed_origins",
            "client_metadata",
        )
        labels = {
            "client_metadata": "Application metadata",
            "is_first_party": "First-party application",
            "token_endpoint_auth_method": "Token endpoint authentication method",
        }
        help_texts = {
            "client_metadata": 'String keys and values that token rules can match and copy: {"plan": "gold"}.',
            "is_first_party": (
                "Your own application. Untick for a partner's (third-party) application: its users "
                "are always asked for consent, and the password grants are not available to it."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("grant_types")
        if field is not None and self.instance.pk:
            # What the type allows, and what the application has anyway (from before a rule): the
            # service says why such a one is refused when the grant types are next changed.
            offered = set(grant_types_for(self.instance.app_type)) | set(self.instance.grant_types)
            field.choices = [choice for choice in Application.GrantType.choices if choice[0] in offered]

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
    change_list_template = "admin/applications/application/change_list.html"
    # Each fieldset is a tab of the application's page (templates/admin/applications/application/).
    fieldsets = (
        (
            "Settings",
            {
                "fields": (
                    "name",
                    "description",
                    "application_type",
                    "tenant",
                    "is_first_party",
                    "is_active",
                    "is_system",
                    "registered_dynamically",
                )
            },
        ),
        (
            "Credentials",
            {
                "fields": (
                    "client_id",
                    "client_secret_status",
                    "token_endpoint_auth_method",
                    "is_token_endpoint_ip_header_trusted",
                )
            },
        ),
        ("Application URIs", {"fields": ("redirect_uris", "post_logout_redirect_uris", "allowed_origins")}),
        ("Grant types", {"fields": ("grant_types",)}),
        ("Advanced", {"fields": ("client_metadata", "created", "updated")}),
    )
    add_fieldsets = ((None, {"fields": ("tenant", "name", "app_type")}),)
    readonly_fields_of_change = (
        "tenant",
        "client_id",
        "client_secret_status",
        "application_type",
        "is_system",
        "registered_dynamically",
        "created",
        "updated",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Application | None = None) -> tuple[str, ...]:
        return () if obj is None else self.readonly_fields_of_change

    @admin.display(description="Registered dynamically", boolean=True, ordering="is_dynamically_registered")
    def registered_dynamically(self, obj: Application) -> bool:
        """Created through RFC 7591 registration by a third party, not by a tenant admin."""
        return obj.is_dynamically_registered

    @admin.display(description="Application type", ordering="app_type")
    def application_type(self, obj: Application) -> str:
        """The type chosen at creation; it decides the grant types on offer, so it does not change."""
        return obj.get_app_type_display()

    @admin.display(description="Client secret")
    def client_secret_status(self, obj: Application) -> str:
        """What the page says in place of the secret, which it never shows."""
        return SECRET_NONE if obj.client_type == Application.CLIENT_PUBLIC else SECRET_HIDDEN

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
            tenant=data["tenant"], name=data["name"], app_type=data["app_type"], actor=request.user
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
        """A confidential application's secret, shown this once; a public one goes to its page."""
        if obj.client_type == Application.CLIENT_CONFIDENTIAL:
            return self._secret_page(
                request, obj, getattr(request, _NEW_SECRET_ATTR), title="Application created: client secret"
            )
        self.message_user(
            request,
            f"The application “{obj}” was created. It is a public client: it has no secret.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(self._change_url(obj))

    def _change_url(self, obj: Application) -> str:
        return reverse("admin:applications_application_change", args=[obj.pk])

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
            continue_url=self._change_url(obj),
        )

    # --- the application's page and its tabs ---------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "<path:object_id>/rotate-secret/",
                self.admin_site.admin_view(self.rotate_secret_view),
                name="applications_application_rotate_secret",
            ),
            path(
                "<path:object_id>/quickstart/",
                self.admin_site.admin_view(self.quickstart_view),
                name="applications_application_quickstart",
            ),
        ]
        # Before the defaults: their "<path:object_id>/" catch-all would swallow these URLs.
        return [*extra, *super().get_urls()]

    def tabs(self, request: HttpRequest, obj: Application, *, current: str | None) -> list[dict[str, Any]]:
        """The tab bar: the change form's sections (anchors in its page) and Quickstart (a page).

        ``current`` is the Quickstart tab on its page; on the change page it is None and the
        page's script marks the section shown.
        """
        change_url = self._change_url(obj)
        on_change_page = current is None
        tabs = [
            {
                "label": name,
                "anchor": f"tab-{slugify(name)}",
                "url": f"{'' if on_change_page else change_url}#tab-{slugify(name)}",
                "current": False,
            }
            for name, _options in self.get_fieldsets(request, obj)
        ]
        tabs.append(
            {
                "label": TAB_QUICKSTART,
                "anchor": "",
                "url": reverse("admin:applications_application_quickstart", args=[obj.pk]),
                "current": current == TAB_QUICKSTART,
            }
        )
        return tabs

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        extra_context["application_tabs"] = self.tabs(request, obj, current=None)
        if obj.client_type == Application.CLIENT_CONFIDENTIAL and self.has_rotate_permission(request, obj):
            extra_context["rotate_secret_url"] = reverse(
                "admin:applications_application_rotate_secret", args=[obj.pk]
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def quickstart_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The Quickstart tab: snippets for the application's type, filled in (never the secret)."""
        application = self.get_object(request, unquote(object_id))
        if not self.has_view_permission(request, application):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            # Headed as the application's page is: Quickstart is one of its tabs.
            "title": f"{'Change' if self.has_change_permission(request, application) else 'View'} application",
            "subtitle": str(application),
            "opts": self.opts,
            "original": application,
            "application_tabs": self.tabs(request, application, current=TAB_QUICKSTART),
            "quickstart": quickstart_for(application, issuer=issuer_for_host(request, application.tenant)),
            "client_grant_add_url": (
                reverse("admin:grants_clientgrant_add") + f"?application={application.pk}"
                if application.app_type == AppType.MACHINE_TO_MACHINE
                else ""
            ),
        }
        return TemplateResponse(request, "admin/applications/application/quickstart.html", context)

    # --- the list ------------------------------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """The list, which for a tenant with no applications of its own says what to do first."""
        extra_context = dict(extra_context or {})
        extra_context["no_own_applications"] = not self.get_queryset(request).filter(is_system=False).exists()
        return super().changelist_view(request, extra_context)

    # --- rotating the secret --------------------------------------------------------------------

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
                cancel_url=self._change_url(application),
            )
        secret = application_secret_rotate(application=application, actor=request.user)
        self.log_change(request, application, "Rotated the client secret.")
        return self._secret_page(request, application, secret, title="New client secret")
