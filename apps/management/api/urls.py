"""The Management API's routes under ``/t/<tenant>/api/v2/`` (Auth0's paths)."""

from __future__ import annotations

from django.urls import path

from apps.management.api import (
    attack_protection,
    blacklists,
    client_grants,
    clients,
    grants,
    guardian,
    keys,
    logs,
    resource_servers,
    roles,
    schema,
    users,
)

app_name = "management"

urlpatterns: list = [
    # --- users, roles, user grants, deny list (issue 8: users helper) ---
    path("users", users.UsersView.as_view(), name="users"),
    path("users/<str:id>", users.UserView.as_view(), name="user"),
    path("users/<str:id>/roles", users.UserRolesView.as_view(), name="user-roles"),
    path("users/<str:id>/permissions", users.UserPermissionsView.as_view(), name="user-permissions"),
    path(
        "users/<str:id>/authentication-methods",
        users.UserAuthenticationMethodsView.as_view(),
        name="user-authentication-methods",
    ),
    path(
        "users/<str:id>/authentication-methods/<str:method_id>",
        users.UserAuthenticationMethodView.as_view(),
        name="user-authentication-method",
    ),
    path("user-blocks/<str:id>", users.UserBlocksView.as_view(), name="user-blocks"),
    path("roles", roles.RolesView.as_view(), name="roles"),
    path("roles/<str:id>", roles.RoleView.as_view(), name="role"),
    path("roles/<str:id>/permissions", roles.RolePermissionsView.as_view(), name="role-permissions"),
    path("roles/<str:id>/users", roles.RoleUsersView.as_view(), name="role-users"),
    path("grants", grants.GrantsView.as_view(), name="grants"),
    path("grants/<str:id>", grants.GrantView.as_view(), name="grant"),
    path("blacklists/tokens", blacklists.BlacklistTokensView.as_view(), name="blacklist-tokens"),
    # --- end users helper ---
    # --- core resources: resource-servers, clients, client-grants (issue 8, mapi-core) ---
    path("resource-servers", resource_servers.ResourceServerListView.as_view(), name="resource-servers"),
    # {id} is the id or the (URL-encoded) identifier, which may contain slashes once decoded.
    path(
        "resource-servers/<path:id>",
        resource_servers.ResourceServerDetailView.as_view(),
        name="resource-server",
    ),
    path("clients", clients.ClientListView.as_view(), name="clients"),
    path("clients/<str:client_id>", clients.ClientDetailView.as_view(), name="client"),
    path(
        "clients/<str:client_id>/rotate-secret",
        clients.ClientRotateSecretView.as_view(),
        name="client-rotate-secret",
    ),
    path("client-grants", client_grants.ClientGrantListView.as_view(), name="client-grants"),
    path("client-grants/<str:id>", client_grants.ClientGrantDetailView.as_view(), name="client-grant"),
    # --- end core resources ---
    # --- keys, guardian (MFA), attack protection, logs, OpenAPI document (issue 8, mapi-ops) ---
    path("keys/signing", keys.SigningKeyListView.as_view(), name="signing-keys"),
    path("keys/signing/rotate", keys.SigningKeyRotateView.as_view(), name="signing-keys-rotate"),
    path("keys/signing/<str:kid>", keys.SigningKeyDetailView.as_view(), name="signing-key"),
    path("keys/signing/<str:kid>/revoke", keys.SigningKeyRevokeView.as_view(), name="signing-key-revoke"),
    path("guardian/factors", guardian.GuardianFactorListView.as_view(), name="guardian-factors"),
    path("guardian/factors/otp", guardian.GuardianOtpFactorView.as_view(), name="guardian-factor-otp"),
    path("guardian/policies", guardian.GuardianPoliciesView.as_view(), name="guardian-policies"),
    path(
        "attack-protection/brute-force-protection",
        attack_protection.BruteForceProtectionView.as_view(),
        name="brute-force-protection",
    ),
    path(
        "attack-protection/suspicious-ip-throttling",
        attack_protection.SuspiciousIpThrottlingView.as_view(),
        name="suspicious-ip-throttling",
    ),
    path("logs", logs.LogListView.as_view(), name="logs"),
    path("logs/<str:id>", logs.LogDetailView.as_view(), name="log"),
    path("openapi.json", schema.OpenApiView.as_view(), name="openapi"),
    # --- end mapi-ops ---
]
