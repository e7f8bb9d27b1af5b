"""The base every Portcullis admin builds on: rows scoped to the working tenant, writes through services.

A portal admin works in one tenant at a time: the one the header's switcher chose
(``apps.dashboard.portal.portal_tenant``), always one they are a member of. Superusers may
work in any tenant, or in all of them at once. Scoping is applied in four places, so that
hiding a row is never the only defence:

- ``get_queryset``: changelists, change/history/delete views and actions see only that tenant's rows;
- ``get_object``: any other tenant's object URL is a 404 (not the admin's "does not exist" redirect),
  also for a tenant the user is a member of but is not working in (they switch first);
- ``has_*_permission(obj)``: a second, object-level check by tenant (403);
- ``formfield_for_foreignkey/manytomany``: tenant, API and application pickers offer only that
  tenant's rows, so a foreign choice fails form validation ("Select a valid choice"); the tenant
  picker of an add form comes preselected.

Roles (``TenantMembership.Role``): the model permissions (the "Tenant admins" group) say what a
portal admin may do to a kind of row at most; the member's role in the row's tenant narrows it.
Owners and admins may do all of it, read-only members only view: every add, change and delete,
and every custom view that asks ``has_change_permission`` (rotate a secret, reveal one...), is
refused them. Superusers may do everything.

Empty lists: a changelist with no rows at all says what to do first (``empty_message``).

However many tenants there are, a changelist stays one page's worth of work: the tenant
filter is bounded (``TenantFilter``).

Writes: an admin implements ``service_create`` / ``service_update`` / ``service_delete`` with
one service call each, passing ``actor=request.user`` for the audit trail. A
``ValidationError`` raised by a service rolls the request's transaction back and the same
form is rendered again with the error on it, never a 500.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from apps.dashboard.portal import portal_access, portal_tenant
from apps.tenants.models import Tenant

_SERVICE_ERROR_ATTR = "_portcullis_service_error"


def member_tenant_ids(request: HttpRequest) -> frozenset[int] | None:
    """Ids of the tenants this request works in: the working tenant's; ``None``: every tenant.

    ``None`` only for a superuser who chose "All tenants"; a member without any tenant gets the
    empty set and sees nothing. Costs no query after the first of the request (``portal_access``).
    """
    tenant = portal_tenant(request)
    if tenant is not None:
        return frozenset({tenant.pk})
    return None if portal_access(request).is_superuser else frozenset()


def may_write(request: HttpRequest, tenant_id: int | None = None) -> bool:
    """Whether the user's role lets them change rows of ``tenant_id`` (None: the working tenant).

    Superusers may always; members if they are an owner or admin of it, never read-only.
    """
    access = portal_access(request)
    if access.is_superuser:
        return True
    if tenant_id is None:
        tenant = portal_tenant(request)
        tenant_id = tenant.pk if tenant is not None else None
    return access.may_write(tenant_id)


def scope_to_tenants(queryset: QuerySet, tenant_ids: frozenset[int] | None) -> QuerySet:
    """Limit a queryset of tenants, or of rows with a ``tenant`` key, to ``tenant_ids`` (None: all)."""
    if tenant_ids is None:
        return queryset
    model = queryset.model
    if issubclass(model, Tenant):
        return queryset.filter(pk__in=tenant_ids)
    if any(field.name == "tenant" for field in model._meta.concrete_fields):
        return queryset.filter(tenant_id__in=tenant_ids)
    return queryset


# With more tenants than this in reach, the tenant filter no longer lists them all (TenantFilter).
TENANT_FILTER_MAX_CHOICES = 100


class TenantFilter(admin.RelatedOnlyFieldListFilter):
    """The "By tenant" filter of tenant-scoped changelists, bounded however many tenants exist.

    Django's ``RelatedOnlyFieldListFilter`` lists every tenant that has a row: for a superuser
    of 10,000 tenants, a DISTINCT over the whole table and 10,000 links on every page (~780 KB
    and over a second per page in ``make scale``). While the user can reach at most
    ``TENANT_FILTER_MAX_CHOICES`` tenants (a member's few, a small installation's all), it works
    as Django's; beyond that it offers only the tenant(s) the URL selects, so an active filter
    stays visible and can be cleared. Filtering by any tenant still works through the URL
    (``?tenant__id__exact=<id>``), and the tenants' own changelist searches and pages them.
    """

    def field_choices(self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        tenant_ids = member_tenant_ids(request)
        self.bounded = _more_tenants_than(TENANT_FILTER_MAX_CHOICES, tenant_ids)
        if not self.bounded:
            return super().field_choices(field, request, model_admin)
        selected = [value for value in self.lookup_val or () if str(value).isdigit()]
        tenants = scope_to_tenants(Tenant.objects.filter(pk__in=selected), tenant_ids)
        return [(tenant.pk, str(tenant)) for tenant in tenants]

    def has_output(self) -> bool:
        return bool(self.lookup_choices) if self.bounded else super().has_output()


def _more_tenants_than(limit: int, tenant_ids: frozenset[int] | None) -> bool:
    if tenant_ids is not None:
        return len(tenant_ids) > limit
    return len(Tenant.objects.values_list("pk", flat=True)[: limit + 1]) > limit


def _bounded_tenant_filter(item: Any) -> Any:
    """``list_filter`` entry ``item``, with Django's related filter on ``tenant`` made a TenantFilter."""
    if item == "tenant" or (
        isinstance(item, tuple)
        and item[0] == "tenant"
        and item[1] in (admin.RelatedFieldListFilter, admin.RelatedOnlyFieldListFilter)
    ):
        return ("tenant", TenantFilter)
    return item


