"""Tenants from an earlier version get this version's Management API scopes: the service,
``bootstrap_demo``, ``create_tenant`` on an existing slug, and the data migration."""

from __future__ import annotations

import importlib
import io

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command

from apps.apis.models import Api, Scope
from apps.apis.services import api_scopes_set
from apps.grants.models import ClientGrant
from apps.management.services import MANAGEMENT_SCOPES, management_api_provision, management_api_sync
from apps.tenants.models import Tenant
from tests.factories import TenantFactory

OLD_SCOPES = ["read:clients", "create:clients", "read:client_grants"]


def _downgrade(tenant) -> tuple[Api, ClientGrant]:
    """Make the tenant look like one provisioned before these endpoints: fewer scopes, narrower grant."""
    api = Api.objects.get(tenant=tenant, is_system=True)
    Scope.objects.filter(api=api).exclude(value__in=OLD_SCOPES).delete()
    grant = ClientGrant.objects.get(api=api, application__is_system=True)
    grant.scopes = ["read:clients"]
    grant.save()
    return api, grant


def _state(api: Api, grant: ClientGrant) -> tuple[list[str], list[str]]:
    grant.refresh_from_db()
    return sorted(api.scopes.values_list("value", flat=True)), sorted(grant.scopes)


@pytest.fixture
def old_tenant(db):
    tenant = TenantFactory()
    management_api_provision(tenant=tenant)
    return tenant


def test_sync_adds_missing_scopes_and_is_idempotent(old_tenant):
    # given
    api, grant = _downgrade(old_tenant)

    # when
    first = management_api_sync(tenant=old_tenant)
    second = management_api_sync(tenant=old_tenant)

    # then
    assert _state(api, grant) == (sorted(MANAGEMENT_SCOPES), sorted(MANAGEMENT_SCOPES))
    assert sorted(first.api_scopes_added) == sorted(set(MANAGEMENT_SCOPES) - set(OLD_SCOPES))
    assert sorted(first.grant_scopes_added) == sorted(set(MANAGEMENT_SCOPES) - {"read:clients"})
    assert (second.api_scopes_added, second.grant_scopes_added) == ([], [])


def test_sync_keeps_what_an_operator_added(old_tenant):
    # given: an extra scope on the system API, granted to the management client
    api, grant = _downgrade(old_tenant)
    api_scopes_set(
        api=api, scopes={**dict(api.scopes.values_list("value", "description")), "custom:thing": ""}
    )
    grant.scopes = [*grant.scopes, "custom:thing"]
    grant.save()

    # when
    management_api_sync(tenant=old_tenant)

    # then
    scopes, granted = _state(api, grant)
    assert "custom:thing" in scopes and "custom:thing" in granted


def test_sync_of_tenant_without_management_api_does_nothing(db):
    # given
    tenant = TenantFactory()

    # when
    result = management_api_sync(tenant=tenant)

    # then
    assert (result.api_scopes_added, result.grant_scopes_added) == ([], [])
    assert not Api.objects.filter(tenant=tenant).exists()


def test_create_tenant_on_existing_slug_syncs_and_refuses(old_tenant):
    # given
    api, grant = _downgrade(old_tenant)

    # when
    with pytest.raises(CommandError) as refused:
        call_command("create_tenant", old_tenant.slug, stdout=io.StringIO())

    # then
    assert "already exists" in str(refused.value) and "read:users" in str(refused.value)
    assert _state(api, grant) == (sorted(MANAGEMENT_SCOPES), sorted(MANAGEMENT_SCOPES))
    assert Tenant.objects.filter(slug=old_tenant.slug).count() == 1


def test_bootstrap_demo_syncs_the_demo_tenant(db, tmp_path):
    # given: a demo tenant from an earlier version
    path = tmp_path / "demo.json"
    call_command("bootstrap_demo", "--output", str(path), stdout=io.StringIO())
    api, grant = _downgrade(Tenant.objects.get(slug="demo"))

    # when
    call_command("bootstrap_demo", "--output", str(path), stdout=io.StringIO())

    # then
    assert _state(api, grant) == (sorted(MANAGEMENT_SCOPES), sorted(MANAGEMENT_SCOPES))


# Every data migration that adds Management API scopes, oldest first; together, this version's list.
SCOPE_MIGRATIONS = [
    "apps.grants.migrations.0004_management_api_sync",
    "apps.management.migrations.0001_role_members_scopes",
]


def test_data_migrations_add_the_scopes_of_their_frozen_lists(old_tenant):
    # given
    api, grant = _downgrade(old_tenant)
    migrations = [importlib.import_module(name) for name in SCOPE_MIGRATIONS]

    # when: each run twice, as a re-applied migration would
    for migration in migrations:
        migration.add_missing_scopes(django_apps, None)
        migration.add_missing_scopes(django_apps, None)

    # then
    assert {scope: d for m in migrations for scope, d in m.SCOPES.items()} == MANAGEMENT_SCOPES  # update both
    assert _state(api, grant) == (sorted(MANAGEMENT_SCOPES), sorted(MANAGEMENT_SCOPES))


def test_the_role_member_scopes_reach_a_tenant_from_before_them(old_tenant):
    # given a tenant whose Management API has every scope but Auth0's role-member ones
    api = Api.objects.get(tenant=old_tenant, is_system=True)
    grant = ClientGrant.objects.get(api=api, application__is_system=True)
    role_members = ["read:role_members", "create:role_members", "delete:role_members"]
    Scope.objects.filter(api=api, value__in=role_members).delete()
    grant.scopes = [scope for scope in grant.scopes if scope not in role_members]
    grant.save()
    migration = importlib.import_module(SCOPE_MIGRATIONS[-1])

    # when the migration runs
    migration.add_missing_scopes(django_apps, None)

    # then the API defines them and the management client is granted them
    grant.refresh_from_db()
    assert set(role_members) <= set(api.scopes.values_list("value", flat=True))
    assert set(role_members) <= set(grant.scopes)
