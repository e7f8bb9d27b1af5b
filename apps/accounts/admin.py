"""Admin for users (tenants' end users and, for superusers, portal admins) and roles. Passwords are never shown.

Users are created through ``apps.accounts.services``; there is no service yet to change or
delete one, so a user's own fields are read-only here, except for their password ("Set password",
``user_password_set``, which also lifts their sign-in blocks). What an admin changes on an end
user's page is their roles and direct permissions (``apps.accounts.rbac.services.user_access_set``).
Brute-force protection's blocks are listed under "Sign-in blocks" and lifted with the "Unblock"
action (``login_block_remove``).
Roles are written through ``apps.accounts.rbac.services``; their permissions are the API
scopes of the role's tenant.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import password_validation, update_session_auth_hash
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.accounts.mfa.selectors import authenticator_list
from apps.accounts.mfa.services import mfa_reset
from apps.accounts.models import LoginBlock, Role, RolePermission, User
from apps.accounts.rbac.services import (
    ROLE_MUTABLE_FIELDS,
    role_create,
    role_delete,
    role_update,
    user_access_set,
)
from apps.accounts.services import login_block_remove, portal_admin_create, user_create, user_password_set
from apps.apis.models import Scope
from apps.dashboard.admin_base import (
    ReadOnlyAdminMixin,
    ServiceModelForm,
    TenantScopedAdmin,
    confirm_response,
    may_write,
    member_tenant_ids,
    scope_to_tenants,
)
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
    # By tenant id, not slug: the order of an index (User.Meta.indexes), so a superuser's page of
    # every tenant's users does not sort the whole table (make scale).
    ordering = ("tenant_id", "username")
    form = UserAccessForm
    add_form = UserAddForm
    fieldsets = (
        (None, {"fields": ("username", "tenant", "email", "first_name", "last_name")}),
        ("Status", {"fields": ("is_active", "is_staff", "is_superuser", "last_login", "date_joined")}),
        ("Multi-factor authentication", {"fields": ("mfa_authenticators",)}),
        ("Portal", {"fields": ("managed_tenants",)}),
        ("Sign-in", {"fields": ("password_link", "sign_in_blocks")}),
    )
    access_fieldset = ("Roles and permissions", {"fields": ("roles", "direct_permissions")})
    # The same, for a member who may not change the user: read-only displays of these names.
    access_view_fieldset = ("Roles and permissions", {"fields": ("role_names", "direct_permissions")})
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
        "mfa_authenticators",
        "password_link",
        "sign_in_blocks",
    )
    add_fieldsets = (
        (None, {"fields": ("tenant", "username", "email", "password1", "password2")}),
        ("Portal admins", {"fields": ("manages",)}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        if obj is None and not request.user.is_superuser:
            return self.add_fieldsets[:1]
        if obj is not None and obj.tenant_id is not None:
            main, status, mfa, _portal, sign_in = self.fieldsets
            if self.has_change_permission(request, obj):
                return (main, status, self.access_fieldset, mfa, sign_in)
            # For a member who may only look: no "Set password" or "Reset MFA" that would answer 403,
            # and the roles by name ("roles" is also the reverse relation's name, which Django's
            # read-only display cannot show).
            return (
                main,
                status,
                self.access_view_fieldset,
                (mfa[0], {"fields": ("mfa_authenticator_list",)}),
                (sign_in[0], {"fields": ("sign_in_blocks",)}),
            )
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        # An existing user's own fields have no service to change them; roles and permissions do.
        return () if obj is None else self.user_fields

    def form_attrs(self, request: HttpRequest, obj: User | None) -> dict[str, Any]:
        return {"may_create_portal_admins": request.user.is_superuser} if obj is None else {}

    @admin.display(description="Manages tenants")
    def managed_tenants(self, obj: User) -> str:
        return ", ".join(
            f"{membership.tenant.slug} ({membership.get_role_display().lower()})"
            for membership in obj.memberships.select_related("tenant").order_by("tenant__slug")
        )

    # What a member who may not change the user sees instead of the form's checkboxes of these names.
    @admin.display(description="Roles")
    def role_names(self, obj: User) -> str:
        return ", ".join(obj.roles.order_by("name").values_list("name", flat=True)) or "-"

    @admin.display(description="Direct permissions")
    def direct_permissions(self, obj: User) -> str:
        scopes = obj.api_permissions.select_related("scope__api").order_by("scope__api__name", "scope__value")
        return ", ".join(f"{row.scope.api.name}: {row.scope.value}" for row in scopes) or "-"

    @admin.display(description="Authenticators")
    def mfa_authenticators(self, obj: User) -> str:
        """Type, confirmed, added: never the secret; and a link to reset them (its page checks the permission)."""
        return self.mfa_authenticator_list(obj, reset_link=True)

    @admin.display(description="Authenticators")
    def mfa_authenticator_list(self, obj: User, *, reset_link: bool = False) -> str:
        if obj.tenant_id is None:
            return "—"
        rows = authenticator_list(tenant=obj.tenant, user=obj)
        if not rows:
            return "None: the user signs in with the password alone (or enrols, if the tenant requires MFA)."
        table = format_html(
            "<table><thead><tr><th>Type</th><th>Confirmed</th><th>Added</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        row.get_type_display(),
                        "yes" if row.confirmed else "no (enrolment not finished)",
                        row.created_at,
                    )
                    for row in rows
                ),
            ),
        )
        if not reset_link:
            return table
        url = reverse("admin:accounts_user_reset_mfa", args=[obj.pk])
        return format_html('{}<p><a class="button" href="{}">Reset MFA</a></p>', table, url)

    def has_mfa_reset_permission(self, request: HttpRequest, obj: User) -> bool:
        """Removing authenticators: their model's delete permission, and a role that may change ``obj``'s tenant."""
        return request.user.has_perm("accounts.delete_mfaauthenticator") and may_write(request, obj.tenant_id)

    def reset_mfa_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET asks for confirmation; POST removes the user's authenticators and recovery codes (``mfa_reset``)."""
        user = self.get_object(request, unquote(object_id))  # scoped: another tenant's user is None
        if user is None or user.tenant_id is None:
            raise Http404("No such end user.")
        if not self.has_mfa_reset_permission(request, user):
            raise PermissionDenied
        change_url = reverse("admin:accounts_user_change", args=[user.pk])
        if request.method != "POST":
            return confirm_response(
                request,
                self,
                title="Reset multi-factor authentication",
                obj=user,
                message=(
                    "This removes the user's authenticators and recovery codes and lifts a block after "
                    "wrong codes. They then sign in with their password alone, or set up a new "
                    "authenticator at their next sign-in if the tenant requires MFA."
                ),
                button="Reset MFA",
                cancel_url=change_url,
            )
        removed = mfa_reset(tenant=user.tenant, user=user, actor=request.user)
        self.message_user(
            request, f"MFA reset for {user.username}: {removed} authenticator(s) removed.", messages.SUCCESS
        )
        return HttpResponseRedirect(change_url)

    @admin.display(description="Password")
    def password_link(self, obj: User) -> str:
        url = reverse("admin:accounts_user_password", args=[obj.pk])
        return format_html('<a href="{}" id="set-password">Set password</a>', url)

    @admin.display(description="Sign-in blocks")
    def sign_in_blocks(self, obj: User) -> str:
        """The brute-force blocks that hold for this user, with a link to lift them."""
        if obj.tenant_id is None:
            return "-"
        blocks = list(obj.login_blocks.filter(expires_at__gt=timezone.now()).order_by("-blocked_at"))
        if not blocks:
            return "None"
        items = format_html_join(
            "", "<li>{} until {}</li>", ((block.ip or "unknown IP", block.expires_at) for block in blocks)
        )
        url = reverse("admin:accounts_loginblock_changelist") + f"?user__id__exact={obj.pk}"
        return format_html('<ul>{}</ul><a href="{}">Unblock…</a>', items, url)

    # --- Set password -------------------------------------------------------------------------

    def has_password_permission(self, request: HttpRequest, obj: User) -> bool:
        """Setting a password changes the user: the model's change permission, in a tenant the user manages."""
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}") and (
            self.is_member_for(request, obj) and self.may_write_for(request, obj)
        )

    def get_urls(self) -> list[URLPattern]:
        password = path(
            "<path:object_id>/password/",
            self.admin_site.admin_view(self.password_view),
            name="accounts_user_password",
        )
        reset = path(
            "<path:object_id>/reset-mfa/",
            self.admin_site.admin_view(self.reset_mfa_view),
            name="accounts_user_reset_mfa",
        )
        # Before the defaults: their "<path:object_id>/" catch-all would swallow these URLs.
        return [password, reset, *super().get_urls()]

    def password_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        user = self.get_object(request, unquote(object_id))
        if not self.has_password_permission(request, user):
            raise PermissionDenied
        form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
        if form.is_valid():
            user_password_set(user=user, password=form.cleaned_data["new_password1"], actor=request.user)
            if user.pk == request.user.pk:
                update_session_auth_hash(request, user)
            self.message_user(
                request,
                f"Password set for {user.username}; their sign-in blocks are lifted.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Set password: {user.username}",
            "opts": self.opts,
            "original": user,
            "form": form,
            "cancel_url": reverse("admin:accounts_user_change", args=[user.pk]),
        }
        return TemplateResponse(request, "admin/accounts/user/set_password.html", context)

    # No user_update / user_delete service yet: existing users are read-only, for everyone.
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


