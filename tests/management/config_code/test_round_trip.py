"""Export -> import reproduces a tenant; importing what is already there changes nothing."""

from __future__ import annotations

import json

import pytest
import yaml
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError

from apps.apis.models import Api
from apps.applications.models import Application
from apps.audit.models import AuditEvent
from apps.grants.models import ClientGrant
from apps.management.config_code.apply import MSG_NO_MANAGEMENT_API, MSG_SYSTEM_API
from apps.management.config_code.export import tenant_config_export, tenant_settings_export
from apps.management.config_code.keywords import MANAGEMENT_API
from apps.management.config_code.plan import NO_CHANGES
from apps.management.services import management_audience
from apps.token_rules.models import TokenRule
from tests.factories import (
    ApplicationFactory,
    ClientGrantFactory,
    RoleFactory,
    TenantFactory,
    TokenRuleFactory,
)
from tests.management.config_code.conftest import export, import_file, provisioned_tenant

pytestmark = pytest.mark.django_db


def _without_client_ids(config: dict) -> dict:
    """The parts that must match across tenants (client ids are generated per tenant)."""
    config = json.loads(json.dumps(config))
    for application in config["applications"]:
        application.pop("client_id")
    return config


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_then_import_into_a_fresh_tenant_reproduces_it(configured_tenant, tmp_path, fmt):
    # given the configured tenant's export, in either format
    path = tmp_path / f"config.{fmt}"
    path.write_text(export(configured_tenant.slug, "--format", fmt))
    fresh = provisioned_tenant()
    # when it is imported into a fresh tenant
    output = import_file(path, fresh.slug)
    # then the fresh tenant exports the same configuration
    fresh.refresh_from_db()
    original = _without_client_ids(tenant_config_export(tenant=configured_tenant))
    copied = _without_client_ids(tenant_config_export(tenant=fresh))
    assert copied == original
    # (2 APIs, 2 applications, 1 grant, 1 role, 2 rules; the tenant's name and settings)
    assert output.stdout.splitlines()[-1] == "8 to create, 1 to change, 0 to delete."


def test_the_file_is_yaml_by_default_and_json_by_extension(configured_tenant, tmp_path):
    # when exported without options, and to a .json file
    text = export(configured_tenant.slug)
    target = tmp_path / "demo.json"
    export(configured_tenant.slug, "--output", str(target))
    # then the first is YAML (not JSON) and the second is JSON, with the same data
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert yaml.safe_load(text) == json.loads(target.read_text())


def test_importing_a_tenants_own_export_changes_nothing(configured_tenant, tmp_path):
    # given its export
    path = tmp_path / "config.yaml"
    path.write_text(export(configured_tenant.slug))
    events = AuditEvent.objects.filter(tenant=configured_tenant).count()
    # when imported into the same tenant
    output = import_file(path, configured_tenant.slug)
    # then nothing changes, and nothing is recorded
    assert output.stdout.strip().endswith(NO_CHANGES)
    assert AuditEvent.objects.filter(tenant=configured_tenant).count() == events


def test_a_second_import_after_a_real_one_changes_nothing(configured_tenant, tmp_path):
    # given an edited export (a scope changed, an API added, a role removed, settings changed)
    config = yaml.safe_load(export(configured_tenant.slug))
    config["apis"][1]["scopes"].append({"value": "audit:things", "description": "Audit"})
    config["apis"].append({"identifier": "https://new.example.com", "name": "New", "scopes": []})
    config["roles"] = []
    config["tenant"]["settings"]["brute_force_protection"]["allowlist"] = ["10.1.2.3/32"]
    config["tenant"]["settings"]["mfa_policy"] = "never"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    first = import_file(path, configured_tenant.slug)
    assert "No changes." not in first.stdout
    # when the same file is imported again
    second = import_file(path, configured_tenant.slug)
    # then it changes nothing (the allowlist is compared as the service stores it: 10.1.2.3)
    assert second.stdout.strip().endswith(NO_CHANGES)


