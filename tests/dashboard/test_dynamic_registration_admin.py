"""Dynamic client registration in the admin: the tenant switch, and registered applications marked."""

from __future__ import annotations

import re
from http import HTTPStatus

from django.contrib.auth.models import Permission
from django.test import Client

from apps.accounts.services import portal_admin_create
from apps.audit.models import AuditEvent
from apps.oauth.registration.metadata import ClientMetadata
from apps.oauth.registration.services import client_register
from apps.tenants.selectors import tenant_dynamic_registration_enabled
from apps.tenants.services import tenant_dynamic_registration_set
from tests.dashboard.conftest import PORTAL_PASSWORD, admin_url, attack_protection_form

CHECKBOX = 'name="allow_dynamic_client_registration"'


def _registered(tenant):
    metadata = ClientMetadata(
        client_name="Partner Portal",
        redirect_uris=("https://partner.example.com/cb",),
        grant_types=("authorization_code",),
        response_types=("code",),
        token_endpoint_auth_method="client_secret_basic",
        application_type="web",
    )
    return client_register(tenant=tenant, metadata=metadata, ip="192.0.2.7").application


def _change_form(tenant, **overrides) -> dict:
    return (
        {"name": tenant.name, "default_audience": tenant.default_audience}
        | attack_protection_form(tenant)
        | overrides
    )


def test_tenant_admin_turns_registration_on_and_off(portal_client, portal_admin, alpha):
    # given alpha, closed by default; its page shows the switch unticked
    page = portal_client.get(admin_url("tenants_tenant_change", alpha.tenant.pk)).content.decode()
    assert "Allow dynamic client registration" in page
    assert re.search(rf"<input[^>]*{CHECKBOX}[^>]*>", page).group(0).count("checked") == 0
    # when its admin ticks it
    response = portal_client.post(
        admin_url("tenants_tenant_change", alpha.tenant.pk),
        _change_form(alpha.tenant, allow_dynamic_client_registration="on"),
    )
    # then registration is open, through the service, audited with the admin as actor
    assert response.status_code == HTTPStatus.FOUND
    alpha.tenant.refresh_from_db()
    assert tenant_dynamic_registration_enabled(tenant=alpha.tenant)
    event = AuditEvent.objects.get(type=AuditEvent.Type.TENANT_UPDATED, tenant=alpha.tenant)
    assert (event.actor, event.data) == (
        portal_admin,
        {"changed": ["settings.enable_dynamic_client_registration"], "enabled": True},
    )
    page = portal_client.get(admin_url("tenants_tenant_change", alpha.tenant.pk)).content.decode()
    assert "checked" in re.search(rf"<input[^>]*{CHECKBOX}[^>]*>", page).group(0)
    # when they untick it
    portal_client.post(admin_url("tenants_tenant_change", alpha.tenant.pk), _change_form(alpha.tenant))
    # then it is closed again
    alpha.tenant.refresh_from_db()
    assert not tenant_dynamic_registration_enabled(tenant=alpha.tenant)


def test_saving_the_tenant_without_touching_the_switch_changes_no_setting(portal_client, alpha):
    # given alpha with registration open
    tenant_dynamic_registration_set(tenant=alpha.tenant, enabled=True)
    # when its admin renames it, leaving the switch ticked
    portal_client.post(
        admin_url("tenants_tenant_change", alpha.tenant.pk),
        _change_form(alpha.tenant, name="Alpha Corporation", allow_dynamic_client_registration="on"),
    )
    # then only the name change is recorded, and registration stays open
    alpha.tenant.refresh_from_db()
    assert tenant_dynamic_registration_enabled(tenant=alpha.tenant)
    assert list(
        AuditEvent.objects.filter(type=AuditEvent.Type.TENANT_UPDATED, tenant=alpha.tenant)
        .order_by("created_at")
        .values_list("data", flat=True)
    ) == [
        {"changed": ["settings.enable_dynamic_client_registration"], "enabled": True},
        {"changed": ["name"]},
    ]


def test_view_only_user_sees_the_switch_without_a_checkbox(alpha):
    # given a staff user who may only view alpha
    user = portal_admin_create(username="viewer", password=PORTAL_PASSWORD, tenants=[alpha.tenant])
    user.groups.clear()
    user.user_permissions.add(Permission.objects.get(codename="view_tenant"))
    tenant_dynamic_registration_set(tenant=alpha.tenant, enabled=True)
    client = Client()
    client.force_login(user)
    # when they open the tenant
    response = client.get(admin_url("tenants_tenant_change", alpha.tenant.pk))
    # then the setting is shown, read-only
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "Allow dynamic client registration" in page and CHECKBOX not in page
    assert 'alt="True"' in page


def test_registered_applications_are_marked_in_the_list_and_filterable(portal_client, alpha):
    # given alpha's own application and one registered dynamically
    registered = _registered(alpha.tenant)
    url = admin_url("applications_application_changelist")
    # when the admin lists applications
    page = portal_client.get(url).content.decode()
    # then there is a "Registered dynamically" column, true for the registered one only
    assert "Registered dynamically" in page
    rows = {row.group(1): row.group(0) for row in re.finditer(r"<tr>.*?/(\d+)/change/.*?</tr>", page, re.S)}
    assert 'alt="True"' in rows[str(registered.pk)].split("field-registered_dynamically")[1]
    assert 'alt="False"' in rows[str(alpha.application.pk)].split("field-registered_dynamically")[1]
    # and the filter keeps only registered applications
    filtered = portal_client.get(url, {"is_dynamically_registered__exact": "1"}).content.decode()
    assert "registered dynamically" in filtered.lower()
    assert admin_url("applications_application_change", registered.pk) in filtered
    assert admin_url("applications_application_change", alpha.application.pk) not in filtered
    # and the application's own page says so, read-only
    detail = portal_client.get(admin_url("applications_application_change", registered.pk)).content.decode()
    assert "Registered dynamically" in detail and 'name="is_dynamically_registered"' not in detail
