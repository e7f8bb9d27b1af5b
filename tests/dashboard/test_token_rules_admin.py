"""Token rules in the admin: writes through the services, refusals on the form, and the dry run."""

from __future__ import annotations

import html as html_lib
import json
import re
from http import HTTPStatus

import pytest

from apps.applications.services import application_update
from apps.audit.models import AuditEvent
from apps.oauth import errors
from apps.token_rules import claims as claim_rules
from apps.token_rules import models as rule_models
from apps.token_rules.admin import MSG_DRY_RUN_CROSS_TENANT, MSG_DRY_RUN_GRANT_TYPE
from apps.token_rules.models import TokenRule
from tests.dashboard.conftest import admin_url, select_values
from tests.factories import ApiFactory, ApplicationFactory, ClientGrantFactory, TokenRuleFactory

PLAN = "https://example.com/plan"


def rule_form(tenant, **overrides) -> dict:
    """The add form as a browser posts it: a rule adding plan=gold to every token."""
    data = {
        "tenant": tenant.pk,
        "name": "Gold plan",
        "enabled": "on",
        "order": "",
        "application": "",
        "api": "",
        "metadata_key": "",
        "metadata_value": "",
        "action": "customize",
        "claims": json.dumps({PLAN: "gold"}),
        "metadata_claims": "{}",
        "add_scopes": "",
        "remove_scopes": "",
        "deny_message": "",
    }
    data.update(overrides)
    return data


def test_create_rule_through_the_admin(portal_client, portal_admin, alpha):
    # when the portal admin adds a rule for alpha's application that removes a scope
    response = portal_client.post(
        admin_url("token_rules_tokenrule_add"),
        rule_form(
            alpha.tenant,
            name="Gold partner",
            application=alpha.application.pk,
            remove_scopes="write:things  delete:things",
        ),
    )
    # then it exists, written by the service (after alpha's existing rule), with an audit event
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    rule = TokenRule.objects.get(name="Gold partner")
    assert (rule.tenant, rule.application) == (alpha.tenant, alpha.application)
    assert rule.claims == {PLAN: "gold"}
    assert rule.remove_scopes == ["write:things", "delete:things"]
    assert rule.order > alpha.token_rule.order
    assert AuditEvent.objects.get(
        type=AuditEvent.Type.TOKEN_RULE_CREATED, actor=portal_admin, target="Gold partner"
    )


def test_change_rule_through_the_admin(portal_client, portal_admin, alpha):
    # given alpha's rule
    rule = alpha.token_rule
    # when the admin makes it a deny rule
    data = rule_form(
        alpha.tenant,
        name=rule.name,
        order=rule.order,
        application=rule.application_id,
        api=rule.api_id,
        action="deny",
        claims="{}",
        deny_message="Suspended.",
    )
    data.pop("tenant")
    # what the browser posts back for fields with a callable default (Django's show_hidden_initial)
    data |= {"initial-claims": json.dumps(rule.claims), "initial-metadata_claims": "{}"}
    response = portal_client.post(admin_url("token_rules_tokenrule_change", rule.pk), data)
    # then
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert (rule.action, rule.deny_message, rule.claims) == ("deny", "Suspended.", {})
    event = AuditEvent.objects.get(type=AuditEvent.Type.TOKEN_RULE_UPDATED, actor=portal_admin)
    assert set(event.data["changed"]) == {"action", "claims", "deny_message"}


def test_delete_rule_through_the_admin(portal_client, portal_admin, alpha):
    response = portal_client.post(
        admin_url("token_rules_tokenrule_delete", alpha.token_rule.pk), {"post": "yes"}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert not TokenRule.objects.filter(pk=alpha.token_rule.pk).exists()
    assert AuditEvent.objects.get(type=AuditEvent.Type.TOKEN_RULE_DELETED, actor=portal_admin)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"claims": '{"scope": "admin"}'},
            claim_rules.MSG_CLAIM_RESERVED.format(name="scope"),
            id="reserved",
        ),
        pytest.param(
            {"claims": '{"plan": "gold"}'},
            claim_rules.MSG_CLAIM_NOT_NAMESPACED.format(name="plan"),
            id="namespace",
        ),
        pytest.param({"claims": "{not json"}, "Enter a valid JSON.", id="not-json"),
        pytest.param(
            {"claims": "", "add_scopes": "", "remove_scopes": ""},
            rule_models.MSG_RULE_DOES_NOTHING,
            id="nothing",
        ),
        pytest.param({"action": "deny"}, rule_models.MSG_DENY_CHANGES, id="deny-with-claims"),
        pytest.param(
            {"action": "deny", "claims": "{}"}, rule_models.MSG_DENY_MESSAGE_REQUIRED, id="deny-no-message"
        ),
        pytest.param(
            {"add_scopes": "read:things", "remove_scopes": "read:things"},
            "Scopes both added and removed",
            id="both",
        ),
    ],
)
def test_bad_rule_is_a_form_error(portal_client, alpha, overrides, message):
    # when the admin posts a bad rule
    response = portal_client.post(
        admin_url("token_rules_tokenrule_add"), rule_form(alpha.tenant, **overrides)
    )
    # then the form is shown again with the reason (no 500), and nothing is created
    assert response.status_code == HTTPStatus.OK
    assert message in html_lib.unescape(response.content.decode())
    assert not TokenRule.objects.filter(name="Gold plan").exists()


