"""Token rules and the token hook at the token endpoint, over HTTP (client credentials)."""

from __future__ import annotations

from http import HTTPStatus

import jwt
import pytest

from apps.applications.services import application_update
from apps.audit.models import AuditEvent, TokenEvent
from apps.oauth import errors
from apps.token_rules.services import (
    token_rule_create,
    token_rule_delete,
    token_rule_reorder,
    token_rule_update,
)
from tests.factories import (
    ApiFactory,
    ApplicationFactory,
    ClientGrantFactory,
    TenantFactory,
    TokenRuleFactory,
)
from tests.oauth.helpers import verify_with_jwks
from tests.token_rules import hooks


@pytest.fixture
def http(http_both_paths):
    """Every test here runs through Django's full stack and through the lean path (tests/conftest.py)."""
    return http_both_paths


PLAN = "https://example.com/plan"


def issue(http, m2m, **form):
    return http.post(m2m.token_path(), data=m2m.form(**form))


def claims_of(response) -> dict:
    assert response.status_code == HTTPStatus.OK, response.text
    return jwt.decode(response.json()["access_token"], options={"verify_signature": False})


def test_platform_team_story_custom_claim_and_removed_scope(http, m2m):
    # given a rule for this M2M application: plan "gold" and no write:things
    TokenRuleFactory(
        tenant=m2m.tenant,
        name="Gold partner",
        application=m2m.application,
        claims={PLAN: "gold"},
        remove_scopes=["write:things"],
    )
    # when the application asks for a token
    response = issue(http, m2m)
    # then the signed token carries the claim and only the remaining scope, and so does the response
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json()["scope"] == "read:things"
    claims = verify_with_jwks(
        http, response.json()["access_token"], tenant_slug=m2m.tenant.slug, audience=m2m.api.identifier
    )
    assert claims[PLAN] == "gold"
    assert claims["scope"] == "read:things"
    assert claims["sub"] == f"{m2m.client_id}@clients"


def test_claim_value_from_application_metadata(http, m2m):
    # given application metadata plan=silver, and a rule copying it into a claim
    application_update(application=m2m.application, client_metadata={"plan": "silver"})
    TokenRuleFactory(tenant=m2m.tenant, claims={}, metadata_claims={PLAN: "plan"})
    # when
    claims = claims_of(issue(http, m2m))
    # then
    assert claims[PLAN] == "silver"


def test_claim_from_missing_metadata_key_is_left_out(http, m2m):
    # given a rule copying a metadata key the application does not have
    TokenRuleFactory(tenant=m2m.tenant, claims={}, metadata_claims={PLAN: "plan"})
    # when
    claims = claims_of(issue(http, m2m))
    # then the token is issued without the claim
    assert PLAN not in claims


def test_static_claims_keep_their_json_type(http, m2m):
    # given claims that are not strings
    value = {"https://example.com/limits": {"rps": 10}, "https://example.com/teams": ["a", "b"]}
    TokenRuleFactory(tenant=m2m.tenant, claims=value)
    # when
    claims = claims_of(issue(http, m2m))
    # then
    assert claims["https://example.com/limits"] == {"rps": 10}
    assert claims["https://example.com/teams"] == ["a", "b"]


def test_requested_scope_can_be_removed_too(http, m2m):
    # given a rule removing read:things
    TokenRuleFactory(tenant=m2m.tenant, claims={}, remove_scopes=["read:things"])
    # when the client asks for exactly that scope
    response = issue(http, m2m, scope="read:things")
    # then the token has no scope at all
    assert response.status_code == HTTPStatus.OK, response.text
    assert response.json()["scope"] == ""
    assert claims_of(response)["scope"] == ""


def test_added_scope_within_the_grant_is_issued(http, m2m):
    # given a rule adding write:things (granted) to a token that asked for read:things only
    TokenRuleFactory(tenant=m2m.tenant, claims={}, add_scopes=["write:things"])
    # when
    response = issue(http, m2m, scope="read:things")
    # then
    assert response.json()["scope"] == "read:things write:things"


