"""One user table for portal admins (no tenant) and each tenant's end users; their roles and permissions."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower

from apps.core.models import TenantOwned


class User(AbstractUser):
    """A person who signs in.

    ``tenant`` is empty for portal admins (they sign in at ``/admin/``) and set for a
    tenant's end users (they sign in at ``/t/<tenant>/login``). Usernames are unique
    within a tenant, and among portal admins, case-insensitively.
    """

    username = models.CharField(max_length=150, help_text="Unique within the tenant.")
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="users"
    )

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("username"),
                name="uniq_username_per_tenant",
                condition=models.Q(tenant__isnull=False),
            ),
            models.UniqueConstraint(
                Lower("username"), name="uniq_portal_username", condition=models.Q(tenant__isnull=True)
            ),
        ]

    @property
    def is_portal_user(self) -> bool:
        return self.tenant_id is None


# --- Role-based access control (Auth0's "Role-based access control" for APIs) ---------------------
# A permission is an API's scope (``apis.Scope``). A user holds it directly (``UserPermission``) or
# through a role (``UserRole`` -> ``RolePermission``). When an API enables RBAC, a user token for it
# carries only the requested scopes the user holds (``apps.oauth.grants.user_tokens.rbac_apply``).
# Every row is bound to a tenant; services (``apps.accounts.rbac.services``) refuse to link rows of
# different tenants. Deleting a scope deletes it from every role and user (the foreign keys cascade).


class Role(TenantOwned):
    """A named set of permissions assigned to end users ("Timesheet approver"); names are unique
    within the tenant, case-insensitively."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True)
    permissions = models.ManyToManyField(
        "apis.Scope", through="RolePermission", related_name="roles", blank=True
    )
    users = models.ManyToManyField(User, through="UserRole", related_name="roles", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [models.UniqueConstraint("tenant", Lower("name"), name="uniq_role_name_per_tenant")]

    def __str__(self) -> str:
        return self.name


class RolePermission(TenantOwned):
    """A permission (API scope) a role grants."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="role_permissions")
    scope = models.ForeignKey("apis.Scope", on_delete=models.CASCADE, related_name="role_permissions")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["role", "scope"], name="uniq_role_permission")]

    def __str__(self) -> str:
        return f"{self.role_id} -> {self.scope_id}"


class UserRole(TenantOwned):
    """A role assigned to an end user."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="user_roles")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="user_roles")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="uniq_user_role")]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.role_id}"


class UserPermission(TenantOwned):
    """A permission (API scope) assigned to an end user directly, not through a role.

    Not Django's ``User.user_permissions`` (model permissions for this admin): these are the
    user's permissions on the tenant's APIs.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_permissions")
    scope = models.ForeignKey("apis.Scope", on_delete=models.CASCADE, related_name="user_permissions")

    class Meta:
        verbose_name = "direct user permission"
        constraints = [models.UniqueConstraint(fields=["user", "scope"], name="uniq_user_permission")]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.scope_id}"
