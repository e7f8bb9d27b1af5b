"""The Management API's routes under ``/t/<tenant>/api/v2/`` (Auth0's paths)."""

from __future__ import annotations

from django.urls import path

from apps.management.api import attack_protection, guardian, keys, logs, schema

app_name = "management"

urlpatterns: list = [
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