def test_added_scope_beyond_the_grant_is_never_issued(http, m2m):
    # given delete:things: defined by the API, not in the client grant; a rule adds it
    assert "delete:things" not in m2m.grant.scopes
    TokenRuleFactory(tenant=m2m.tenant, claims={}, api=m2m.api, add_scopes=["delete:things"])
    # when
    response = issue(http, m2m)
    # then the grant wins
    assert response.json()["scope"] == "read:things write:things"
    assert "delete:things" not in claims_of(response)["scope"].split()


def test_deny_rule_refuses_with_its_message_and_the_token_log_says_so(http, m2m):
    # given a deny rule for this application
    message = "Partner access is suspended until the invoice is paid."
    TokenRuleFactory(
        tenant=m2m.tenant, application=m2m.application, action="deny", claims={}, deny_message=message
    )
    # when
    response = issue(http, m2m)
    # then RFC 6749 JSON, 403, with the rule's message
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {"error": "access_denied", "error_description": message}
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    event = TokenEvent.objects.get(tenant=m2m.tenant)
    assert event.type == TokenEvent.Type.FAILED_CLIENT_CREDENTIALS
    assert (event.error, event.error_description) == ("access_denied", message)


def test_rules_run_in_order_and_a_later_rule_overrides(http, m2m):
    # given two rules setting the same claim
    first = TokenRuleFactory(tenant=m2m.tenant, name="first", claims={PLAN: "gold"})
    second = TokenRuleFactory(tenant=m2m.tenant, name="second", claims={PLAN: "platinum"})
    assert first.order < second.order
    # when / then the later one wins
    assert claims_of(issue(http, m2m))[PLAN] == "platinum"
    # when they are swapped
    token_rule_reorder(tenant=m2m.tenant, rule_ids=[second.pk, first.pk])
    # then the other one does
    assert claims_of(issue(http, m2m))[PLAN] == "gold"


def test_a_deny_rule_stops_the_rules_after_it(http, m2m):
    # given a deny rule before a customizing one
    TokenRuleFactory(tenant=m2m.tenant, order=1, action="deny", claims={}, deny_message="Denied first.")
    TokenRuleFactory(tenant=m2m.tenant, order=2)
    # when
    response = issue(http, m2m)
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error_description"] == "Denied first."


def test_a_rule_that_removes_a_scope_before_one_that_adds_it_back(http, m2m):
    # given: remove write:things, then add it back (order matters for scopes too)
    TokenRuleFactory(tenant=m2m.tenant, order=1, claims={}, remove_scopes=["write:things"])
    TokenRuleFactory(tenant=m2m.tenant, order=2, claims={}, add_scopes=["write:things"])
    # when / then
    assert issue(http, m2m).json()["scope"] == "read:things write:things"


def test_disabled_rule_is_ignored(http, m2m):
    # given a disabled deny rule
    TokenRuleFactory(tenant=m2m.tenant, enabled=False, action="deny", claims={}, deny_message="No.")
    # when / then
    assert issue(http, m2m).status_code == HTTPStatus.OK


def test_rule_for_another_application_does_not_apply(http, m2m):
    # given a rule for another application of the same tenant
    other = ApplicationFactory(tenant=m2m.tenant)
    TokenRuleFactory(tenant=m2m.tenant, application=other)
    # when / then
    assert PLAN not in claims_of(issue(http, m2m))


def test_rule_matches_by_api(http, m2m):
    # given the client has grants for two APIs and a rule for the second one
    second_api = ApiFactory(tenant=m2m.tenant)
    ClientGrantFactory(application=m2m.application, api=second_api)
    TokenRuleFactory(tenant=m2m.tenant, api=second_api)
    # when / then: only tokens for the second API carry the claim
    assert PLAN not in claims_of(issue(http, m2m))
    assert claims_of(issue(http, m2m, audience=second_api.identifier))[PLAN] == "gold"


