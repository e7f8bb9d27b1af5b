"""Admin for users (tenants' end users and, for superusers, portal admins) and roles. Passwords are never shown.

Users are created through ``apps.accounts.services``; there is no service yet to change or
delete one, so a user's own fields are read-only here. What an admin changes on an end user's
page is their roles and direct permissions (``apps.accounts.rbac.services.user_access_set``).
Roles are written through ``apps.accounts.rbac.services``; their permissions are the API
scopes of the role's tenant.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import password_validation
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.accounts.models import Role, RolePermission, User
from apps.accounts.rbac.services import (
    ROLE_MUTABLE_FIELDS,
    role_create,
    role_delete,
    role_update,
    user_access_set,
)
from apps.accounts.services import portal_admin_create, user_create
from apps.apis.models import Scope
from apps.dashboard.admin_base import ServiceModelForm, TenantScopedAdmin, member_tenant_ids, scope_to_tenants
from apps.tenants.models import Tenant

# A role page lists this many of its users; the user list (filtered by role) has them all.
ROLE_USERS_SHOWN = 50


class ScopeChoiceField(forms.ModelMultipleChoiceField):
    """API scopes as permissions, labelled with their API (one value may exist in several APIs)."""

    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Scope) -> str:
        return f"{obj.api.name}: {obj.value}"


def _scopes(tenant_ids) -> QuerySet[Scope]:
    """Scopes of these tenants (None: every tenant), with their API for the label: one query."""
    return scope_to_tenants(Scope.objects.select_related("api").order_by("api__name", "value"), tenant_ids)


class UserAddForm(ServiceModelForm):
    """A tenant end user; for superusers, without a tenant, a portal admin of the chosen tenants."""

    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password confirmation",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    manages = forms.ModelMultipleChoiceField(
        queryset=Tenant.objects.all(),
        required=False,
        label="Manages tenants",
        help_text="Portal admins only (no tenant above): the tenants they manage in this admin.",
    )
    may_create_portal_admins: bool = False

    class Meta:
        model = User
        fields = ("tenant", "username", "email")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.may_create_portal_admins:
            self.fields["tenant"].help_text = "Empty for a portal admin, who signs in here."
        else:
            self.fields["tenant"].required = True
            del self.fields["manages"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords do not match.")
        elif password1:
            candidate = User(tenant=cleaned.get("tenant"), username=cleaned.get("username", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        if cleaned.get("tenant") is not None and cleaned.get("manages"):
            self.add_error("manages", "Only portal admins (no tenant) manage tenants.")
        return cleaned


class UserAccessForm(ServiceModelForm):
    """An end user's page: their roles and direct permissions, chosen among their tenant's."""

    roles = forms.ModelMultipleChoiceField(
        queryset=Role.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The user holds every permission of these roles.",
    )
    direct_permissions = ScopeChoiceField(
        queryset=Scope.objects.none(),
        required=False,
        help_text="Permissions given to this user directly, besides those of their roles.",
    )

    class Meta:
        model = User
        fields = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = self.instance
        if "roles" in self.fields:
            self.fields["roles"].queryset = Role.objects.for_tenant(user.tenant_id).order_by("name")
            self.initial["roles"] = list(user.user_roles.values_list("role_id", flat=True))
        if "direct_permissions" in self.fields:
            self.fields["direct_permissions"].queryset = _scopes(frozenset({user.tenant_id}))
            self.initial["direct_permissions"] = list(user.api_permissions.values_list("scope_id", flat=True))


@admin.register(User)
class UserAdmin(TenantScopedAdmin):
    """Superusers see every user; a tenant admin sees only the end users of their tenants."""

    list_display = ("username", "tenant", "email", "is_active", "is_staff", "last_login")
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter), "is_active", "is_staff")
    search_fields = ("username", "email")
    ordering = ("tenant__slug", "username")
    form = UserAccessForm
    add_form = UserAddForm
    fieldsets = (
        (None, {"fields": ("username", "tenant", "email", "first_name", "last_name")}),
        ("Status", {"fields": ("is_active", "is_staff", "is_superuser", "last_login", "date_joined")}),
        ("Portal", {"fields": ("managed_tenants",)}),
    )
    access_fieldset = ("Roles and permissions", {"fields": ("roles", "direct_permissions")})
    user_fields = (
        "username",
        "tenant",
        "email",
        "first_name",
        "last_name",
        "is_active",
        "is_staff",
        "is_superuser",
        "last_login",
        "date_joined",
        "managed_tenants",
    )
    add_fieldsets = (
        (None, {"fields": ("tenant", "username", "email", "password1", "password2")}),
        ("Portal admins", {"fields": ("manages",)}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        if obj is None and not request.user.is_superuser:
            return self.add_fieldsets[:1]
        if obj is not None and obj.tenant_id is not None:
            return (*self.fieldsets[:2], self.access_fieldset)
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        # An existing user's own fields have no service to change them; roles and permissions do.
        return () if obj is None else self.user_fields

    def form_attrs(self, request: HttpRequest, obj: User | None) -> dict[str, Any]:
        return {"may_create_portal_admins": request.user.is_superuser} if obj is None else {}

    @admin.display(description="Manages tenants")
    def managed_tenants(self, obj: User) -> str:
        return ", ".join(membership.tenant.slug for membership in obj.memberships.select_related("tenant"))

    # No user_update / user_delete service yet: an end user's roles and permissions are all that
    # changes; portal admins have none, and are read-only.
    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or obj.tenant_id is not None)

    def service_update(self, request: HttpRequest, obj: User, form: forms.ModelForm) -> None:
        data = form.cleaned_data
        user_access_set(
            user=obj, roles=data.get("roles"), scopes=data.get("direct_permissions"), actor=request.user
        )

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> User:
        data = form.cleaned_data
        if data["tenant"] is None:
            return portal_admin_create(
                username=data["username"],
                password=data["password1"],
                email=data["email"],
                tenants=data.get("manages") or (),
                actor=request.user,
            )
        return user_create(
            tenant=data["tenant"],
            username=data["username"],
            password=data["password1"],
            email=data["email"],
            actor=request.user,
        )


class RoleForm(ServiceModelForm):
    """A role: its name, description and permissions (API scopes of the role's tenant)."""

    permission_scopes = ScopeChoiceField(
        queryset=Scope.objects.none(),
        required=False,
        label="Permissions",
        help_text="API scopes this role grants. Only scopes of the role's tenant can be granted.",
    )
    tenant_ids: frozenset[int] | None = None  # the admin's tenants (form_attrs); None: every tenant

    class Meta:
        model = Role
        fields = ("tenant", "name", "description")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = self.instance
        if role.pk is None:
            self.fields["permission_scopes"].queryset = _scopes(self.tenant_ids)
        else:
            self.fields["permission_scopes"].queryset = _scopes(frozenset({role.tenant_id}))
            self.initial["permission_scopes"] = list(role.role_permissions.values_list("scope_id", flat=True))


@admin.register(Role)
class RoleAdmin(TenantScopedAdmin):
    """Roles (Auth0's "Roles"): a list with search, and a page with the role's permissions and users."""

    list_display = ("name", "tenant", "description", "permission_list", "user_count")
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("name", "description")
    form = RoleForm
    fieldsets = ((None, {"fields": ("tenant", "name", "description", "permission_scopes", "users_of_role")}),)
    add_fieldsets = ((None, {"fields": ("tenant", "name", "description", "permission_scopes")}),)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Role]:
        # The list shows each role's permissions and user count without a query per row.
        return (
            super()
            .get_queryset(request)
            .annotate(user_total=Count("user_roles", distinct=True))
            .prefetch_related(
                Prefetch(
                    "role_permissions",
                    queryset=RolePermission.objects.select_related("scope__api").order_by("scope__value"),
                )
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Role | None = None) -> tuple[str, ...]:
        return () if obj is None else ("tenant", "users_of_role")

    def form_attrs(self, request: HttpRequest, obj: Role | None) -> dict[str, Any]:
        return {"tenant_ids": member_tenant_ids(request)}

    @admin.display(description="Permissions")
    def permission_list(self, obj: Role) -> str:
        return ", ".join(row.scope.value for row in obj.role_permissions.all()) or "-"

    @admin.display(description="Users", ordering="user_total")
    def user_count(self, obj: Role) -> int:
        return obj.user_total

    @admin.display(description="Users")
    def users_of_role(self, obj: Role) -> str:
        users = list(obj.users.order_by("username")[: ROLE_USERS_SHOWN + 1])
        if not users:
            return "No user has this role yet. Assign it on a user's page."
        links = format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:accounts_user_change", args=[user.pk]), user.username)
                for user in users[:ROLE_USERS_SHOWN]
            ),
        )
        if len(users) > ROLE_USERS_SHOWN:
            return format_html("{} and more", links)
        return links

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> Role:
        data = form.cleaned_data
        return role_create(
            tenant=data["tenant"],
            name=data["name"],
            description=data.get("description", ""),
            permissions=data.get("permission_scopes") or (),
            actor=request.user,
        )

    def service_update(self, request: HttpRequest, obj: Role, form: forms.ModelForm) -> None:
        data = form.cleaned_data
        changes = {field: data[field] for field in form.changed_data if field in ROLE_MUTABLE_FIELDS}
        permissions = data.get("permission_scopes") if "permission_scopes" in form.changed_data else None
        role_update(role=obj, actor=request.user, permissions=permissions, **changes)

    def service_delete(self, request: HttpRequest, obj: Role) -> None:
        role_delete(role=obj, actor=request.user)
