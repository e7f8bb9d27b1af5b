"""The dry-run plan names each change with its verb and fields and writes nothing; a bad file writes nothing."""

from __future__ import annotations

import json

import pytest
import yaml
from django.core.management import CommandError

from apps.accounts.models import Role
from apps.apis.models import Api, Scope
from apps.audit.models import AuditEvent
from apps.management.config_code.apply import MSG_NO_SUCH_APPLICATION, MSG_SYSTEM_API
from apps.management.config_code.plan import UPDATE, Change, Plan, plan_render
from apps.management.config_code.schema import MSG_DUPLICATE, MSG_UNKNOWN_KEYS
from apps.management.services import management_audience
from apps.tenants.models import Tenant
from apps.token_rules.models import MSG_DENY_MESSAGE_REQUIRED
from tests.factories import ApplicationFactory
from tests.management.config_code.conftest import export, import_file, provisioned_tenant

pytestmark = pytest.mark.django_db


def _snapshot(tenant: Tenant) -> dict:
    """Everything an import could write, to compare before and after."""
    return {
        "apis": sorted(Api.objects.filter(tenant=tenant).values_list("identifier", "name", "token_lifetime")),
        "scopes": sorted(
            Scope.objects.filter(tenant=tenant).values_list("api__identifier", "value", "description")
        ),
        "roles": sorted(Role.objects.filter(tenant=tenant).values_list("name", flat=True)),
        "applications": sorted(tenant.applications.values_list("name", "client_secret")),
        "grants": sorted(tenant.client_grants.values_list("application__name", "api__identifier", "scopes")),
        "audit": AuditEvent.objects.filter(tenant=tenant).count(),
        "settings": Tenant.objects.get(pk=tenant.pk).settings,
    }


def _write(tmp_path, config: dict, name: str = "config.yaml"):
    path = tmp_path / name
    path.write_text(json.dumps(config) if name.endswith(".json") else yaml.safe_dump(config, sort_keys=False))
    return path


def test_dry_run_shows_each_change_with_its_verb_and_writes_nothing(configured_tenant, tmp_path):
    # given an edited export: a scope's description changed and one removed, an API added, a role removed
    config = yaml.safe_load(export(configured_tenant.slug))
    things = next(api for api in config["apis"] if api["identifier"] == "https://things.example.com")
    things["scopes"] = [
        {"value": "read:things", "description": "Read every thing"},
        {"value": "write:things", "description": "Write things"},
    ]
    config["apis"].append({"identifier": "https://new.example.com", "name": "New", "scopes": []})
    config["roles"] = []
    config["tenant"]["settings"]["refresh_token"]["idle_token_lifetime"] = 7_200
    before = _snapshot(configured_tenant)
    # when imported with --dry-run
    output = import_file(_write(tmp_path, config), configured_tenant.slug, "--dry-run")
    # then the plan, grouped by kind, says what would happen to what, field by field
    text = output.stdout
    assert "dry run: nothing was changed" in text
    assert "apis:\n" in text and "roles:\n" in text and "tenant:\n" in text
    assert "  ~ update https://things.example.com\n" in text
    assert '      scopes: -["delete:things"]\n' in text
    assert '      scopes[read:things].description: "Read things" -> "Read every thing"\n' in text
    assert "  + create https://new.example.com\n" in text
    assert "  - delete Reader\n" in text
    assert '"idle_token_lifetime": 3600' in text and '"idle_token_lifetime": 7200' in text
    # the removed scope also left the grant: the plan is what the import does, so the grant is unchanged
    assert "client_grants:" not in text
    assert text.splitlines()[-1] == "1 to create, 2 to change, 1 to delete."
    # and nothing was written
    assert _snapshot(configured_tenant) == before
    # when imported for real, the same plan is applied
    applied = import_file(_write(tmp_path, config), configured_tenant.slug)
    assert applied.stdout.splitlines()[-1] == "1 to create, 2 to change, 1 to delete."
    assert not Role.objects.filter(tenant=configured_tenant).exists()
    assert Api.objects.filter(tenant=configured_tenant, identifier="https://new.example.com").exists()


def test_a_bad_entry_is_named_and_nothing_is_written(tmp_path):
    # given a fresh tenant and a file whose third API has a token lifetime the service refuses
    tenant = provisioned_tenant()
    config = {
        "apis": [
            {"identifier": "https://a.example.com", "name": "A"},
            {"identifier": "https://b.example.com", "name": "B"},
            {"identifier": "https://c.example.com", "name": "C", "token_lifetime": 5},
        ],
        "tenant": {"name": "Renamed"},
    }
    before = _snapshot(tenant)
    # when imported
    with pytest.raises(CommandError) as raised:
        import_file(_write(tmp_path, config), tenant.slug)
    # then the error names the kind, the entry and the field, and no API (nor the name) was written
    message = str(raised.value)
    assert "Nothing was imported" in message
    assert "apis 'https://c.example.com', field 'token_lifetime':" in message
    assert _snapshot(tenant) == before
    assert Tenant.objects.get(pk=tenant.pk).name != "Renamed"