def test_application_of_another_tenant_is_a_form_error(superuser_client, alpha, bravo):
    # given a superuser, who may pick from every tenant
    # when they make a rule of alpha's for bravo's application
    response = superuser_client.post(
        admin_url("token_rules_tokenrule_add"), rule_form(alpha.tenant, application=bravo.application.pk)
    )
    # then the service refuses it onto the form
    assert response.status_code == HTTPStatus.OK
    assert rule_models.MSG_CROSS_TENANT in html_lib.unescape(response.content.decode())
    assert not TokenRule.objects.filter(name="Gold plan").exists()


def test_portal_admin_cannot_pick_another_tenants_application(portal_client, alpha, bravo):
    response = portal_client.post(
        admin_url("token_rules_tokenrule_add"), rule_form(alpha.tenant, application=bravo.application.pk)
    )
    assert response.status_code == HTTPStatus.OK
    assert "Select a valid choice" in response.content.decode()


def test_application_metadata_is_editable_in_the_admin(portal_client, alpha):
    # given alpha's application's change form as it stands
    application = alpha.application
    page = portal_client.get(admin_url("applications_application_change", application.pk))
    assert 'name="client_metadata"' in page.content.decode()
    data = {
        "name": application.name,
        "description": "",
        "is_active": "on",
        "is_first_party": "on",
        "grant_types": application.grant_types,
        "token_endpoint_auth_method": application.token_endpoint_auth_method,
        "redirect_uris": "",
        "allowed_origins": "",
    }
    # when metadata is saved, then it is stored; a bad value is a form error
    response = portal_client.post(
        admin_url("applications_application_change", application.pk),
        data | {"client_metadata": '{"plan": "gold"}'},
    )
    assert response.status_code == HTTPStatus.FOUND
    application.refresh_from_db()
    assert application.client_metadata == {"plan": "gold"}
    response = portal_client.post(
        admin_url("applications_application_change", application.pk),
        data | {"client_metadata": '{"plan": 3}'},
    )
    assert response.status_code == HTTPStatus.OK
    assert "Application metadata maps non-empty keys to strings" in html_lib.unescape(
        response.content.decode()
    )


# --- the dry run ---------------------------------------------------------------------------------


def dry_run(client, application, api, scope: str = ""):
    response = client.get(
        admin_url("token_rules_tokenrule_dry_run"),
        {"application": application.pk, "api": api.pk, "scope": scope},
    )
    assert response.status_code == HTTPStatus.OK
    return html_lib.unescape(response.content.decode())


def element(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:pre|code|table|ul|p)>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return match.group(1)


def test_changelist_links_to_the_dry_run(portal_client, alpha):
    html = portal_client.get(admin_url("token_rules_tokenrule_changelist")).content.decode()
    assert admin_url("token_rules_tokenrule_dry_run") in html


def test_dry_run_shows_the_token_and_why(portal_client, alpha):
    # given alpha's rule for its application (plan gold), a second rule that removes a scope,
    # one for another application, and a disabled one
    application_update(application=alpha.application, client_metadata={"plan": "gold"})
    TokenRuleFactory(tenant=alpha.tenant, name="No writes", claims={}, remove_scopes=["write:things"])
    TokenRuleFactory(
        tenant=alpha.tenant, name="Other app", application=ApplicationFactory(tenant=alpha.tenant)
    )
    TokenRuleFactory(tenant=alpha.tenant, name="Switched off", enabled=False)
    # when the admin runs the dry run for the application and the API
    html = dry_run(portal_client, alpha.application, alpha.api)
    # then the page shows the scopes and claims the token endpoint would issue
    assert element(html, "dry-run-scope") == "read:things"
    assert json.loads(element(html, "dry-run-claims")) == {PLAN: "gold"}
    # and what each rule did, in order
    steps = element(html, "dry-run-steps")
    assert steps.index(alpha.token_rule.name) < steps.index("No writes") < steps.index("Other app")
    assert 'set claim https://example.com/plan to "gold"' in steps
    assert "removed scopes write:things" in steps
    assert "Switched off" in element(html, "dry-run-disabled")


