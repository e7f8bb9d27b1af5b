"""attack-protection/brute-force-protection and suspicious-ip-throttling in Auth0's shape."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from apps.audit.models import AuditEvent
from apps.tenants.models import Tenant
from apps.tenants.selectors import tenant_attack_protection

BRUTE = "attack-protection/brute-force-protection"
SUSPICIOUS = "attack-protection/suspicious-ip-throttling"


def _stored(tenant):
    return tenant_attack_protection(tenant=Tenant.objects.get(pk=tenant.pk))


def test_brute_force_defaults_in_auth0_shape(mgmt):
    # when
    response = mgmt.call("GET", BRUTE)
    # then
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "enabled": True,
        "shields": ["block"],
        "allowlist": [],
        "mode": "count_per_identifier_and_ip",
        "max_attempts": _stored(mgmt.tenant).brute_force.max_attempts,
    }


def test_brute_force_patch_changes_only_the_fields_named_audited_with_the_client(mgmt):
    # given
    before = _stored(mgmt.tenant).brute_force
    # when
    response = mgmt.call(
        "PATCH",
        BRUTE,
        json={"max_attempts": 3, "allowlist": ["10.0.0.0/8", "2001:db8::1"], "shields": ["block"]},
    )
    # then
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json()["max_attempts"] == 3
    assert response.json()["allowlist"] == ["10.0.0.0/8", "2001:db8::1"]
    after = _stored(mgmt.tenant).brute_force
    assert (after.enabled, after.max_attempts, after.block_duration_seconds) == (
        True,
        3,
        before.block_duration_seconds,
    )
    assert after.allowlist == ("10.0.0.0/8", "2001:db8::1")
    event = AuditEvent.objects.filter(tenant=mgmt.tenant, type=AuditEvent.Type.TENANT_UPDATED).first()
    assert event.actor_label == f"client {mgmt.client_id}"


def test_brute_force_can_be_disabled(mgmt):
    # when
    response = mgmt.call("PATCH", BRUTE, json={"enabled": False})
    # then
    assert response.json()["enabled"] is False
    assert _stored(mgmt.tenant).brute_force.enabled is False


def test_suspicious_ip_maps_auth0_rate_onto_our_window(mgmt):
    # given Auth0's default: 100 attempts, one granted back every 864 s = 100 per day
    assert mgmt.call("GET", SUSPICIOUS).json()["stage"]["pre-login"] == {"max_attempts": 100, "rate": 864000}
    # when 10 attempts, one back every minute
    response = mgmt.call(
        "PATCH",
        SUSPICIOUS,
        json={"stage": {"pre-login": {"max_attempts": 10, "rate": 60000}}, "allowlist": ["192.0.2.1"]},
    )
    # then: 10 per 600 s
    assert response.status_code == HTTPStatus.OK, response.text
    stored = _stored(mgmt.tenant).suspicious_ip
    assert (stored.max_attempts, stored.window_seconds, stored.allowlist) == (10, 600, ("192.0.2.1",))
    assert response.json()["stage"]["pre-login"] == {"max_attempts": 10, "rate": 60000}
    assert response.json()["shields"] == ["block"]
    assert "pre-user-registration" in response.json()["stage"]


def test_suspicious_ip_accepts_and_ignores_what_we_do_not_have(mgmt):
    # when
    response = mgmt.call(
        "PATCH",
        SUSPICIOUS,
        json={
            "shields": ["admin_notification"],
            "stage": {"pre-user-registration": {"max_attempts": 5, "rate": 1}},
        },
    )
    # then
    assert response.status_code == HTTPStatus.OK
    stored = _stored(mgmt.tenant).suspicious_ip
    assert (stored.enabled, stored.max_attempts) == (True, 100)


@pytest.mark.parametrize(
    ("path", "body", "code", "message"),
    [
        (BRUTE, {"max_attempts": 0}, "invalid_body", "max_attempts"),
        (BRUTE, {"max_attempts": "ten"}, "invalid_body", "max_attempts"),
        (BRUTE, {"mode": "count_per_identifier"}, "invalid_body", "count_per_identifier is not supported"),
        (BRUTE, {"shields": ["captcha"]}, "invalid_body", "shields"),
        (BRUTE, {"allowlist": ["not-an-ip"]}, "invalid_allowlist", "not an IP address"),
        (
            BRUTE,
            {"block_duration_seconds": 5},
            "invalid_body",
            "Additional properties not allowed: block_duration_seconds",
        ),
        (BRUTE, [], "invalid_body", "Expected type object"),
        (
            SUSPICIOUS,
            {"stage": {"pre-login": {"max_attempts": 2, "rate": 31536000000}}},
            "invalid_seconds",
            "Durations",
        ),
        (
            SUSPICIOUS,
            {"stage": {"pre-signup": {}}},
            "invalid_body",
            "Additional properties not allowed: pre-signup",
        ),
        (SUSPICIOUS, {"stage": {"pre-login": {"max_attempts": -1}}}, "invalid_body", "max_attempts"),
        (SUSPICIOUS, {"enabled": "yes please"}, "invalid_body", "enabled"),
    ],
)
def test_bad_input_is_refused_in_auth0_shape(mgmt, path, body, code, message):
    # given
    before = _stored(mgmt.tenant)
    # when
    response = mgmt.call("PATCH", path, json=body)
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.text
    assert response.json()["errorCode"] == code
    assert message in response.json()["message"]
    assert _stored(mgmt.tenant) == before


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", BRUTE, "read:attack_protection"),
        ("PATCH", BRUTE, "update:attack_protection"),
        ("GET", SUSPICIOUS, "read:attack_protection"),
        ("PATCH", SUSPICIOUS, "update:attack_protection"),
    ],
)
def test_each_operation_needs_its_scope(mgmt, method, path, scope):
    # given
    other = {"read:attack_protection": "update:attack_protection"}.get(scope, "read:attack_protection")
    # when
    response = mgmt.call(method, path, json={"enabled": False}, token=mgmt.token([other]))
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert scope in response.json()["message"]
    assert _stored(mgmt.tenant).brute_force.enabled is True


def test_another_tenants_token_is_refused(mgmt, other_mgmt):
    # when
    response = mgmt.call("PATCH", BRUTE, json={"enabled": False}, token=other_mgmt.token())
    # then
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert _stored(mgmt.tenant).brute_force.enabled is True
