"""``guardian/factors``, ``guardian/factors/otp`` and ``guardian/policies``: MFA settings in Auth0's
shapes (https://auth0.com/docs/api/management/v2/guardian/put-factors-by-name,
https://auth0.com/docs/api/management/v2/guardian/put-policies), mapped onto the tenant's one MFA
policy (``apps.accounts.mfa.selectors.MfaPolicy``), written by ``tenant_mfa_policy_set``:

- factor ``otp`` (our only factor; recovery codes come with it) is enabled unless the policy is
  ``never``. PUT ``{"enabled": false}`` sets ``never``; ``{"enabled": true}`` sets ``optional``
  when it was ``never`` and leaves ``always`` alone.
- policies: ``["all-applications"]`` when the policy is ``always``, else ``[]``. PUT
  ``["all-applications"]`` sets ``always`` (OTP is then enabled: it is the factor MFA uses);
  PUT ``[]`` sets ``optional`` when it was ``always`` and leaves ``never`` alone. Auth0's
  ``confidence-score`` (adaptive MFA) is refused with 400.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.mfa.selectors import MfaPolicy, mfa_policy
from apps.accounts.mfa.services import tenant_mfa_policy_set
from apps.management.api.base import ManagementView
from apps.management.api.errors import bad_request
from apps.management.api.payload import StrictSerializer, validated

FACTOR_OTP = "otp"
FACTOR_RECOVERY_CODE = "recovery-code"
POLICY_ALL_APPLICATIONS = "all-applications"
POLICY_CONFIDENCE_SCORE = "confidence-score"
MSG_POLICIES_NOT_LIST = "Payload validation error: the body must be an array of policy names."
MSG_POLICY_UNSUPPORTED = (
    'Payload validation error: policy {name!r} is not supported: use [] or ["all-applications"].'
)


# A JSON array body: drf-spectacular takes a raw schema for it.
POLICIES_SCHEMA = {
    "type": "array",
    "items": {"type": "string", "enum": [POLICY_ALL_APPLICATIONS]},
    "maxItems": 1,
}


class FactorEnabledSerializer(StrictSerializer):
    """``{"enabled": bool}`` of a factor."""

    enabled = serializers.BooleanField()


class FactorSerializer(serializers.Serializer):
    """A factor in ``GET guardian/factors`` (for the OpenAPI document)."""

    name = serializers.ChoiceField(choices=[FACTOR_OTP, FACTOR_RECOVERY_CODE])
    enabled = serializers.BooleanField()
    trial_expired = serializers.BooleanField()


def _otp_enabled(tenant) -> bool:
    return mfa_policy(tenant=tenant) != MfaPolicy.NEVER


def factors_render(tenant) -> list[dict[str, Any]]:
    enabled = _otp_enabled(tenant)
    return [
        {"name": FACTOR_OTP, "enabled": enabled, "trial_expired": False},
        {"name": FACTOR_RECOVERY_CODE, "enabled": enabled, "trial_expired": False},
    ]


def policies_render(tenant) -> list[str]:
    return [POLICY_ALL_APPLICATIONS] if mfa_policy(tenant=tenant) == MfaPolicy.ALWAYS else []


def _set_policy(request: Request, policy: MfaPolicy) -> None:
    if mfa_policy(tenant=request.tenant) != policy:  # no audit event for a change that changes nothing
        tenant_mfa_policy_set(tenant=request.tenant, policy=policy, actor=request.user)


class GuardianFactorListView(ManagementView):
    """GET guardian/factors."""

    required_scopes = {"GET": "read:guardian_factors"}

    @extend_schema(operation_id="get_factors", responses={200: FactorSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(factors_render(request.tenant))


class GuardianOtpFactorView(ManagementView):
    """PUT guardian/factors/otp ``{"enabled": bool}`` (Auth0's ``PUT guardian/factors/{name}``).

    GET is ours (Auth0 lists factors only), under the read scope."""

    required_scopes = {"GET": "read:guardian_factors", "PUT": "update:guardian_factors"}

    @extend_schema(operation_id="get_factor_otp", responses={200: FactorEnabledSerializer})
    def get(self, request: Request) -> Response:
        return Response({"enabled": _otp_enabled(request.tenant)})

    @extend_schema(
        operation_id="put_factors_by_name",
        request=FactorEnabledSerializer,
        responses={200: FactorEnabledSerializer},
    )
    def put(self, request: Request) -> Response:
        enabled = validated(FactorEnabledSerializer, request.data)["enabled"]
        current = mfa_policy(tenant=request.tenant)
        if not enabled:
            _set_policy(request, MfaPolicy.NEVER)
        elif current == MfaPolicy.NEVER:
            _set_policy(request, MfaPolicy.OPTIONAL)
        return Response({"enabled": enabled})


class GuardianPoliciesView(ManagementView):
    """GET/PUT guardian/policies: ``[]`` or ``["all-applications"]``."""

    required_scopes = {"GET": "read:mfa_policies", "PUT": "update:mfa_policies"}

    @extend_schema(operation_id="get_policies", responses={200: POLICIES_SCHEMA})
    def get(self, request: Request) -> Response:
        return Response(policies_render(request.tenant))

    @extend_schema(
        operation_id="put_policies",
        request={"application/json": POLICIES_SCHEMA},
        responses={200: POLICIES_SCHEMA},
    )
    def put(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, list) or not all(isinstance(name, str) for name in body):
            raise bad_request(MSG_POLICIES_NOT_LIST)
        for name in body:
            if name != POLICY_ALL_APPLICATIONS:
                raise bad_request(MSG_POLICY_UNSUPPORTED.format(name=name[:64]))
        if body:
            _set_policy(request, MfaPolicy.ALWAYS)
        elif mfa_policy(tenant=request.tenant) == MfaPolicy.ALWAYS:
            _set_policy(request, MfaPolicy.OPTIONAL)
        return Response(policies_render(request.tenant))