def test_dry_run_with_requested_scopes(portal_client, alpha):
    html = dry_run(portal_client, alpha.application, alpha.api, scope="write:things")
    assert element(html, "dry-run-scope") == "write:things"


def test_dry_run_of_a_deny_rule(portal_client, alpha):
    TokenRuleFactory(tenant=alpha.tenant, name="Stop", action="deny", claims={}, deny_message="Suspended.")
    html = dry_run(portal_client, alpha.application, alpha.api)
    assert json.loads(element(html, "dry-run-refusal")) == {
        "error": "access_denied",
        "error_description": "Suspended.",
    }
    assert "denied the token: Suspended." in element(html, "dry-run-steps")


def test_dry_run_without_a_client_grant_says_what_the_endpoint_would(portal_client, alpha):
    api = ApiFactory(tenant=alpha.tenant)
    html = dry_run(portal_client, alpha.application, api)
    assert json.loads(element(html, "dry-run-refusal")) == {
        "error": "access_denied",
        "error_description": errors.MSG_NO_CLIENT_GRANT.format(audience=api.identifier),
    }


def test_dry_run_of_scopes_not_granted(portal_client, alpha):
    html = dry_run(portal_client, alpha.application, alpha.api, scope="delete:things")
    assert json.loads(element(html, "dry-run-refusal"))["error_description"] == (
        errors.MSG_SCOPES_NOT_GRANTED.format(scopes="delete:things")
    )


def test_dry_run_warns_about_an_application_that_cannot_use_client_credentials(portal_client, alpha):
    web = ApplicationFactory(tenant=alpha.tenant, app_type="regular_web", grant_types=["authorization_code"])
    ClientGrantFactory(application=web, api=alpha.api)
    html = dry_run(portal_client, web, alpha.api)
    assert MSG_DRY_RUN_GRANT_TYPE in html


def test_dry_run_shows_the_hook(portal_client, alpha, settings):
    settings.PORTCULLIS_TOKEN_HOOK = "tests.token_rules.hooks.crash"
    html = dry_run(portal_client, alpha.application, alpha.api)
    assert json.loads(element(html, "dry-run-refusal")) == {
        "error": "server_error",
        "error_description": errors.MSG_TOKEN_HOOK_FAILED,
    }
    assert "failed: the hook raised RuntimeError" in element(html, "dry-run-steps")
    # a dry run records nothing
    assert not AuditEvent.objects.filter(type=AuditEvent.Type.TOKEN_HOOK_FAILED).exists()


def test_dry_run_offers_only_the_admins_tenants(portal_client, alpha, bravo):
    html = portal_client.get(admin_url("token_rules_tokenrule_dry_run")).content.decode()
    assert str(alpha.application.pk) in select_values(html, "application")
    assert str(bravo.application.pk) not in select_values(html, "application")
    assert str(bravo.api.pk) not in select_values(html, "api")


def test_dry_run_of_another_tenants_application_is_refused(portal_client, alpha, bravo):
    response = portal_client.get(
        admin_url("token_rules_tokenrule_dry_run"), {"application": bravo.application.pk, "api": bravo.api.pk}
    )
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert "dry-run-steps" not in html and "dry-run-refusal" not in html


def test_dry_run_of_an_application_and_api_of_different_tenants(superuser_client, alpha, bravo):
    response = superuser_client.get(
        admin_url("token_rules_tokenrule_dry_run"), {"application": alpha.application.pk, "api": bravo.api.pk}
    )
    assert MSG_DRY_RUN_CROSS_TENANT in response.content.decode()
    assert "dry-run-steps" not in response.content.decode()


def test_dry_run_needs_the_view_permission(client, alpha, django_user_model):
    staff = django_user_model.objects.create_user(username="staff", password="x" * 20, is_staff=True)
    client.force_login(staff)
    response = client.get(admin_url("token_rules_tokenrule_dry_run"))
    assert response.status_code == HTTPStatus.FORBIDDEN