@pytest.mark.parametrize(
    ("metadata", "rule_value", "applies"),
    [
        pytest.param({"tier": "partner"}, "partner", True, id="key-and-value"),
        pytest.param({"tier": "internal"}, "partner", False, id="other-value"),
        pytest.param({}, "partner", False, id="no-key"),
        pytest.param({"tier": "anything"}, "", True, id="key-with-any-value"),
    ],
)
def test_rule_matches_by_application_metadata(http, m2m, metadata, rule_value, applies):
    # given application metadata and a rule conditioned on it
    application_update(application=m2m.application, client_metadata=metadata)
    TokenRuleFactory(tenant=m2m.tenant, metadata_key="tier", metadata_value=rule_value)
    # when
    claims = claims_of(issue(http, m2m))
    # then
    assert (PLAN in claims) is applies


def test_rule_of_another_tenant_never_applies(http, m2m):
    # given another tenant whose rules apply to any application and deny any token
    other = TenantFactory()
    TokenRuleFactory(tenant=other)
    TokenRuleFactory(tenant=other, action="deny", claims={}, deny_message="Other tenant says no.")
    # when / then this tenant's client is unaffected
    response = issue(http, m2m)
    assert response.status_code == HTTPStatus.OK
    assert PLAN not in claims_of(response)


def test_changes_apply_to_the_next_token(http, m2m):
    # given a rule, already in the server's config cache
    rule = TokenRuleFactory(tenant=m2m.tenant, claims={PLAN: "gold"})
    assert claims_of(issue(http, m2m))[PLAN] == "gold"
    # when it is changed, then the next token reflects it
    token_rule_update(rule=rule, claims={PLAN: "platinum"})
    assert claims_of(issue(http, m2m))[PLAN] == "platinum"
    # when it is disabled
    token_rule_update(rule=rule, enabled=False)
    assert PLAN not in claims_of(issue(http, m2m))
    # when a deny rule is created
    deny = token_rule_create(tenant=m2m.tenant, name="stop", action="deny", deny_message="Stopped.")
    assert issue(http, m2m).status_code == HTTPStatus.FORBIDDEN
    # when it is deleted
    token_rule_delete(rule=deny)
    assert issue(http, m2m).status_code == HTTPStatus.OK


def test_metadata_change_applies_to_the_next_token(http, m2m):
    # given a rule keyed on metadata the application does not have yet
    TokenRuleFactory(tenant=m2m.tenant, claims={}, metadata_claims={PLAN: "plan"})
    assert PLAN not in claims_of(issue(http, m2m))
    # when the metadata is set, then the next token has it
    application_update(application=m2m.application, client_metadata={"plan": "bronze"})
    assert claims_of(issue(http, m2m))[PLAN] == "bronze"


# --- the token hook ---------------------------------------------------------------------------


@pytest.fixture
def hook(settings):
    """Name a hook of tests/token_rules/hooks.py in the setting: ``hook("add_tier")``."""
    hooks.seen.clear()

    def use(name: str) -> None:
        settings.PORTCULLIS_TOKEN_HOOK = f"tests.token_rules.hooks.{name}"

    yield use
    hooks.seen.clear()


def test_hook_adds_a_claim_after_the_rules(http, m2m, hook):
    # given a rule and a hook
    application_update(application=m2m.application, client_metadata={"plan": "gold"})
    TokenRuleFactory(tenant=m2m.tenant, claims={PLAN: "gold"}, remove_scopes=["write:things"])
    hook("add_tier")
    # when
    claims = claims_of(issue(http, m2m))
    # then the hook saw what the rules decided, and its claim is in the token with the rule's
    assert claims[hooks.TIER_CLAIM] == "gold-tier"
    assert claims[PLAN] == "gold"
    (context,) = hooks.seen
    assert context.tenant == m2m.tenant.slug
    assert context.client_id == m2m.client_id
    assert context.audience == m2m.api.identifier
    assert context.scopes == ("read:things",)
    assert context.granted_scopes == frozenset({"read:things", "write:things"})
    assert dict(context.claims) == {PLAN: "gold"}