def test_a_service_refusal_in_a_later_kind_rolls_back_the_earlier_ones(tmp_path):
    # given a valid API and application, then a deny rule without its message
    tenant = provisioned_tenant()
    config = {
        "apis": [{"identifier": "https://a.example.com", "name": "A"}],
        "applications": [{"name": "Cron", "app_type": "non_interactive"}],
        "token_rules": [{"name": "Deny all", "action": "deny"}],
    }
    before = _snapshot(tenant)
    # when imported (a dry run meets the same refusal)
    for flags in (("--dry-run",), ()):
        with pytest.raises(CommandError) as raised:
            import_file(_write(tmp_path, config), tenant.slug, *flags)
        # then the rule is named with the service's message, and nothing was created
        assert f"token_rules 'Deny all', field 'deny_message': {MSG_DENY_MESSAGE_REQUIRED}" in str(
            raised.value
        )
        assert _snapshot(tenant) == before


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"apis": [{"identifier": "https://a.example.com", "name": "A", "colour": "red"}]},
            "apis 'https://a.example.com': "
            + MSG_UNKNOWN_KEYS.format(
                keys="colour",
                allowed="identifier, name, signing_alg, token_lifetime, "
                "allow_offline_access, skip_consent_for_first_party, rbac_enabled, add_permissions_in_token, scopes",
            ),
        ),
        ({"things": []}, "file: Unknown keys: things."),
        ({"tenant": {"settings": {"mfa": "always"}}}, "tenant, field 'settings': Unknown keys: mfa."),
        ({"apis": [{"identifier": "x", "name": 3}]}, "apis 'x', field 'name': Must be a string."),
        ({"apis": [{"name": "A"}]}, "apis '#1', field 'identifier': Required."),
        ({"roles": [{"name": "A"}, {"name": "a"}]}, f"roles 'a': {MSG_DUPLICATE}"),
        (
            {"client_grants": [{"application": "Ghost", "api": "https://a.example.com"}]},
            "client_grants 'Ghost -> https://a.example.com', field 'application': "
            + MSG_NO_SUCH_APPLICATION.format(name="Ghost"),
        ),
        (
            {"tenant": {"settings": {"mfa_policy": "sometimes"}}},
            "tenant 'TENANT', field 'settings.mfa_policy':",
        ),
        (
            {"tenant": {"settings": {"brute_force_protection": {"allowlist": ["nope"]}}}},
            "field 'settings.brute_force_protection.allowlist': 'nope' is not an IP address or CIDR range.",
        ),
    ],
)
def test_bad_files_are_refused_with_the_entry_named(tmp_path, config, expected):
    # given a fresh tenant
    tenant = provisioned_tenant()
    before = _snapshot(tenant)
    # when a bad file is imported
    with pytest.raises(CommandError) as raised:
        import_file(_write(tmp_path, config, "bad.json"), tenant.slug)
    # then the error names what is wrong, and nothing was written
    assert expected.replace("TENANT", tenant.slug) in str(raised.value)
    assert _snapshot(tenant) == before


def test_an_entry_naming_the_management_api_is_refused(tmp_path):
    # given a file listing the tenant's own Management API
    tenant = provisioned_tenant()
    audience = management_audience(tenant)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"apis": [{"identifier": audience, "name": "Mine now"}]}))
    # when imported, then it is refused by name
    with pytest.raises(CommandError, match=MSG_SYSTEM_API):
        import_file(path, tenant.slug)


def test_a_file_that_is_not_yaml_is_refused(tmp_path):
    tenant = provisioned_tenant()
    path = tmp_path / "config.yaml"
    path.write_text("apis: [unclosed")
    with pytest.raises(CommandError, match="Cannot read the file as YAML"):
        import_file(path, tenant.slug)


def test_token_rules_run_in_the_files_order(configured_tenant, tmp_path):
    # given the export with its two token rules swapped
    config = yaml.safe_load(export(configured_tenant.slug))
    config["token_rules"].reverse()
    # when imported
    output = import_file(_write(tmp_path, config), configured_tenant.slug)
    # then the plan shows the new order and the rules run in it
    assert '"order": ' not in output.stdout
    assert (
        '  ~ update (order)\n      order: ["Plan claim", "Deny web"] -> ["Deny web", "Plan claim"]\n'
        in output.stdout
    )
    assert [rule["name"] for rule in yaml.safe_load(export(configured_tenant.slug))["token_rules"]] == [
        "Deny web",
        "Plan claim",
    ]


def test_applications_sharing_a_name_cannot_be_exported_or_referenced(tmp_path):
    # given two applications with one name (dynamic registration can do this)
    tenant = provisioned_tenant()
    ApplicationFactory(tenant=tenant, name="Twin")
    ApplicationFactory(tenant=tenant, name="Twin")
    # when exported, or a file refers to applications, then both are refused naming the duplicate
    with pytest.raises(CommandError, match="Several applications are named 'Twin'"):
        export(tenant.slug)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"client_grants": []}))
    with pytest.raises(CommandError, match="Several applications are named 'Twin'"):
        import_file(path, tenant.slug)


@pytest.mark.parametrize(
    ("before", "after", "shown"),
    [
        (["a", "b"], ["a", "c"], 'scopes: +["c"] -["b"]'),
        (["a"], ["a", "b"], 'scopes: +["b"]'),
        (["a", "b"], ["b", "a"], 'scopes: ["a", "b"] -> ["b", "a"]'),
        (60, 120, "scopes: 60 -> 120"),
    ],
)
def test_plan_shows_list_changes_as_what_was_added_and_removed(before, after, shown):
    plan = Plan([Change("apis", "urn:x", UPDATE, {"scopes": (before, after)})])
    assert f"  ~ update urn:x\n      {shown}\n" in plan_render(plan)
