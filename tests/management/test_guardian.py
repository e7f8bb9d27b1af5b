"""guardian/factors, guardian/factors/otp and guardian/policies mapped onto the tenant's MFA policy."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from apps.accounts.mfa.selectors import MfaPolicy, mfa_policy
from apps.accounts.mfa.services import tenant_mfa_policy_set
from apps.audit.models import AuditEvent
from apps.tenants.models import Tenant


def _policy(tenant) -> MfaPolicy:
    return mfa_policy(tenant=Tenant.objects.get(pk=tenant.pk))


def test_factors_list_otp_and_recovery_code_enabled_by_default(mgmt):
    # when
    response = mgmt.call("GET", "guardian/factors")
    # then
    assert response.status_code == HTTPStatus.OK
    assert response.json() == [
        {"name": "otp", "enabled": True, "trial_expired": False},
        {"name": "recovery-code", "enabled": True, "trial_expired": False},
    ]


def test_disabling_otp_sets_policy_never_audited_with_the_client(mgmt):
    # when
    response = mgmt.call("PUT", "guardian/factors/otp", json={"enabled": False})
    # then
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json() == {"enabled": False}
    assert _policy(mgmt.tenant) == MfaPolicy.NEVER
    assert [f["enabled"] for f in mgmt.call("GET", "guardian/factors").json()] == [False, False]
    event = AuditEvent.objects.filter(tenant=mgmt.tenant, type=AuditEvent.Type.TENANT_UPDATED).first()
    assert event.actor_label == f"client {mgmt.client_id}"
    assert event.data["changed"] == ["settings.mfa_policy"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (MfaPolicy.NEVER, MfaPolicy.OPTIONAL),
        (MfaPolicy.OPTIONAL, MfaPolicy.OPTIONAL),
        (MfaPolicy.ALWAYS, MfaPolicy.ALWAYS),
    ],
)
def test_enabling_otp_turns_never_into_optional_and_keeps_always(mgmt, before, after):
    # given
    tenant_mfa_policy_set(tenant=mgmt.tenant, policy=before)
    # when
    response = mgmt.call("PUT", "guardian/factors/otp", json={"enabled": True})
    # then
    assert response.status_code == HTTPStatus.OK
    assert _policy(mgmt.tenant) == after


@pytest.mark.parametrize(
    ("before", "body", "after", "answer"),
    [
        (MfaPolicy.OPTIONAL, ["all-applications"], MfaPolicy.ALWAYS, ["all-applications"]),
        (MfaPolicy.NEVER, ["all-applications"], MfaPolicy.ALWAYS, ["all-applications"]),
        (MfaPolicy.ALWAYS, [], MfaPolicy.OPTIONAL, []),
        (MfaPolicy.NEVER, [], MfaPolicy.NEVER, []),
    ],
)
def test_policies_map_all_applications_to_always(mgmt, before, body, after, answer):
    # given
    tenant_mfa_policy_set(tenant=mgmt.tenant, policy=before)
    # when
    response = mgmt.call("PUT", "guardian/policies", json=body)
    # then
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json() == answer
    assert _policy(mgmt.tenant) == after
    assert mgmt.call("GET", "guardian/policies").json() == answer


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        (
            "PUT",
            "guardian/factors/otp",
            {"enabled": True, "provider": "x"},
            "Additional properties not allowed: provider",
        ),
        ("PUT", "guardian/factors/otp", {}, "enabled"),
        ("PUT", "guardian/factors/otp", {"enabled": "perhaps"}, "enabled"),
        ("PUT", "guardian/factors/otp", ["enabled"], "Expected type object"),
        ("PUT", "guardian/policies", ["confidence-score"], "'confidence-score' is not supported"),
        ("PUT", "guardian/policies", {"policies": []}, "must be an array"),
        ("PUT", "guardian/policies", [1], "must be an array"),
    ],
)
def test_bad_input_is_refused_in_auth0_shape(mgmt, method, path, body, message):
    # when
    response = mgmt.call(method, path, json=body)
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errorCode"] == "invalid_body"
    assert message in response.json()["message"]
    assert _policy(mgmt.tenant) == MfaPolicy.OPTIONAL


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"),
    [
        ("GET", "guardian/factors", None, "read:guardian_factors"),
        ("PUT", "guardian/factors/otp", {"enabled": False}, "update:guardian_factors"),
        ("GET", "guardian/policies", None, "read:mfa_policies"),
        ("PUT", "guardian/policies", ["all-applications"], "update:mfa_policies"),
    ],
)
def test_each_operation_needs_its_scope(mgmt, method, path, body, scope):
    # given
    everything = [
        "read:guardian_factors",
        "update:guardian_factors",
        "read:mfa_policies",
        "update:mfa_policies",
    ]
    token = mgmt.token([s for s in everything if s != scope])
    # when
    response = mgmt.call(method, path, json=body, token=token)
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["errorCode"] == "insufficient_scope"
    assert scope in response.json()["message"]
    assert _policy(mgmt.tenant) == MfaPolicy.OPTIONAL


def test_another_tenants_token_is_refused(mgmt, other_mgmt):
    # when
    response = mgmt.call("PUT", "guardian/policies", json=["all-applications"], token=other_mgmt.token())
    # then
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert _policy(mgmt.tenant) == MfaPolicy.OPTIONAL
