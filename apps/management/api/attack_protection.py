"""``attack-protection/brute-force-protection`` and ``attack-protection/suspicious-ip-throttling``
(Auth0: https://auth0.com/docs/api/management/v2/attack-protection/patch-brute-force-protection).

GET answers in Auth0's shape; PATCH changes only the fields it names and writes the merged settings
through ``tenant_brute_force_protection_set`` / ``tenant_suspicious_ip_throttling_set`` (validated,
audited with the calling client as actor).

What maps:

- brute force: ``enabled``, ``max_attempts`` (1-100), ``allowlist`` map one to one. ``shields``
  is answered as ``["block"]``: blocking the IP for the account is what we do. ``mode`` is
  ``count_per_identifier_and_ip`` (how we count); ``count_per_identifier`` is refused (400), since
  we would silently do something else. Accepted but ignored: the ``user_notification`` shield (we
  send no mail). ``block_duration_seconds`` (ours, not Auth0's) is kept as it is.
- suspicious IP: ``enabled`` and ``allowlist`` map one to one. ``stage["pre-login"]``:
  ``max_attempts`` is our per-IP maximum; Auth0's ``rate`` (milliseconds per attempt granted back)
  becomes our window: ``window_seconds = max_attempts * rate / 1000`` (Auth0's default 100 and
  864000 ms is our default of 100 per day), answered back as ``rate = window_seconds * 1000 /
  max_attempts`` (rounded down). ``shields`` answered ``["block"]``; accepted but ignored: the
  ``admin_notification`` shield and the ``pre-user-registration`` stage (no sign-up here; answered
  with Auth0's defaults).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.management.api.base import ManagementView
from apps.management.api.errors import bad_request
from apps.management.api.payload import StrictSerializer, validated
from apps.tenants.selectors import tenant_attack_protection
from apps.tenants.services import tenant_brute_force_protection_set, tenant_suspicious_ip_throttling_set

BRUTE_FORCE_MODE = "count_per_identifier_and_ip"
BRUTE_FORCE_SHIELDS = ("block", "user_notification")
SUSPICIOUS_IP_SHIELDS = ("block", "admin_notification")
PRE_LOGIN = "pre-login"
PRE_USER_REGISTRATION = "pre-user-registration"
# Auth0's defaults for the stage we do not have (answered as they are, never stored).
PRE_USER_REGISTRATION_DEFAULT = {"max_attempts": 50, "rate": 1728000}
MSG_MODE_UNSUPPORTED = (
    "Payload validation error: 'mode' count_per_identifier is not supported: this server counts failed "
    "attempts per account and IP (count_per_identifier_and_ip)."
)


class AllowlistField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=64), max_length=100, **kwargs)


class BruteForceSerializer(StrictSerializer):
    """Brute-force protection settings (Auth0's fields; what applies: module docstring)."""

    enabled = serializers.BooleanField(required=False)
    shields = serializers.ListField(
        child=serializers.ChoiceField(choices=BRUTE_FORCE_SHIELDS), required=False
    )
    allowlist = AllowlistField(required=False)
    mode = serializers.ChoiceField(choices=[BRUTE_FORCE_MODE, "count_per_identifier"], required=False)
    max_attempts = serializers.IntegerField(required=False, min_value=1, max_value=100)


class StageSerializer(StrictSerializer):
    """One suspicious-IP stage: ``max_attempts`` and ``rate`` (ms per attempt granted back)."""

    max_attempts = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)
    rate = serializers.IntegerField(required=False, min_value=1, max_value=365 * 24 * 3600 * 1000)


class StagesSerializer(StrictSerializer):
    """Suspicious-IP stages: ``pre-login`` applies, ``pre-user-registration`` is ignored."""

    def get_fields(self):
        # Auth0's stage names have hyphens: not Python identifiers.
        return {
            PRE_LOGIN: StageSerializer(required=False),
            PRE_USER_REGISTRATION: StageSerializer(required=False),
        }