class BlockStateFilter(admin.SimpleListFilter):
    """Blocks that still hold, or those that lapsed (kept until the same pair is blocked again)."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("active", "Active"), ("lapsed", "Lapsed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "active":
            return queryset.filter(expires_at__gt=timezone.now())
        if self.value() == "lapsed":
            return queryset.filter(expires_at__lte=timezone.now())
        return queryset


@admin.register(LoginBlock)
class LoginBlockAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """Brute-force protection's blocks in the user's tenants: which username, from which IP, until when.

    A block is never edited; the "Unblock" action lifts the selected ones through
    ``login_block_remove`` (an audit event names the admin). Blocks of usernames that match no
    account are listed too: that is what keeps blocking from revealing which accounts exist.
    """

    list_display = ("username", "ip", "tenant", "user", "blocked_at", "expires_at", "active")
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter), BlockStateFilter)
    list_select_related = ("tenant", "user")
    search_fields = ("username", "ip")
    fields = ("tenant", "username", "user", "ip", "blocked_at", "expires_at", "active")
    readonly_fields = fields
    actions = ("unblock",)

    @admin.display(description="Active", boolean=True)
    def active(self, obj: LoginBlock) -> bool:
        return obj.expires_at > timezone.now()

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        """``?user__id__exact=<pk>``: the link from a user's page to their blocks (the rows stay scoped)."""
        return lookup == "user__id__exact" or super().lookup_allowed(lookup, value, request)

    def has_unblock_permission(self, request: HttpRequest) -> bool:
        """Lifting a block removes it: the model's delete permission (tenant admins have it), and a
        role that may change the working tenant (not read-only)."""
        return request.user.has_perm(f"{self.opts.app_label}.delete_{self.opts.model_name}") and may_write(
            request
        )

    @admin.action(description="Unblock selected sign-in blocks", permissions=["unblock"])
    def unblock(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for block in queryset.select_related("tenant"):
            login_block_remove(block=block, actor=request.user)
            count += 1
        self.message_user(request, f"Lifted {count} sign-in block(s).", messages.SUCCESS)


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

    @admin.display(description="Permissions")
    def permission_scopes(self, obj: Role) -> str:
        """What a member who may not change the role sees instead of the form's checkboxes."""
        return (
            ", ".join(f"{row.scope.api.name}: {row.scope.value}" for row in obj.role_permissions.all()) or "-"
        )

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
