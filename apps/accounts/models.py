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
    # When the profile last changed (Auth0's ``updated_at``); set by the services that change it.
    updated_at = models.DateTimeField(auto_now=True)

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
        indexes = [
            # The admin's user list, in its order (tenant, then username): a page of the users of one
            # tenant or of all of them is read from the index, not sorted from the whole table.
            models.Index(fields=["tenant", "username"], name="user_tenant_username_idx"),
        ]

    @property
    def is_portal_user(self) -> bool:
        return self.tenant_id is None


class MfaAuthenticator(TenantOwned):
    """A second factor of an end user: for now a TOTP app (RFC 6238), Auth0's ``otp`` authenticator.

    Created unconfirmed by ``totp_associate`` (Auth0's ``/mfa/associate``) and confirmed by the
    first valid code (``otp_verify``); only confirmed authenticators make a user "enrolled". The
    shared secret is encrypted at rest (``apps.tenants.crypto``) and shown only at association.
    ``last_used_step`` is the RFC 6238 time step of the last accepted code: a code is single use,
    so a code of that step or an earlier one is refused (RFC 6238 section 5.2).
    """

    class Type(models.TextChoices):
        OTP = "otp", "One-time password (authenticator app)"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mfa_authenticators")
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.OTP)
    secret_encrypted = models.TextField(editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["tenant", "user"])]

    def __str__(self) -> str:
        return f"{self.type} authenticator of {self.user_id}"

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def public_id(self) -> str:
        """The id Auth0's MFA API shows (``totp|dev_<id>``-like): type and row id, no secret."""
        return f"{self.type}|dev_{self.pk}"


class MfaRecoveryCode(TenantOwned):
    """One of an end user's recovery codes: shown once at first enrolment, stored only as a keyed hash.

    High-entropy random values (like client secrets), so a keyed HMAC (``code_hash``) is enough; a
    used code keeps its row with ``used_at`` set, so it can never be accepted again.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mfa_recovery_codes")
    code_hash = models.CharField(max_length=64, editable=False)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "code_hash"], name="uniq_recovery_code_per_user")
        ]

    def __str__(self) -> str:
        return f"recovery code of {self.user_id}"


class LoginBlock(TenantOwned):
    """Brute-force protection's block: sign-ins as ``username`` from ``ip`` are refused until ``expires_at``.

    Auth0: "Brute-force protection" blocks the IP address for that user after too many
    consecutive failed attempts; the block lapses when an admin removes it, when the user's
    password is changed, or after the tenant's block duration. ``username`` is the identifier
    as typed, case-folded (``login_identifier``), and is recorded for usernames that match no
    account too, so that blocking says nothing about whether an account exists; ``user`` is set
    when one matched at the time of the block. One row per (tenant, username, ip): a new block
    after one lapsed reuses it.
    """

    username = models.CharField(max_length=254, help_text="As typed at sign-in, case-folded.")
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="login_blocks"
    )
    # None when the server could not tell the client's address (all such attempts share a block).
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    blocked_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta(TenantOwned.Meta):
        ordering = ["-blocked_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "username", "ip"], name="uniq_login_block"),
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip or 'unknown IP'}"


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