class SuspiciousIpSerializer(StrictSerializer):
    """Suspicious-IP throttling settings (Auth0's fields; what applies: module docstring)."""

    enabled = serializers.BooleanField(required=False)
    shields = serializers.ListField(
        child=serializers.ChoiceField(choices=SUSPICIOUS_IP_SHIELDS), required=False
    )
    allowlist = AllowlistField(required=False)
    stage = StagesSerializer(required=False)


def brute_force_render(tenant) -> dict[str, Any]:
    current = tenant_attack_protection(tenant=tenant).brute_force
    return {
        "enabled": current.enabled,
        "shields": ["block"],
        "allowlist": list(current.allowlist),
        "mode": BRUTE_FORCE_MODE,
        "max_attempts": current.max_attempts,
    }


def suspicious_ip_render(tenant) -> dict[str, Any]:
    current = tenant_attack_protection(tenant=tenant).suspicious_ip
    return {
        "enabled": current.enabled,
        "shields": ["block"],
        "allowlist": list(current.allowlist),
        "stage": {
            PRE_LOGIN: {
                "max_attempts": current.max_attempts,
                "rate": max(1, current.window_seconds * 1000 // current.max_attempts),
            },
            PRE_USER_REGISTRATION: dict(PRE_USER_REGISTRATION_DEFAULT),
        },
    }


class BruteForceProtectionView(ManagementView):
    """GET/PATCH attack-protection/brute-force-protection (mapping: module docstring)."""

    required_scopes = {"GET": "read:attack_protection", "PATCH": "update:attack_protection"}

    @extend_schema(operation_id="get_brute_force_protection", responses={200: BruteForceSerializer})
    def get(self, request: Request) -> Response:
        return Response(brute_force_render(request.tenant))

    @extend_schema(
        operation_id="patch_brute_force_protection",
        request=BruteForceSerializer,
        responses={200: BruteForceSerializer},
    )
    def patch(self, request: Request) -> Response:
        body = validated(BruteForceSerializer, request.data)
        if body.get("mode", BRUTE_FORCE_MODE) != BRUTE_FORCE_MODE:
            raise bad_request(MSG_MODE_UNSUPPORTED)
        current = tenant_attack_protection(tenant=request.tenant).brute_force
        tenant_brute_force_protection_set(
            tenant=request.tenant,
            enabled=body.get("enabled", current.enabled),
            max_attempts=body.get("max_attempts", current.max_attempts),
            block_duration_seconds=current.block_duration_seconds,
            allowlist=body.get("allowlist", current.allowlist),
            actor=request.user,
        )
        return Response(brute_force_render(request.tenant))


class SuspiciousIpThrottlingView(ManagementView):
    """GET/PATCH attack-protection/suspicious-ip-throttling (mapping: module docstring)."""

    required_scopes = {"GET": "read:attack_protection", "PATCH": "update:attack_protection"}

    @extend_schema(operation_id="get_suspicious_ip_throttling", responses={200: SuspiciousIpSerializer})
    def get(self, request: Request) -> Response:
        return Response(suspicious_ip_render(request.tenant))

    @extend_schema(
        operation_id="patch_suspicious_ip_throttling",
        request=SuspiciousIpSerializer,
        responses={200: SuspiciousIpSerializer},
    )
    def patch(self, request: Request) -> Response:
        body = validated(SuspiciousIpSerializer, request.data)
        current = tenant_attack_protection(tenant=request.tenant).suspicious_ip
        max_attempts, window_seconds = current.max_attempts, current.window_seconds
        pre_login = (body.get("stage") or {}).get(PRE_LOGIN) or {}
        if pre_login:
            rate_ms = pre_login.get("rate", window_seconds * 1000 // max_attempts)
            max_attempts = pre_login.get("max_attempts", max_attempts)
            window_seconds = max(1, round(max_attempts * rate_ms / 1000))
        tenant_suspicious_ip_throttling_set(
            tenant=request.tenant,
            enabled=body.get("enabled", current.enabled),
            max_attempts=max_attempts,
            window_seconds=window_seconds,
            allowlist=body.get("allowlist", current.allowlist),
            actor=request.user,
        )
        return Response(suspicious_ip_render(request.tenant))