def test_tenant_settings_round_trip(configured_tenant, tmp_path):
    # given the settings of a tenant whose every setting differs from the defaults
    path = tmp_path / "config.yaml"
    path.write_text(export(configured_tenant.slug))
    fresh = provisioned_tenant()
    defaults = tenant_settings_export(tenant=fresh)
    # when imported into a fresh tenant
    import_file(path, fresh.slug)
    # then the fresh tenant has them all, and they were not the defaults
    fresh.refresh_from_db()
    assert tenant_settings_export(tenant=fresh) == tenant_settings_export(tenant=configured_tenant)
    assert tenant_settings_export(tenant=fresh) != defaults
    assert fresh.default_audience == "https://things.example.com"
    assert tenant_settings_export(tenant=fresh)["mfa_policy"] == "always"


def test_secrets_are_never_in_the_export(configured_tenant):
    # given the tenant's applications' stored secret hashes and the HS256 API's secret
    hashes = list(
        Application.objects.filter(tenant=configured_tenant).values_list("client_secret", flat=True)
    )
    api = Api.objects.get(tenant=configured_tenant, identifier="urn:signed")
    from apps.apis.services import api_signing_secret

    signing_secret = api_signing_secret(api=api)
    # when exported in both formats
    texts = [export(configured_tenant.slug), export(configured_tenant.slug, "--format", "json")]
    # then no secret, hash or secret-named key appears
    for text in texts:
        data = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
        assert "secret" not in data.replace("client_secret_post", "").replace("client_secret_basic", "")
        assert signing_secret not in text
        for stored in hashes:
            assert stored not in text
            assert stored.split("$")[-1] not in text


def test_system_objects_are_left_out_and_never_deleted(configured_tenant, tmp_path):
    # given an export: no Management API, no management client
    config = yaml.safe_load(export(configured_tenant.slug))
    assert all(not api["identifier"].endswith("/api/v2/") for api in config["apis"])
    assert "Portcullis Management Client" not in {app["name"] for app in config["applications"]}
    # when a file with no APIs, applications or grants is imported
    path = tmp_path / "empty.yaml"
    path.write_text(yaml.safe_dump({"apis": [], "applications": [], "client_grants": []}))
    import_file(path, configured_tenant.slug)
    # then only the tenant's own objects went; the system ones stay
    assert list(Api.objects.filter(tenant=configured_tenant).values_list("is_system", flat=True)) == [True]
    assert list(Application.objects.filter(tenant=configured_tenant).values_list("is_system", flat=True)) == [
        True
    ]


def test_references_to_the_management_api_move_to_another_tenant(configured_tenant, tmp_path):
    # given tenant A with an application granted part of A's Management API, a role holding one of
    # its scopes and a token rule for it; and A's export
    system_api = Api.objects.get(tenant=configured_tenant, is_system=True)
    worker = Application.objects.get(tenant=configured_tenant, name="Worker")
    ClientGrantFactory(application=worker, api=system_api, scopes=["read:clients", "read:logs"])
    RoleFactory(
        tenant=configured_tenant,
        name="Auditor",
        permissions=list(system_api.scopes.filter(value="read:logs")),
    )
    TokenRuleFactory(
        tenant=configured_tenant, name="Management tokens", api=system_api, claims={"https://x/m": "1"}
    )
    text = export(configured_tenant.slug)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    fresh = provisioned_tenant()
    # when it is imported into a fresh tenant B, then planned again
    first = import_file(path, fresh.slug)
    again = import_file(path, fresh.slug, "--dry-run")
    # then the file names no tenant's Management API but the keyword; B's objects refer to B's own
    assert system_api.identifier not in text and f"api: '{MANAGEMENT_API}'" in text
    assert "No changes." not in first.stdout
    grant = ClientGrant.objects.get(tenant=fresh, application__name="Worker", api__is_system=True)
    assert grant.api.identifier == management_audience(fresh) != system_api.identifier
    assert sorted(grant.scopes) == ["read:clients", "read:logs"]
    auditor = fresh.roles.get(name="Auditor")
    assert [(s.api.identifier, s.value) for s in auditor.permissions.all()] == [
        (grant.api.identifier, "read:logs")
    ]
    assert TokenRule.objects.get(tenant=fresh, name="Management tokens").api == grant.api
    # and a second import has nothing left to do; B exports what A did
    assert again.stdout.strip().endswith(NO_CHANGES)
    fresh.refresh_from_db()
    assert _without_client_ids(tenant_config_export(tenant=fresh)) == _without_client_ids(
        tenant_config_export(tenant=configured_tenant)
    )


