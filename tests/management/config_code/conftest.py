"""Running export_tenant / import_tenant in-process, as an operator would from a shell."""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.accounts.mfa.services import tenant_mfa_policy_set
from apps.apis.models import Api
from apps.management.services import management_api_provision
from apps.tenants.services import (
    tenant_brute_force_protection_set,
    tenant_database_connection_set,
    tenant_dynamic_registration_set,
    tenant_refresh_token_lifetimes_set,
    tenant_suspicious_ip_throttling_set,
    tenant_update,
)
from tests.factories import (
    ApiFactory,
    ApplicationFactory,
    ClientGrantFactory,
    RoleFactory,
    TenantFactory,
    TokenRuleFactory,
)


@dataclass
class Output:
    stdout: str
    stderr: str


def export(slug: str, *args: str) -> str:
    out = StringIO()
    call_command("export_tenant", slug, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def import_file(path: Path, slug: str, *args: str) -> Output:
    out, err = StringIO(), StringIO()
    call_command("import_tenant", str(path), "--tenant", slug, *args, stdout=out, stderr=err)
    return Output(out.getvalue(), err.getvalue())


def provisioned_tenant(**kwargs):
    """A tenant as ``create_tenant`` makes it: keys, Management API and management client."""
    tenant = TenantFactory(**kwargs)
    management_api_provision(tenant=tenant)
    return tenant


@pytest.fixture
def configured_tenant():
    """A tenant with one of everything the file describes, and every setting away from its default."""
    tenant = provisioned_tenant()
    tenant_update(tenant=tenant, default_audience="https://things.example.com")
    tenant_dynamic_registration_set(tenant=tenant, enabled=True)
    tenant_refresh_token_lifetimes_set(tenant=tenant, absolute_seconds=86_400, inactivity_seconds=3_600)
    tenant_brute_force_protection_set(
        tenant=tenant, enabled=False, max_attempts=5, block_duration_seconds=600, allowlist=["10.0.0.0/8"]
    )
    tenant_suspicious_ip_throttling_set(
        tenant=tenant, enabled=True, max_attempts=50, window_seconds=3_600, allowlist=["192.0.2.1"]
    )
    tenant_mfa_policy_set(tenant=tenant, policy="always")
    tenant_database_connection_set(tenant=tenant, name="Staff")
    things = ApiFactory(
        tenant=tenant,
        name="Things",
        identifier="https://things.example.com",
        token_lifetime=600,
        rbac_enabled=True,
        add_permissions_in_token=True,
    )
    ApiFactory(tenant=tenant, name="Signed", identifier="urn:signed", signing_alg=Api.SigningAlgorithm.HS256)
    worker = ApplicationFactory(tenant=tenant, name="Worker")
    ApplicationFactory(
        tenant=tenant,
        name="Web",
        app_type="regular_web",
        callbacks=["https://web.example.com/cb"],
        logout_urls=["https://web.example.com/"],
        description="The web app",
    )
    ClientGrantFactory(application=worker, api=things, scopes=["read:things", "write:things"])
    RoleFactory(
        tenant=tenant,
        name="Reader",
        description="Reads",
        permissions=list(things.scopes.filter(value="read:things")),
    )
    TokenRuleFactory(tenant=tenant, name="Plan claim", application=worker, api=things)
    TokenRuleFactory(tenant=tenant, name="Deny web", claims={}, action="deny", deny_message="No web tokens")
    return tenant