def adopt(target: Model, saved: Model) -> None:
    """Make the admin's form instance *be* the row a service saved (same pk and field values).

    The admin keeps the instance it passed to ``save_model`` for its log entry and its
    response, while a service builds and returns its own; copying the state joins the two.
    """
    target.__dict__.update(saved.__dict__)


def secret_response(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    *,
    title: str,
    obj: Model,
    secret_label: str,
    secret: str,
    details: Iterable[tuple[str, str]] = (),
    continue_url: str,
) -> TemplateResponse:
    """A page that shows a secret this one time, rendered straight into the response.

    The secret is never put in the session, a message or a URL: only this response carries
    it, and ``no-store`` keeps it out of caches (and out of the browser's back button).
    """
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": str(obj),
        "opts": model_admin.opts,
        "object": obj,
        "secret_label": secret_label,
        "secret": secret,
        "details": list(details),
        "continue_url": continue_url,
    }
    response = TemplateResponse(request, "dashboard/secret_once.html", context)
    add_never_cache_headers(response)
    return response


def confirm_response(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    *,
    title: str,
    obj: Model,
    message: str,
    button: str,
    cancel_url: str,
) -> TemplateResponse:
    """A confirmation page whose button POSTs back to the same URL (rotate, reveal...)."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": str(obj),
        "opts": model_admin.opts,
        "object": obj,
        "message": message,
        "button": button,
        "cancel_url": cancel_url,
    }
    return TemplateResponse(request, "dashboard/confirm.html", context)


class ServiceModelForm(forms.ModelForm):
    """An admin form that only cleans its input; the service validates the model and saves it.

    Django's ModelForm would also run the model's ``full_clean`` on an instance the service
    never saves; the service runs it itself, and its errors come back onto this form
    through ``TenantScopedAdmin``. One rule, one place.
    """

    def _post_clean(self) -> None:
        return None


class ServiceErrorFormMixin:
    """Puts a service's ``ValidationError`` onto the form, on the fields it names where it can."""

    service_error: ClassVar[ValidationError]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        error = self.service_error
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)  # type: ignore[attr-defined]
        else:
            self.add_error(None, error)  # type: ignore[attr-defined]
        return cleaned


class ReadOnlyAdminMixin:
    """For rows only Portcullis itself writes (signing keys, audit events, issued tokens): view only."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ViewOnlyInlineMixin:
    """An inline shown to a member who may not change its parent (read-only role): rows, no inputs."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@functools.cache
def view_only_inline(inline: type[InlineModelAdmin]) -> type[InlineModelAdmin]:
    """The view-only version of an inline class (made once per class)."""
    return type(f"ViewOnly{inline.__name__}", (ViewOnlyInlineMixin, inline), {})


