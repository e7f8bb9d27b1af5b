"""The audit trail: who changed what, in which tenant, and when."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One state change made by an admin, a user or automation. Written by services, never signals."""

    class Type(models.TextChoices):
        TENANT_CREATED = "tenant.created", "Tenant created"
        TENANT_UPDATED = "tenant.updated", "Tenant updated"
        SIGNING_KEY_CREATED = "signing_key.created", "Signing key created"
        SIGNING_KEY_ROTATED = "signing_key.rotated", "Signing keys rotated"
        SIGNING_KEY_REVOKED = "signing_key.revoked", "Signing key revoked"
        KEY_MATERIAL_REENCRYPTED = "key_material.reencrypted", "Key material re-encrypted"
        API_CREATED = "api.created", "API created"
        API_UPDATED = "api.updated", "API updated"
        API_DELETED = "api.deleted", "API deleted"
        API_SIGNING_SECRET_REVEALED = "api.signing_secret_revealed", "API signing secret revealed"
        API_TEST_TOKEN_ISSUED = "api.test_token_issued", "Test access token minted in the portal"
        APPLICATION_CREATED = "application.created", "Application created"
        APPLICATION_UPDATED = "application.updated", "Application updated"
        APPLICATION_SECRET_ROTATED = "application.secret_rotated", "Application secret rotated"
        APPLICATION_DELETED = "application.deleted", "Application deleted"
        CLIENT_GRANT_CREATED = "client_grant.created", "Client grant created"
        CLIENT_GRANT_UPDATED = "client_grant.updated", "Client grant updated"
        CLIENT_GRANT_DELETED = "client_grant.deleted", "Client grant deleted"
        USER_GRANT_CREATED = "user_grant.created", "User grant (consent) created"
        USER_GRANT_UPDATED = "user_grant.updated", "User grant (consent) extended"
        USER_GRANT_REVOKED = "user_grant.revoked", "User grant (consent) revoked"
        AUTHORIZATION_CODE_REPLAYED = "authorization_code.replayed", "Authorization code replayed"
        REFRESH_TOKEN_REUSED = "refresh_token.reused", "Rotated refresh token reused"
        TOKEN_DENIED = "token.denied", "Access token deny-listed"
        TOKEN_UNDENIED = "token.undenied", "Access token removed from the deny list"
        USER_CREATED = "user.created", "User created"
        USER_LOGIN = "user.login", "User signed in"
        USER_LOGIN_FAILED = "user.login_failed", "User sign-in failed"
        USER_BLOCKED = "user.blocked", "Sign-ins blocked for a user and IP (brute-force protection)"
        USER_UNBLOCKED = "user.unblocked", "Sign-in block removed"
        IP_THROTTLED = "ip.throttled", "IP throttled for suspicious sign-in failures"
        USER_PASSWORD_CHANGED = "user.password_changed", "User password changed"
        USER_UPDATED = "user.updated", "User's profile updated"
        USER_DELETED = "user.deleted", "User deleted"
        USER_ACCOUNT_BLOCKED = "user.account_blocked", "User blocked by an admin (cannot sign in)"
        USER_ACCOUNT_UNBLOCKED = "user.account_unblocked", "User unblocked by an admin"
        USER_ROLES_CHANGED = "user.roles_changed", "User's roles changed"
        USER_PERMISSIONS_CHANGED = "user.permissions_changed", "User's direct permissions changed"
        ROLE_CREATED = "role.created", "Role created"
        ROLE_UPDATED = "role.updated", "Role updated"
        ROLE_DELETED = "role.deleted", "Role deleted"
        ROLE_PERMISSIONS_CHANGED = "role.permissions_changed", "Role's permissions changed"
        TOKEN_RULE_CREATED = "token_rule.created", "Token rule created"
        TOKEN_RULE_UPDATED = "token_rule.updated", "Token rule updated"
        TOKEN_RULE_DELETED = "token_rule.deleted", "Token rule deleted"
        TOKEN_RULES_REORDERED = "token_rule.reordered", "Token rules reordered"
        TOKEN_HOOK_DENIED = "token_hook.denied", "Token denied by the token hook"
        TOKEN_HOOK_FAILED = "token_hook.failed", "Token hook failed"
        MFA_ASSOCIATED = "mfa.associated", "MFA authenticator associated (not yet confirmed)"
        MFA_ENROLLED = "mfa.enrolled", "MFA authenticator confirmed (enrolled)"
        MFA_SUCCEEDED = "mfa.succeeded", "MFA code accepted"
        MFA_FAILED = "mfa.failed", "MFA code refused"
        MFA_RECOVERY_CODES_ISSUED = "mfa.recovery_codes_issued", "MFA recovery codes issued"
        MFA_AUTHENTICATOR_DELETED = "mfa.authenticator_deleted", "MFA authenticator removed"
        MFA_RESET = "mfa.reset", "MFA reset by an admin"

    # Nullable: events about the portal itself (not one tenant) have no tenant.
    tenant = models.ForeignKey("tenants.Tenant", null=True, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=64, choices=Type.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=200, blank=True)
    target = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            # The events page's filters (apps.dashboard.selectors.event_querysets): each reads the
            # newest matching rows of one tenant along one of these, however large the trail.
            models.Index(fields=["tenant", "type", "-created_at"]),
            models.Index(fields=["tenant", "target", "-created_at"]),
            models.Index(fields=["tenant", "actor_label", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.target}"


class TokenEvent(models.Model):
    """One token request answered at a tenant's token endpoint: issued or refused.

    Kept apart from ``AuditEvent`` because of its volume (one per token request) and
    written in batches (``apps.audit.token_log``), so that logging costs the token
    endpoint no database round trip. ``type`` uses Auth0's log event codes.
    """

    class Type(models.TextChoices):
        SUCCESS_CLIENT_CREDENTIALS = "seccft", "Success exchange (client credentials for access token)"
        FAILED_CLIENT_CREDENTIALS = "feccft", "Failed exchange (client credentials for access token)"
        SUCCESS_AUTHORIZATION_CODE = "seacft", "Success exchange (authorization code for access token)"
        FAILED_AUTHORIZATION_CODE = "feacft", "Failed exchange (authorization code for access token)"
        SUCCESS_REFRESH_TOKEN = "sertft", "Success exchange (refresh token for access token)"
        FAILED_REFRESH_TOKEN = "fertft", "Failed exchange (refresh token for access token)"
        SUCCESS_PASSWORD = "sepft", "Success exchange (password for access token)"
        FAILED_PASSWORD = "fepft", "Failed exchange (password for access token)"
        SUCCESS_MFA_OTP = "seotpft", "Success exchange (password and OTP challenge for access token)"
        FAILED_MFA_OTP = "feotpft", "Failed exchange (password and OTP challenge for access token)"
        SUCCESS_MFA_RECOVERY_CODE = (
            "sercft",
            "Success exchange (password and MFA recovery code for access token)",
        )
        FAILED_MFA_RECOVERY_CODE = (
            "fercft",
            "Failed exchange (password and MFA recovery code for access token)",
        )
        SUCCESS_REVOCATION = "srrt", "Success revocation"
        FAILED_EXCHANGE = "fe", "Failed exchange (malformed request)"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=16, choices=Type.choices)
    client_id = models.CharField(max_length=100, blank=True, help_text="As presented by the caller.")
    audience = models.CharField(max_length=600, blank=True)
    scope = models.TextField(blank=True)
    jti = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=64, blank=True)
    error_description = models.CharField(max_length=500, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            # The events page's filters by application and by type. They cost the background
            # flush (not the token request) a little more work per inserted row.
            models.Index(fields=["tenant", "client_id", "-created_at"]),
            models.Index(fields=["tenant", "type", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.client_id}"


class HourlyRollup(models.Model):
    """How many events of one kind one tenant had in one hour: what the dashboard's charts read.

    Kept up to date as events are written (``apps.audit.rollups``): the token log adds each
    batch's counts when it flushes, ``audit_record`` adds each audit event's. The charts read
    at most hours x metrics rows, whatever the size of the raw log, and the counts outlive the
    raw rows (pruning the log leaves its history on the charts). ``key`` is the event's type
    code (``seccft``, ``user.blocked``...), so a metric can be broken down by it.
    """

    class Metric(models.TextChoices):
        TOKENS_ISSUED = "tokens.issued", "Tokens issued"
        TOKENS_REFUSED = "tokens.refused", "Token requests refused"
        TOKENS_REVOKED = "tokens.revoked", "Tokens revoked"
        TOKENS_OTHER = "tokens.other", "Other token log events"
        LOGINS = "logins.succeeded", "Sign-ins"
        LOGINS_FAILED = "logins.failed", "Failed sign-ins"
        ACCOUNTS_BLOCKED = "accounts.blocked", "Accounts blocked (attack protection or an admin)"
        IPS_THROTTLED = "ips.throttled", "IPs throttled"
        EVENTS_OTHER = "events.other", "Other audit events (configuration changes...)"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField(help_text="Start of the hour (UTC).")
    metric = models.CharField(max_length=32, choices=Metric.choices)
    key = models.CharField(max_length=64, blank=True, help_text="The event type code counted.")
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # The upsert's conflict target (apps.audit.rollups); also the index of a tenant's charts.
            models.UniqueConstraint(fields=["tenant", "metric", "hour", "key"], name="audit_rollup_bucket"),
        ]
        # Every tenant's charts at once (a superuser's dashboard).
        indexes = [models.Index(fields=["metric", "hour"], name="audit_rollup_metric_hour")]

    def __str__(self) -> str:
        return f"{self.metric}/{self.key} {self.hour:%Y-%m-%d %H:00}: {self.count}"