def test_the_management_api_itself_cannot_be_imported(configured_tenant, tmp_path):
    # given a file listing the Management API as an API of its own (by keyword or by identifier)
    identifier = Api.objects.get(tenant=configured_tenant, is_system=True).identifier
    for named in (MANAGEMENT_API, identifier):
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump({"apis": [{"identifier": named, "name": "Mine now"}]}))
        # when / then: refused, naming the entry, and nothing changed
        with pytest.raises(CommandError) as refused:
            import_file(path, configured_tenant.slug)
        assert f"apis {identifier!r}, field 'identifier': {MSG_SYSTEM_API}" in str(refused.value)
    assert Api.objects.get(tenant=configured_tenant, is_system=True).name == "Portcullis Management API"


def test_another_tenants_literal_management_api_is_refused_with_a_hint(configured_tenant, tmp_path):
    # given a grant naming another tenant's Management API by its identifier (an older export)
    other = provisioned_tenant()
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump({"client_grants": [{"application": "Worker", "api": management_audience(other)}]})
    )
    # when / then
    with pytest.raises(CommandError) as refused:
        import_file(path, configured_tenant.slug)
    assert f"write {MANAGEMENT_API}: it names this tenant's own" in str(refused.value)


def test_the_keyword_in_a_tenant_without_a_management_api_is_refused(tmp_path):
    # given a tenant without a Management API, and a file granting its application the keyword
    tenant = TenantFactory()
    ApplicationFactory(tenant=tenant, name="Worker")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"client_grants": [{"application": "Worker", "api": MANAGEMENT_API}]}))
    # when / then
    with pytest.raises(CommandError) as refused:
        import_file(path, tenant.slug)
    assert f"field 'api': {MSG_NO_MANAGEMENT_API}" in str(refused.value)


def test_a_created_applications_secret_is_printed_once_and_works(configured_tenant, tmp_path):
    # given a file adding an M2M application
    config = {
        "applications": [
            {"name": "Worker"},
            {"name": "Web", "app_type": "regular_web"},
            {"name": "Cron", "app_type": "non_interactive"},
        ]
    }
    config["applications"][0]["app_type"] = "non_interactive"
    path = tmp_path / "apps.json"
    path.write_text(json.dumps(config))
    # when imported
    output = import_file(path, configured_tenant.slug)
    # then the secret of the new application is on stderr only, and it is that application's secret
    cron = Application.objects.get(tenant=configured_tenant, name="Cron")
    line = next(line for line in output.stderr.splitlines() if "'Cron'" in line)
    secret = line.split("client_secret ")[1].split(" ")[0]
    assert cron.client_id in line
    assert check_password(secret, cron.client_secret)
    assert secret not in output.stdout
    assert output.stderr.count("client_secret ") == 1


def test_no_delete_keeps_what_the_file_does_not_name(configured_tenant, tmp_path):
    # given a file naming no roles and only one token rule
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"roles": [], "token_rules": [{"name": "Deny web"}]}))
    # when imported with --no-delete
    output = import_file(path, configured_tenant.slug, "--no-delete")
    # then the role and the other rule stay; the named rule now runs first
    assert configured_tenant.roles.count() == 1
    assert "delete" not in output.stdout.split("to change,")[0]
    from apps.token_rules.selectors import token_rule_list

    assert [rule.name for rule in token_rule_list(tenant=configured_tenant)] == ["Deny web", "Plan claim"]


def test_an_application_renamed_in_the_file_is_renamed_not_replaced(configured_tenant, tmp_path):
    # given the export with the application "Worker" renamed (its client_id kept)
    config = yaml.safe_load(export(configured_tenant.slug))
    worker = next(app for app in config["applications"] if app["name"] == "Worker")
    worker["name"] = "Batch worker"
    for grant in config["client_grants"]:
        grant["application"] = "Batch worker"
    for rule in config["token_rules"]:
        if rule["application"] == "Worker":
            rule["application"] = "Batch worker"
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    # when imported
    output = import_file(path, configured_tenant.slug)
    # then the same client (same id, its grant and rule kept) has the new name; no secret was issued
    renamed = Application.objects.get(tenant=configured_tenant, client_id=worker["client_id"])
    assert renamed.name == "Batch worker"
    assert renamed.client_grants.count() == 1
    assert '      name: "Worker" -> "Batch worker"\n' in output.stdout
    assert output.stdout.splitlines()[-1] == "0 to create, 1 to change, 0 to delete."
    assert output.stderr == ""
