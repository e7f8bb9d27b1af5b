"""A tenant's attack-protection settings: Auth0's defaults, the services' checks, tolerant reads."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.tenants.models import Tenant
from apps.tenants.selectors import (
    AttackProtection,
    BruteForceProtection,
    SuspiciousIpThrottling,
    attack_protection_of,
    tenant_attack_protection,
    tenant_get_by_slug,
)
from apps.tenants.services import (
    AttackProtectionErrorCode,
    tenant_brute_force_protection_set,
    tenant_dynamic_registration_set,
    tenant_suspicious_ip_throttling_set,
)
from tests.factories import TenantFactory


def test_a_new_tenant_has_auth0s_defaults(db):
    protection = tenant_attack_protection(tenant=TenantFactory())
    assert protection == AttackProtection(
        brute_force=BruteForceProtection(enabled=True, max_attempts=10, block_duration_seconds=30 * 86400),
        suspicious_ip=SuspiciousIpThrottling(enabled=True, max_attempts=100, window_seconds=86400),
    )


def test_settings_are_stored_keeping_other_keys_and_reach_the_cached_tenant(db):
    # given a tenant with another setting, resolved (and cached) as a request would
    tenant = TenantFactory()
    tenant_dynamic_registration_set(tenant=tenant, enabled=True)
    assert tenant_get_by_slug(slug=tenant.slug) is not None
    # when both protections are configured
    tenant_brute_force_protection_set(
        tenant=tenant,
        enabled=False,
        max_attempts=3,
        block_duration_seconds=60,
        allowlist=[" 192.0.2.1 ", "10.0.0.0/8"],
    )
    tenant_suspicious_ip_throttling_set(
        tenant=tenant,
        enabled=True,
        max_attempts=7,
        window_seconds=600,
        allowlist=["2001:db8::/32", "2001:db8::/32"],
    )
    # then the row holds them next to the other setting, canonical and deduplicated
    stored = Tenant.objects.get(pk=tenant.pk).settings
    assert stored["enable_dynamic_client_registration"] is True
    assert stored["brute_force_protection"] == {
        "enabled": False,
        "max_attempts": 3,
        "block_duration_seconds": 60,
        "allowlist": ["192.0.2.1", "10.0.0.0/8"],
    }
    assert stored["suspicious_ip_throttling"]["allowlist"] == ["2001:db8::/32"]
    # and the next request's tenant sees them (the config cache was invalidated)
    cached = tenant_attack_protection(tenant=tenant_get_by_slug(slug=tenant.slug))
    assert (cached.brute_force.enabled, cached.suspicious_ip.max_attempts) == (False, 7)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"max_attempts": 0}, AttackProtectionErrorCode.INVALID_ATTEMPTS),
        ({"max_attempts": 101}, AttackProtectionErrorCode.INVALID_ATTEMPTS),
        ({"max_attempts": True}, AttackProtectionErrorCode.INVALID_ATTEMPTS),
        ({"block_duration_seconds": 0}, AttackProtectionErrorCode.INVALID_SECONDS),
        ({"block_duration_seconds": 366 * 86400}, AttackProtectionErrorCode.INVALID_SECONDS),
        ({"allowlist": ["10.0.0.0/8", "example.com"]}, AttackProtectionErrorCode.INVALID_ALLOWLIST),
        ({"allowlist": [f"10.0.0.{n}" for n in range(101)]}, AttackProtectionErrorCode.INVALID_ALLOWLIST),
    ],
)
def test_brute_force_settings_out_of_bounds_are_refused(db, kwargs, code):
    tenant = TenantFactory()
    arguments = {"enabled": True, "max_attempts": 10, "block_duration_seconds": 60} | kwargs
    with pytest.raises(ValidationError) as refused:
        tenant_brute_force_protection_set(tenant=tenant, **arguments)
    assert refused.value.code == code
    assert "brute_force_protection" not in Tenant.objects.get(pk=tenant.pk).settings


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"max_attempts": -1}, AttackProtectionErrorCode.INVALID_ATTEMPTS),
        ({"window_seconds": 0}, AttackProtectionErrorCode.INVALID_SECONDS),
        ({"allowlist": ["300.1.1.1"]}, AttackProtectionErrorCode.INVALID_ALLOWLIST),
    ],
)
def test_throttling_settings_out_of_bounds_are_refused(db, kwargs, code):
    tenant = TenantFactory()
    arguments = {"enabled": True, "max_attempts": 100, "window_seconds": 86400} | kwargs
    with pytest.raises(ValidationError) as refused:
        tenant_suspicious_ip_throttling_set(tenant=tenant, **arguments)
    assert refused.value.code == code


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "garbage",
        {"brute_force_protection": "yes"},
        {"brute_force_protection": {"enabled": "no", "max_attempts": "5", "block_duration_seconds": -1}},
        {"suspicious_ip_throttling": {"enabled": 0, "allowlist": "10.0.0.0/8", "window_seconds": 1.5}},
    ],
)
def test_hand_edited_values_of_the_wrong_type_mean_the_defaults(stored):
    # only a JSON false turns a protection off; anything unreadable keeps Auth0's defaults
    assert attack_protection_of(stored) == AttackProtection(
        brute_force=BruteForceProtection(), suspicious_ip=SuspiciousIpThrottling()
    )
