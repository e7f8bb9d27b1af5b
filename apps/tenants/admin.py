"""Admin for tenants (members edit settings; superusers create), their members (owners manage them)
and their signing keys (view, rotate, revoke)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from apps.accounts.mfa.selectors import MFA_POLICY_DEFAULT, MfaPolicy
from apps.accounts.mfa.selectors import mfa_policy as tenant_mfa_policy
from apps.accounts.mfa.services import tenant_mfa_policy_set
from apps.dashboard.admin_base import (
    ReadOnlyAdminMixin,
    ServiceModelForm,
    TenantScopedAdmin,
    may_write,
    secret_response,
)
from apps.dashboard.forms import IpListField
from apps.dashboard.portal import portal_access, portal_tenant
from apps.management.services import management_api_provision
from apps.oauth.issuer import issuer_for_tenant
from apps.tenants.models import SigningKey, Tenant, TenantMembership
from apps.tenants.selectors import (
    portal_admin_get_by_username,
    tenant_attack_protection,
    tenant_dynamic_registration_enabled,
)
from apps.tenants.services import (
    ATTACK_PROTECTION_MAX_SECONDS,
    BRUTE_FORCE_MAX_ATTEMPTS_LIMIT,
    SUSPICIOUS_IP_MAX_ATTEMPTS_LIMIT,
    TENANT_MUTABLE_FIELDS,
    attack_protection_allowlist_clean,
    membership_create,
    membership_delete,
    membership_update,
    signing_key_revoke,
    signing_key_rotate,
    tenant_brute_force_protection_set,
    tenant_create,
    tenant_dynamic_registration_set,
    tenant_suspicious_ip_throttling_set,
    tenant_update,
)

_CREDENTIALS_ATTR = "_portcullis_management_credentials"


class TenantAddForm(ServiceModelForm):
    class Meta:
        model = Tenant
        fields = ("slug", "name")


class TenantChangeForm(ServiceModelForm):
    # Kept in Tenant.settings (Auth0's enable_dynamic_client_registration), not a model field.
    allow_dynamic_client_registration = forms.BooleanField(
        required=False,
        label="Allow dynamic client registration",
        help_text=(
            "Anyone may then register a third-party application at the issuer's oidc/register "
            "endpoint (RFC 7591, no token needed), rate-limited per IP address."
        ),
    )

    # Kept in Tenant.settings (apps.accounts.mfa), not a model field.
    mfa_policy = forms.ChoiceField(
        choices=MfaPolicy.choices,
        initial=MFA_POLICY_DEFAULT,
        required=False,  # absent from a post (a script's): unchanged
        label="Multi-factor authentication",
        help_text=(
            "Per user: users who set up an authenticator app are asked for a code. Always: every user, "
            "and users without one set it up at their next sign-in. Never: no second factor at all."
        ),
    )
    # Kept in Tenant.settings under Auth0's names (apps.tenants.selectors, "Attack protection").
    brute_force_enabled = forms.BooleanField(
        required=False,
        label="Brute-force protection",
        help_text=(
            "After the number of consecutive failed sign-ins below for one account from one IP address, "
            "that IP address is blocked for that account (too_many_attempts), even with the right password, "
            "until an admin unblocks it, the password is changed, or the block duration passes."
        ),
    )
    brute_force_max_attempts = forms.IntegerField(
        min_value=1,
        max_value=BRUTE_FORCE_MAX_ATTEMPTS_LIMIT,
        label="Brute-force threshold",
        help_text="Auth0: 10.",
    )
    brute_force_block_duration_seconds = forms.IntegerField(
        min_value=1,
        max_value=ATTACK_PROTECTION_MAX_SECONDS,
        label="Block duration (seconds)",
        help_text="How long a block lasts unless lifted earlier: 2592000 is 30 days, Auth0's.",
    )
    brute_force_allowlist = IpListField(label="Brute-force allowlist")
    suspicious_ip_enabled = forms.BooleanField(
        required=False,
        label="Suspicious IP throttling",
        help_text=(
            "After the number of failed sign-ins below from one IP address (across all accounts) in one "
            "window, every sign-in from it is refused with HTTP 429 and Retry-After until the window ends."
        ),
    )
    suspicious_ip_max_attempts = forms.IntegerField(
        min_value=1,
        max_value=SUSPICIOUS_IP_MAX_ATTEMPTS_LIMIT,
        label="Failed sign-ins per IP per window",
        help_text="Auth0: 100 a day.",
    )
    suspicious_ip_window_seconds = forms.IntegerField(
        min_value=1,
        max_value=ATTACK_PROTECTION_MAX_SECONDS,
        label="Window (seconds)",
        help_text="86400 is a day.",
    )
    suspicious_ip_allowlist = IpListField(label="Throttling allowlist")

    class Meta:
        model = Tenant
        fields = ("name", "default_audience")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["allow_dynamic_client_registration"].initial = tenant_dynamic_registration_enabled(
                tenant=self.instance
            )
            self.fields["mfa_policy"].initial = tenant_mfa_policy(tenant=self.instance)
            protection = tenant_attack_protection(tenant=self.instance)
            for prefix, policy in (
                ("brute_force", protection.brute_force),
                ("suspicious_ip", protection.suspicious_ip),
            ):
                for name in ATTACK_PROTECTION_FORM_FIELDS[prefix]:
                    self.fields[f"{prefix}_{name}"].initial = getattr(policy, name)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for field in ("brute_force_allowlist", "suspicious_ip_allowlist"):
            if field in cleaned:
                try:
                    cleaned[field] = attack_protection_allowlist_clean(cleaned[field])
                except ValidationError as error:
                    self.add_error(field, error)
        return cleaned


# Form field suffixes per protection: the attribute names of the selectors' dataclasses.
ATTACK_PROTECTION_FORM_FIELDS = {
    "brute_force": ("enabled", "max_attempts", "block_duration_seconds", "allowlist"),
    "suspicious_ip": ("enabled", "max_attempts", "window_seconds", "allowlist"),
}


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    """Members change a tenant's name and default audience; only superusers create tenants.

    Creating one provisions its keys, Management API and management client, and shows that
    client's secret once. Tenants are not deleted here (there is no ``tenant_delete`` service).
    """

    tenant_lookup = "pk"
    list_select_related = ()
    list_display = ("slug", "name", "default_audience", "created_at")
    search_fields = ("slug", "name")
    form = TenantChangeForm
    add_form = TenantAddForm
    fieldsets = (
        (None, {"fields": ("slug", "name", "default_audience", "issuer", "created_at")}),
        ("Security", {"fields": ("mfa_policy",)}),
        ("Advanced", {"fields": ("allow_dynamic_client_registration",)}),
        (
            "Attack protection",
            {
                "fields": tuple(
                    f"{prefix}_{name}"
                    for prefix, names in ATTACK_PROTECTION_FORM_FIELDS.items()
                    for name in names
                ),
                "description": (
                    "Auth0's brute-force protection and suspicious IP throttling, for the login page and the "
                    "password grant. Blocks are listed, and lifted, under Accounts > Sign-in blocks."
                ),
            },
        ),
    )
    add_fieldsets = ((None, {"fields": ("slug", "name")}),)

    def tenant_id_of(self, obj: Tenant) -> int | None:
        return obj.pk

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> tuple[str, ...]:
        return () if obj is None else ("slug", "issuer", "created_at")

    @admin.display(description="Issuer")
    def issuer(self, obj: Tenant) -> str:
        return issuer_for_tenant(obj)

    @admin.display(description="Allow dynamic client registration", boolean=True)
    def allow_dynamic_client_registration(self, obj: Tenant) -> bool:
        """The switch as a view-only user sees it (editors get the form's checkbox of this name)."""
        return tenant_dynamic_registration_enabled(tenant=obj)

    @admin.display(description="Multi-factor authentication")
    def mfa_policy(self, obj: Tenant) -> str:
        """The policy as a view-only user sees it (editors get the form's choice of this name)."""
        return tenant_mfa_policy(tenant=obj).label

    @admin.display(description="Attack protection")
    def attack_protection(self, obj: Tenant) -> str:
        """The settings as a view-only user sees them (editors get the form's fields instead)."""
        protection = tenant_attack_protection(tenant=obj)
        brute, throttle = protection.brute_force, protection.suspicious_ip
        return format_html(
            "Brute-force protection: {} (block after {} failures, for {} s; allowlist: {})<br>"
            "Suspicious IP throttling: {} ({} failures per {} s; allowlist: {})",
            "on" if brute.enabled else "off",
            brute.max_attempts,
            brute.block_duration_seconds,
            ", ".join(brute.allowlist) or "none",
            "on" if throttle.enabled else "off",
            throttle.max_attempts,
            throttle.window_seconds,
            ", ".join(throttle.allowlist) or "none",
        )

    def get_fieldsets(self, request: HttpRequest, obj: Tenant | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        return [
            (title, {**options, "fields": ("attack_protection",)})
            if title == "Attack protection"
            else (title, options)
            for title, options in fieldsets
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return False

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> Tenant:
        tenant = tenant_create(
            slug=form.cleaned_data["slug"], name=form.cleaned_data["name"], actor=request.user
        )
        credentials = management_api_provision(tenant=tenant, actor=request.user)
        setattr(request, _CREDENTIALS_ATTR, credentials)
        return tenant

    def service_update(self, request: HttpRequest, obj: Tenant, form: forms.ModelForm) -> None:
        changes = {
            field: form.cleaned_data[field] for field in form.changed_data if field in TENANT_MUTABLE_FIELDS
        }
        if changes:
            tenant_update(tenant=obj, actor=request.user, **changes)
        if "allow_dynamic_client_registration" in form.changed_data:
            tenant_dynamic_registration_set(
                tenant=obj, enabled=form.cleaned_data["allow_dynamic_client_registration"], actor=request.user
            )
        if "mfa_policy" in form.changed_data and form.cleaned_data["mfa_policy"]:
            tenant_mfa_policy_set(tenant=obj, policy=form.cleaned_data["mfa_policy"], actor=request.user)
        data = form.cleaned_data
        if any(
            f"brute_force_{name}" in form.changed_data
            for name in ATTACK_PROTECTION_FORM_FIELDS["brute_force"]
        ):
            tenant_brute_force_protection_set(
                tenant=obj,
                enabled=data["brute_force_enabled"],
                max_attempts=data["brute_force_max_attempts"],
                block_duration_seconds=data["brute_force_block_duration_seconds"],
                allowlist=data["brute_force_allowlist"],
                actor=request.user,
            )
        if any(
            f"suspicious_ip_{name}" in form.changed_data
            for name in ATTACK_PROTECTION_FORM_FIELDS["suspicious_ip"]
        ):
            tenant_suspicious_ip_throttling_set(
                tenant=obj,
                enabled=data["suspicious_ip_enabled"],
                max_attempts=data["suspicious_ip_max_attempts"],
                window_seconds=data["suspicious_ip_window_seconds"],
                allowlist=data["suspicious_ip_allowlist"],
                actor=request.user,
            )

    def response_add(
        self, request: HttpRequest, obj: Tenant, post_url_continue: str | None = None
    ) -> HttpResponse:
        """Show the management client's credentials: its secret exists only in this response."""
        credentials = getattr(request, _CREDENTIALS_ATTR)
        return secret_response(
            request,
            self,
            title="Tenant created: management client secret",
            obj=obj,
            secret_label="Client secret",
            secret=credentials.client_secret,
            details=[
                ("Issuer", issuer_for_tenant(obj)),
                ("Client ID", credentials.client_id),
                ("Audience", credentials.audience),
            ],
            continue_url=reverse("admin:tenants_tenant_change", args=[obj.pk]),
        )


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """A tenant's signing keys: kid, algorithm, state and the public JWK; rotate and revoke as actions.

    The encrypted private key is deferred in the query and in no field, list, page or message.
    Keys are never edited as forms: the two actions call ``signing_key_rotate`` and
    ``signing_key_revoke``, after a confirmation page, for the selected keys of the tenants the
    user manages (the action's queryset is the scoped one, so a foreign id selects nothing).
    """

    list_display = ("kid", "tenant", "algorithm", "state", "created_at", "state_changed_at")
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter), "algorithm", "state")
    search_fields = ("kid",)
    fields = ("tenant", "kid", "algorithm", "state", "public_jwk_pretty", "created_at", "state_changed_at")
    readonly_fields = fields
    actions = ("rotate_signing_keys", "revoke_keys")

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("private_key_encrypted")

    @admin.display(description="Public JWK")
    def public_jwk_pretty(self, obj: SigningKey) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.public_jwk, indent=2, sort_keys=True))

    def has_manage_permission(self, request: HttpRequest) -> bool:
        """Rotating and revoking change keys' states: the model's change permission (tenant admins have it),
        and a role that may change the working tenant (not read-only)."""
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}") and may_write(
            request
        )

    @admin.action(description="Rotate signing keys", permissions=["manage"])
    def rotate_signing_keys(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Rotate each selected key's tenant and algorithm once (selecting any key of it is enough)."""
        targets = sorted({(key.tenant, key.algorithm) for key in queryset}, key=lambda t: (t[0].slug, t[1]))
        if not request.POST.get("post"):
            return self._confirm(
                request,
                queryset,
                action="rotate_signing_keys",
                title="Rotate signing keys",
                message=(
                    "For each tenant and algorithm below, the published next key starts signing, the "
                    "current key becomes previous (tokens it signed keep verifying), the previous key "
                    "is retired (tokens it signed stop verifying) and a new next key is published."
                ),
                targets=[f"{tenant.slug}: {algorithm}" for tenant, algorithm in targets],
                button="Rotate",
            )
        for tenant, algorithm in targets:
            (rotation,) = signing_key_rotate(tenant=tenant, algorithm=algorithm, actor=request.user)
            retired = f"; retired {', '.join(rotation.retired)}" if rotation.retired else ""
            self.message_user(
                request,
                f"Rotated {algorithm} keys of {tenant.slug}: {rotation.current} now signs, "
                f"{rotation.previous or 'no key'} is previous, {rotation.next} is the new next key{retired}.",
                messages.SUCCESS,
            )
        return None

    @admin.action(description="Revoke key", permissions=["manage"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Revoke each selected key; a refusal (already revoked) is reported and the others proceed."""
        selected = list(queryset.order_by("tenant__slug", "algorithm", "created_at"))
        if not request.POST.get("post"):
            return self._confirm(
                request,
                queryset,
                action="revoke_keys",
                title="Revoke signing keys",
                message=(
                    "Revoke these keys only if they may be compromised. Each leaves the JWKS at once and "
                    "every token it signed stops verifying. A revoked current key is replaced at once by "
                    "the published next key."
                ),
                targets=[f"{key.tenant.slug}: {key.kid} ({key.algorithm}, {key.state})" for key in selected],
                button="Revoke",
            )
        for key in selected:
            try:
                revocation = signing_key_revoke(tenant=key.tenant, kid=key.kid, actor=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                continue
            promoted = f"; {revocation.promoted} now signs" if revocation.promoted else ""
            self.message_user(
                request,
                f"Revoked {key.kid} ({key.algorithm} of {key.tenant.slug}, was {revocation.state_before})"
                f"{promoted}.",
                messages.SUCCESS,
            )
        return None

    def _confirm(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        *,
        action: str,
        title: str,
        message: str,
        targets: list[str],
        button: str,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "queryset": queryset,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "message": message,
            "targets": targets,
            "button": button,
        }
        return TemplateResponse(request, "admin/tenants/signingkey/action_confirmation.html", context)


MSG_MEMBER_UNKNOWN = "No portal admin has this username. A superuser creates portal admins under Users."


class MembershipAddForm(ServiceModelForm):
    """A new member: an existing portal admin, by username, and their role."""

    username = forms.CharField(
        max_length=150,
        help_text="The username of an existing portal admin (a superuser creates portal admins under Users).",
    )

    class Meta:
        model = TenantMembership
        fields = ("tenant", "role")

    def clean_username(self) -> Any:
        user = portal_admin_get_by_username(username=self.cleaned_data["username"])
        if user is None:
            raise forms.ValidationError(MSG_MEMBER_UNKNOWN, code="unknown_portal_admin")
        return user


class MembershipChangeForm(ServiceModelForm):
    class Meta:
        model = TenantMembership
        fields = ("role",)


@admin.register(TenantMembership)
class TenantMembershipAdmin(TenantScopedAdmin):
    """The portal admins who work in a tenant, and their roles (Auth0's "Tenant Members").

    Every member sees the list; owners add and remove members and change roles (superusers
    too), through ``membership_create`` / ``membership_update`` / ``membership_delete``. A tenant
    always keeps an owner: the services refuse to remove or demote the last one. The role, not
    a model permission, decides: members need no permission on this model.
    """

    list_display = ("username", "email", "role", "tenant", "created_at")
    list_select_related = ("tenant", "user")
    list_filter = (("tenant", admin.RelatedOnlyFieldListFilter), "role")
    search_fields = ("user__username", "user__email")
    ordering = ("tenant__slug", "user__username")
    form = MembershipChangeForm
    add_form = MembershipAddForm
    fields = ("tenant", "username", "email", "role", "created_at")
    add_fieldsets = ((None, {"fields": ("tenant", "username", "role")}),)

    @admin.display(description="Username", ordering="user__username")
    def username(self, obj: TenantMembership) -> str:
        return obj.user.get_username()

    @admin.display(description="Email", ordering="user__email")
    def email(self, obj: TenantMembership) -> str:
        return obj.user.email

    def get_readonly_fields(
        self, request: HttpRequest, obj: TenantMembership | None = None
    ) -> tuple[str, ...]:
        return () if obj is None else ("tenant", "username", "email", "created_at")

    # --- the role decides (no model permission needed) ---------------------------------------------

    def _working_tenant_id(self, request: HttpRequest) -> int | None:
        tenant = portal_tenant(request)
        return tenant.pk if tenant is not None else None

    def has_module_permission(self, request: HttpRequest) -> bool:
        access = portal_access(request)
        return access.is_superuser or bool(access.tenants)

    def has_view_permission(self, request: HttpRequest, obj: TenantMembership | None = None) -> bool:
        access = portal_access(request)
        if not (access.is_superuser or access.may_view(self._working_tenant_id(request))):
            return False
        return self.is_member_for(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return portal_access(request).may_manage_members(self._working_tenant_id(request))

    def has_change_permission(self, request: HttpRequest, obj: TenantMembership | None = None) -> bool:
        tenant_id = self._working_tenant_id(request) if obj is None else obj.tenant_id
        return self.is_member_for(request, obj) and portal_access(request).may_manage_members(tenant_id)

    def has_delete_permission(self, request: HttpRequest, obj: TenantMembership | None = None) -> bool:
        return self.has_change_permission(request, obj)

    # --- writes -------------------------------------------------------------------------------------

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> TenantMembership:
        data = form.cleaned_data
        return membership_create(
            tenant=data["tenant"], user=data["username"], role=data["role"], actor=request.user
        )

    def service_update(self, request: HttpRequest, obj: TenantMembership, form: forms.ModelForm) -> None:
        if "role" in form.changed_data:
            membership_update(membership=obj, role=form.cleaned_data["role"], actor=request.user)

    def service_delete(self, request: HttpRequest, obj: TenantMembership) -> None:
        membership_delete(membership=obj, actor=request.user)