def test_hook_that_changes_nothing(http, m2m, hook):
    hook("change_nothing")
    response = issue(http, m2m)
    assert response.json()["scope"] == "read:things write:things"
    assert len(hooks.seen) == 1


def test_hook_denial_is_access_denied_and_an_audit_event(http, m2m, hook):
    # given a hook that denies
    hook("deny")
    # when
    response = issue(http, m2m)
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {"error": "access_denied", "error_description": hooks.DENIED_MESSAGE}
    event = AuditEvent.objects.get(tenant=m2m.tenant, type=AuditEvent.Type.TOKEN_HOOK_DENIED)
    assert event.target == m2m.client_id
    assert event.data == {"audience": m2m.api.identifier, "message": hooks.DENIED_MESSAGE}


@pytest.mark.parametrize(
    ("name", "failure"),
    [
        pytest.param("crash", "the hook raised RuntimeError", id="raises"),
        pytest.param(
            "set_registered_claim",
            "the hook returned an invalid claim: 'sub' is a registered claim; a rule cannot set it.",
            id="registered-claim",
        ),
        pytest.param("mutate_context", "the hook raised TypeError", id="writes-to-its-read-only-context"),
        pytest.param(
            "no_such_function",
            "the hook 'tests.token_rules.hooks.no_such_function' could not be imported (ImportError)",
            id="not-importable",
        ),
    ],
)
def test_hook_failure_is_a_clean_server_error_and_an_audit_event(http, m2m, hook, name, failure):
    # given a hook that fails
    hook(name)
    # when
    response = issue(http, m2m)
    # then JSON, no traceback, no detail of the failure for the client
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"error": "server_error", "error_description": errors.MSG_TOKEN_HOOK_FAILED}
    assert "hunter2" not in response.text
    # and the tenant's admins see what failed
    event = AuditEvent.objects.get(tenant=m2m.tenant, type=AuditEvent.Type.TOKEN_HOOK_FAILED)
    assert event.data == {"audience": m2m.api.identifier, "failure": failure}
    assert TokenEvent.objects.get(tenant=m2m.tenant).error == "server_error"


def test_hook_cannot_widen_the_grant(http, m2m, hook):
    # given a hook asking for scopes the client grant does not hold
    hook("widen_scopes")
    # when
    response = issue(http, m2m)
    # then only granted scopes are issued
    assert response.json()["scope"] == "read:things write:things"


def test_hook_can_narrow_scopes(http, m2m, hook):
    hook("only_read")
    assert issue(http, m2m).json()["scope"] == "read:things"


def test_hook_does_not_run_after_a_deny_rule(http, m2m, hook):
    # given a deny rule and a hook
    TokenRuleFactory(tenant=m2m.tenant, action="deny", claims={}, deny_message="Rule says no.")
    hook("add_tier")
    # when
    response = issue(http, m2m)
    # then the rule decided; the hook was not called and nothing was audited for it
    assert response.json()["error_description"] == "Rule says no."
    assert hooks.seen == []
    assert not AuditEvent.objects.filter(type__startswith="token_hook.").exists()


def test_hook_cannot_corrupt_the_rules_it_was_shown(http, m2m, hook):
    # given a rule with a list claim and a hook that appends to the list it sees
    TokenRuleFactory(tenant=m2m.tenant, claims={"https://example.com/teams": ["admins"]})
    hook("mutate_nested_claim")
    # when two tokens are issued
    first, second = claims_of(issue(http, m2m)), claims_of(issue(http, m2m))
    # then each carries the rule's value, untouched
    assert first["https://example.com/teams"] == second["https://example.com/teams"] == ["admins"]