# What a tenant's empty list says to do first, by model (``app_label.model_name``). Admins may set
# ``empty_message`` themselves; this table covers the others, so every list of a new tenant has one.
EMPTY_MESSAGES: dict[str, str] = {
    "apis.api": (
        "No APIs yet. Create one for each backend that accepts this tenant's access tokens: its "
        "identifier is the audience applications ask tokens for, and its permissions are the "
        "scopes they may get."
    ),
    "applications.application": (
        "No applications yet. Register one for each program that signs users in or calls your APIs "
        "(a machine-to-machine application for a backend service); its client secret is shown once."
    ),
    "grants.clientgrant": (
        "No application is authorized for an API yet. Authorize a machine-to-machine application "
        "for an API and choose its scopes: it can then get tokens with the client credentials grant."
    ),
    "grants.usergrant": (
        "No user has consented to an application yet. Consents appear here when users authorize "
        "applications; deleting one revokes it."
    ),
    "grants.deniedtoken": (
        "The deny list is empty. Add an access token's jti to refuse that token before it expires."
    ),
    "token_rules.tokenrule": (
        "No token rules yet. A rule adds claims or scopes to the tokens of the applications and APIs "
        "it matches, or denies them."
    ),
    "accounts.user": ("No users yet. Create the first user who signs in to this tenant's applications."),
    "accounts.role": (
        "No roles yet. A role is a set of API permissions given to users together: create your API "
        "and its permissions first, then a role."
    ),
    "accounts.loginblock": (
        "No sign-ins are blocked. Brute-force protection lists here the usernames and IP addresses it "
        "blocks after repeated failures."
    ),
    "audit.auditevent": "No events yet. Every change made in this portal, and every sign-in, is recorded here.",
    "audit.tokenevent": (
        "No token requests yet. Every token issued or refused at this tenant's token endpoint is listed here."
    ),
    "tenants.tenant": (
        "No tenants yet. Create one: each tenant is its own authorization server, with its own issuer, "
        "keys, APIs, applications and users."
    ),
    "tenants.signingkey": "No signing keys. A tenant's keys are made when the tenant is created.",
    "tenants.tenantmembership": (
        "No members yet. Add the portal admins who manage this tenant, and give one of them the owner role."
    ),
}
EMPTY_MESSAGE_DEFAULT = "Nothing here yet."


class TenantScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose rows, pickers and permissions are limited to the working tenant.

    ``tenant_lookup`` is the path from the model to its tenant (``"pk"`` for Tenant itself).
    Subclasses that allow writes implement the ``service_*`` hooks.
    """

    tenant_lookup: ClassVar[str] = "tenant"
    list_select_related: Any = ("tenant",)
    # Form and fieldsets of the add view, when they differ from the change view's (like UserAdmin).
    add_form: ClassVar[type[forms.ModelForm] | None] = None
    add_fieldsets: ClassVar[Any] = None
    # What the list says when the tenant has no rows yet (None: EMPTY_MESSAGES, then the default).
    empty_message: ClassVar[str | None] = None
    # The column and filter that name each row's tenant, shown only across tenants (superusers).
    tenant_column: ClassVar[str] = "tenant"

    # --- tenant scoping ----------------------------------------------------------------------

    def tenant_id_of(self, obj: Model) -> int | None:
        return getattr(obj, f"{self.tenant_lookup}_id")

    def is_member_for(self, request: HttpRequest, obj: Model | None) -> bool:
        """Whether ``obj`` belongs to the tenant the user works in (True when there is no object).

        Named for membership, which the working tenant implies: it is always one of the user's.
        """
        if obj is None:
            return True
        tenant_ids = member_tenant_ids(request)
        return tenant_ids is None or self.tenant_id_of(obj) in tenant_ids

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        tenant_ids = member_tenant_ids(request)
        if tenant_ids is None:
            return queryset
        return queryset.filter(**{f"{self.tenant_lookup}__in": tenant_ids})

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Model:
        """The object, from the scoped queryset; another tenant's object is simply not found (404).

        Django's admin would redirect to its index with "does not exist"; a 404 is the same
        answer for a missing row and for a foreign one, so ids reveal nothing.
        """
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        return obj

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = scope_to_tenants(formfield.queryset, member_tenant_ids(request))
            tenant = portal_tenant(request)
            if tenant is not None and issubclass(formfield.queryset.model, Tenant):
                # The working tenant is the only choice: preselected, without an empty choice to miss.
                formfield.initial = tenant.pk
                if formfield.required:
                    formfield.empty_label = None
        return formfield

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = scope_to_tenants(formfield.queryset, member_tenant_ids(request))
        return formfield

    # --- permissions: the model permission, the object's tenant, and the role there --------------

    def may_write_for(self, request: HttpRequest, obj: Model | None) -> bool:
        """Whether the user's role lets them write ``obj`` (None: rows of the working tenant)."""
        return may_write(request, None if obj is None else self.tenant_id_of(obj))

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) and self.is_member_for(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and may_write(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return (
            super().has_change_permission(request, obj)
            and self.is_member_for(request, obj)
            and self.may_write_for(request, obj)
        )

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return (
            super().has_delete_permission(request, obj)
            and self.is_member_for(request, obj)
            and self.may_write_for(request, obj)
        )

    def get_inlines(self, request: HttpRequest, obj: Model | None) -> Any:
        inlines = super().get_inlines(request, obj)
        if self.may_write_for(request, obj):
            return inlines
        return [view_only_inline(inline) for inline in inlines]

    # --- lists: no tenant column inside one tenant; what an empty list says --------------------------

    def _across_tenants(self, request: HttpRequest) -> bool:
        return member_tenant_ids(request) is None

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = super().get_list_display(request)
        if self._across_tenants(request):
            return columns
        return [column for column in columns if column != self.tenant_column] or columns

    def get_list_filter(self, request: HttpRequest) -> Any:
        """Inside one tenant, no tenant filter; across tenants, a bounded one (``TenantFilter``)
        whatever the admin declared, so that no admin lists every tenant on a superuser's page."""
        filters = super().get_list_filter(request)
        if self._across_tenants(request):
            return [_bounded_tenant_filter(item) for item in filters]
        return [
            item
            for item in filters
            if (item[0] if isinstance(item, (tuple, list)) else item) != self.tenant_column
        ]

    def get_empty_message(self, request: HttpRequest) -> str:
        if self.empty_message is not None:
            return self.empty_message
        return EMPTY_MESSAGES.get(self.opts.label_lower, EMPTY_MESSAGE_DEFAULT)

    def changelist_view(self, request: HttpRequest, extra_context: Mapping[str, Any] | None = None) -> Any:
        """The list; with no rows at all (no search or filter on), the template says what to do first."""
        context = {"portal_empty_message": self.get_empty_message(request), **(extra_context or {})}
        if self.has_add_permission(request):
            info = self.opts.app_label, self.opts.model_name
            context.setdefault("portal_empty_add_url", reverse(f"admin:{info[0]}_{info[1]}_add"))
        return super().changelist_view(request, context)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, set[str], Any]:
        """What a deletion takes with it, refusing it when the user may not delete a selected object.

        What cascades is the service's business (the database cascade it relies on), so the
        related models' admin permissions are not consulted; each *selected* object is,
        which is what stops "delete selected" on a system API or client.
        """
        deleted, model_count, _related_perms, protected = super().get_deleted_objects(objs, request)
        refused = {str(obj) for obj in objs if not self.has_delete_permission(request, obj)}
        return deleted, model_count, refused, protected

    # --- forms -------------------------------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is None and self.add_fieldsets is not None:
            return self.add_fieldsets
        return super().get_fieldsets(request, obj)

    def form_attrs(self, request: HttpRequest, obj: Model | None) -> dict[str, Any]:
        """Class attributes for this request's form (choices that depend on the user or object)."""
        return {}

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None and self.add_form is not None:
            kwargs.setdefault("form", self.add_form)
        form_class = super().get_form(request, obj, change, **kwargs)
        attrs = self.form_attrs(request, obj)
        bases: tuple[type, ...] = (form_class,)
        service_error = getattr(request, _SERVICE_ERROR_ATTR, None)
        if service_error is not None:
            bases = (ServiceErrorFormMixin, form_class)
            attrs["service_error"] = service_error
        if not attrs:
            return form_class
        return type(form_class.__name__, bases, attrs)

    # --- writes go through services ---------------------------------------------------------------

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> Model:
        """Create the object with one service call and return what the service saved."""
        raise NotImplementedError(f"{type(self).__name__} does not create objects.")

    def service_update(self, request: HttpRequest, obj: Model, form: forms.ModelForm) -> None:
        """Apply the form's changes to ``obj`` with one service call."""
        raise NotImplementedError(f"{type(self).__name__} does not change objects.")

    def service_delete(self, request: HttpRequest, obj: Model) -> None:
        """Delete ``obj`` with the service's delete function."""
        raise NotImplementedError(f"{type(self).__name__} does not delete objects.")

    def save_model(self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool) -> None:
        if change:
            self.service_update(request, obj, form)
        else:
            adopt(obj, self.service_create(request, form))

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        """Nothing by default: ``save_model``'s service call saved everything the form holds.

        Admins with inlines override this and hand the inline data to their service.
        """

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        self.service_delete(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        # One service call per object: each records its own audit event and cache invalidation.
        for obj in queryset:
            try:
                self.service_delete(request, obj)
            except ValidationError as error:
                self.message_user(request, f"{obj}: {' '.join(error.messages)}", messages.ERROR)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Mapping[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            if request.method != "POST" or hasattr(request, _SERVICE_ERROR_ATTR):
                raise
            # The service refused the change and the view's transaction rolled it back.
            # Render the same POST again, with the refusal attached to the form: the form is
            # then invalid, so nothing is saved twice.
            setattr(request, _SERVICE_ERROR_ATTR, error)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: Mapping[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as error:
            # The service refused (and the transaction rolled back): say why, on the object's page.
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            info = self.opts.app_label, self.opts.model_name
            return HttpResponseRedirect(
                reverse(f"admin:{info[0]}_{info[1]}_change", args=[unquote(object_id)])
            )
