"""The tenant's dynamic-client-registration switch, kept in ``Tenant.settings``."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.tenants.models import Tenant
from apps.tenants.selectors import tenant_dynamic_registration_enabled, tenant_get_by_slug
from apps.tenants.services import tenant_dynamic_registration_set
from tests.factories import TenantFactory


@pytest.mark.parametrize(
    ("tenant_settings", "enabled"),
    [
        ({}, False),
        ({"enable_dynamic_client_registration": False}, False),
        ({"enable_dynamic_client_registration": "true"}, False),
        ({"enable_dynamic_client_registration": 1}, False),
        ({"enable_dynamic_client_registration": True}, True),
    ],
)
def test_only_a_json_true_opens_registration(tenant_settings, enabled):
    tenant = Tenant(slug="t", name="T", settings=tenant_settings)
    assert tenant_dynamic_registration_enabled(tenant=tenant) is enabled


def test_setting_the_switch_keeps_other_settings_and_reaches_the_cached_tenant(db):
    # given a tenant with another setting, already resolved (and cached) by a request
    tenant = TenantFactory()
    Tenant.objects.filter(pk=tenant.pk).update(settings={"other": {"kept": True}})
    assert not tenant_dynamic_registration_enabled(tenant=tenant_get_by_slug(slug=tenant.slug))
    # when registration is turned on
    tenant_dynamic_registration_set(tenant=tenant, enabled=True)
    # then only its key changed, and the next request sees it
    tenant.refresh_from_db()
    assert tenant.settings == {"other": {"kept": True}, "enable_dynamic_client_registration": True}
    assert tenant_dynamic_registration_enabled(tenant=tenant_get_by_slug(slug=tenant.slug))
    event = AuditEvent.objects.get(type=AuditEvent.Type.TENANT_UPDATED, tenant=tenant)
    assert (event.actor, event.data) == (
        None,
        {"changed": ["settings.enable_dynamic_client_registration"], "enabled": True},
    )
