"""token_rule_create / update / delete / reorder: validation (each refusal by its code), audit, cache."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError

from apps.applications.services import application_update
from apps.audit.models import AuditEvent
from apps.token_rules import claims as claim_rules
from apps.token_rules import models as rule_models
from apps.token_rules.models import TokenRule
from apps.token_rules.selectors import token_rules_compiled
from apps.token_rules.services import (
    MSG_REORDER_MISMATCH,
    token_rule_create,
    token_rule_delete,
    token_rule_reorder,
    token_rule_update,
)
from tests.factories import ApiFactory, ApplicationFactory, TenantFactory, TokenRuleFactory

PLAN = "https://example.com/plan"


@pytest.fixture
def tenant(db):
    return TenantFactory()


def refusal(error: ValidationError) -> set[tuple[str, str, str]]:
    """``{(field, code, message)}`` of a service's refusal."""
    return {(field, e.code, e.message) for field, errs in error.error_dict.items() for e in errs}


@pytest.mark.parametrize(
    ("fields", "field", "code", "message"),
    [
        pytest.param(
            {"claims": {"scope": "admin"}},
            "claims",
            "invalid_claim",
            claim_rules.MSG_CLAIM_RESERVED.format(name="scope"),
            id="registered-claim",
        ),
        pytest.param(
            {"claims": {"Permissions": ["x"]}},
            "claims",
            "invalid_claim",
            claim_rules.MSG_CLAIM_RESERVED.format(name="Permissions"),
            id="registered-claim-other-case",
        ),
        pytest.param(
            {"claims": {"plan": "gold"}},
            "claims",
            "invalid_claim",
            claim_rules.MSG_CLAIM_NOT_NAMESPACED.format(name="plan"),
            id="not-namespaced",
        ),
        pytest.param(
            {"claims": {"urn:example:plan": "gold"}},
            "claims",
            "invalid_claim",
            claim_rules.MSG_CLAIM_NOT_NAMESPACED.format(name="urn:example:plan"),
            id="not-an-http-url",
        ),
        pytest.param(
            {"claims": {"https://example.com/plan": None}},
            "claims",
            "invalid_claim",
            claim_rules.MSG_CLAIM_VALUE_NULL.format(name="https://example.com/plan"),
            id="null-value",
        ),
        pytest.param(
            {"claims": {PLAN: "x" * 3000}},
            "claims",
            "invalid_claim",
            claim_rules.MSG_CLAIM_VALUE_TOO_LARGE.format(name=PLAN),
            id="value-too-large",
        ),
        pytest.param(
            {"claims": ["https://example.com/plan"]},
            "claims",
            "invalid_claim",
            claim_rules.MSG_CLAIMS_NOT_OBJECT,
            id="claims-not-an-object",
        ),
        pytest.param(
            {"claims": {f"https://example.com/{n}": n for n in range(21)}},
            "claims",
            "invalid_claim",
            claim_rules.MSG_CLAIMS_TOO_MANY,
            id="too-many-claims",
        ),
        pytest.param(
            {"claims": {}, "metadata_claims": {"sub": "plan"}},
            "metadata_claims",
            "invalid_claim",
            claim_rules.MSG_CLAIM_RESERVED.format(name="sub"),
            id="metadata-claim-registered",
        ),
        pytest.param(
            {"claims": {}, "metadata_claims": {PLAN: ""}},
            "metadata_claims",
            "invalid_claim",
            rule_models.MSG_METADATA_CLAIM_KEY.format(name=PLAN),
            id="metadata-claim-without-key",
        ),
        pytest.param(
            {"claims": {PLAN: "gold"}, "metadata_claims": {PLAN: "plan"}},
            "metadata_claims",
            "invalid_claim",
            rule_models.MSG_CLAIM_IN_BOTH.format(names=PLAN),
            id="claim-set-twice",
        ),
        pytest.param(
            {"claims": {}, "add_scopes": ["read things"]},
            "add_scopes",
            "invalid_scope",
            rule_models.MSG_SCOPE_MALFORMED.format(scope="read things"),
            id="malformed-scope",
        ),
        pytest.param(
            {"claims": {}, "add_scopes": "read:things"},
            "add_scopes",
            "invalid_scope",
            rule_models.MSG_SCOPES_NOT_LIST,
            id="scopes-not-a-list",
        ),
        pytest.param(
            {"claims": {}, "add_scopes": ["read:things"], "remove_scopes": ["read:things"]},
            "remove_scopes",
            "invalid_scope",
            rule_models.MSG_SCOPE_ADDED_AND_REMOVED.format(scopes="read:things"),
            id="added-and-removed",
        ),
        pytest.param(
            {"action": "deny", "claims": {}},
            "deny_message",
            "deny_message_missing",
            rule_models.MSG_DENY_MESSAGE_REQUIRED,
            id="deny-without-message",
        ),
        pytest.param(
            {"action": "deny", "claims": {}, "deny_message": 'Say "no"'},
            "deny_message",
            "deny_message_charset",
            rule_models.MSG_DENY_MESSAGE_CHARSET,
            id="deny-message-with-quotes",
        ),
        pytest.param(
            {"action": "deny", "deny_message": "No."},
            "action",
            "deny_with_changes",
            rule_models.MSG_DENY_CHANGES,
            id="deny-that-also-customizes",
        ),
        pytest.param(
            {"deny_message": "No."},
            "deny_message",
            "message_without_deny",
            rule_models.MSG_MESSAGE_WITHOUT_DENY,
            id="message-without-deny",
        ),
        pytest.param(
            {"claims": {}},
            "action",
            "rule_does_nothing",
            rule_models.MSG_RULE_DOES_NOTHING,
            id="does-nothing",
        ),
        pytest.param(
            {"metadata_value": "gold"},
            "metadata_key",
            "metadata_key_missing",
            rule_models.MSG_METADATA_VALUE_WITHOUT_KEY,
            id="metadata-value-without-key",
        ),
    ],
)
def test_create_refuses_bad_rules(tenant, fields, field, code, message):
    # given a rule's fields (a valid static claim unless overridden)
    fields = {"claims": {PLAN: "gold"}, **fields}
    # when
    with pytest.raises(ValidationError) as caught:
        token_rule_create(tenant=tenant, name="bad", **fields)
    # then the refusal names the field, with its code and message, and nothing was written
    assert (field, code, message) in refusal(caught.value)
    assert not TokenRule.objects.exists()
    assert not AuditEvent.objects.filter(type=AuditEvent.Type.TOKEN_RULE_CREATED).exists()


def test_added_scopes_must_be_defined_by_the_rules_api(tenant):
    api = ApiFactory(tenant=tenant)
    with pytest.raises(ValidationError) as caught:
        token_rule_create(tenant=tenant, name="r", api=api, add_scopes=["read:things", "fly:kites"])
    assert (
        "add_scopes",
        "invalid_scope",
        rule_models.MSG_SCOPE_NOT_DEFINED.format(identifier=api.identifier, scopes="fly:kites"),
    ) in refusal(caught.value)


@pytest.mark.parametrize("foreign", ["application", "api"])
def test_application_and_api_must_be_the_rules_tenants(tenant, foreign):
    # given an application or API of another tenant
    other = TenantFactory()
    row = ApplicationFactory(tenant=other) if foreign == "application" else ApiFactory(tenant=other)
    # when / then
    with pytest.raises(ValidationError) as caught:
        token_rule_create(tenant=tenant, name="r", claims={PLAN: "gold"}, **{foreign: row})
    assert ("__all__", "cross_tenant", rule_models.MSG_CROSS_TENANT) in refusal(caught.value)


def test_unknown_field_is_refused(tenant):
    with pytest.raises(ValidationError) as caught:
        token_rule_create(tenant=tenant, name="r", claims={PLAN: "x"}, script="os.system('x')")
    assert caught.value.code == "unknown_field"


def test_create_appends_records_and_invalidates(tenant):
    # given a rule, and the tenant's compiled rules already cached
    first = TokenRuleFactory(tenant=tenant)
    assert [rule.name for rule in token_rules_compiled(tenant_id=tenant.pk)] == [first.name]
    # when another is created without an order
    second = token_rule_create(tenant=tenant, name="second", claims={PLAN: "x"}, add_scopes=["a", "a"])
    # then it runs after the first, its scopes without repeats, and the cache shows it at once
    assert second.order > first.order
    assert second.add_scopes == ["a"]
    assert [rule.name for rule in token_rules_compiled(tenant_id=tenant.pk)] == [first.name, "second"]
    event = AuditEvent.objects.get(type=AuditEvent.Type.TOKEN_RULE_CREATED, target="second")
    assert event.tenant == tenant
    assert event.data["claims"] == {PLAN: "x"}
    assert event.data["conditions"] == {"application": None, "api": None, "metadata": None}


def test_update_records_and_invalidates(tenant, django_user_model):
    rule = TokenRuleFactory(tenant=tenant)
    token_rules_compiled(tenant_id=tenant.pk)
    actor = django_user_model.objects.create_user(username="ops", password="x" * 20)
    # when
    token_rule_update(rule=rule, claims={PLAN: "platinum"}, actor=actor)
    # then
    (compiled,) = token_rules_compiled(tenant_id=tenant.pk)
    assert compiled.claims == ((PLAN, "platinum"),)
    event = AuditEvent.objects.get(type=AuditEvent.Type.TOKEN_RULE_UPDATED)
    assert (event.actor, event.data["changed"]) == (actor, ["claims"])


def test_update_validates_like_create(tenant):
    rule = TokenRuleFactory(tenant=tenant)
    with pytest.raises(ValidationError) as caught:
        token_rule_update(rule=rule, claims={"iss": "me"})
    assert ("claims", "invalid_claim", claim_rules.MSG_CLAIM_RESERVED.format(name="iss")) in refusal(
        caught.value
    )
    rule.refresh_from_db()
    assert rule.claims == {PLAN: "gold"}


def test_update_cannot_move_a_rule_to_another_tenant(tenant):
    rule = TokenRuleFactory(tenant=tenant)
    with pytest.raises(ValidationError):
        token_rule_update(rule=rule, tenant=TenantFactory())


def test_disabled_rules_are_not_loaded(tenant):
    TokenRuleFactory(tenant=tenant, enabled=False)
    assert token_rules_compiled(tenant_id=tenant.pk) == ()


def test_delete_records_and_invalidates(tenant):
    rule = TokenRuleFactory(tenant=tenant, name="gone")
    assert token_rules_compiled(tenant_id=tenant.pk)
    token_rule_delete(rule=rule)
    assert token_rules_compiled(tenant_id=tenant.pk) == ()
    assert AuditEvent.objects.filter(type=AuditEvent.Type.TOKEN_RULE_DELETED, target="gone").exists()


def test_reorder(tenant):
    a, b, c = (TokenRuleFactory(tenant=tenant, name=name) for name in "abc")
    token_rules_compiled(tenant_id=tenant.pk)
    # when
    token_rule_reorder(tenant=tenant, rule_ids=[c.pk, a.pk, b.pk])
    # then
    assert [rule.name for rule in token_rules_compiled(tenant_id=tenant.pk)] == ["c", "a", "b"]
    event = AuditEvent.objects.get(type=AuditEvent.Type.TOKEN_RULES_REORDERED)
    assert event.data["order"] == ["c", "a", "b"]


@pytest.mark.parametrize("which", ["missing-one", "repeated", "foreign"])
def test_reorder_must_list_each_rule_once(tenant, which):
    a, b = TokenRuleFactory(tenant=tenant), TokenRuleFactory(tenant=tenant)
    foreign = TokenRuleFactory(tenant=TenantFactory())
    ids = {"missing-one": [a.pk], "repeated": [a.pk, b.pk, b.pk], "foreign": [a.pk, b.pk, foreign.pk]}[which]
    with pytest.raises(ValidationError) as caught:
        token_rule_reorder(tenant=tenant, rule_ids=ids)
    assert (caught.value.code, caught.value.message) == ("reorder_mismatch", MSG_REORDER_MISMATCH)


def test_compiled_rules_cost_no_query_once_loaded(tenant, django_assert_num_queries):
    TokenRuleFactory(tenant=tenant)
    token_rules_compiled(tenant_id=tenant.pk)
    with django_assert_num_queries(0):
        token_rules_compiled(tenant_id=tenant.pk)


def test_deleting_the_application_deletes_its_rules(tenant):
    # a rule must never widen to "any application" because its application went away
    from apps.applications.services import application_delete

    application = ApplicationFactory(tenant=tenant)
    TokenRuleFactory(tenant=tenant, application=application)
    application_delete(application=application)
    assert not TokenRule.objects.exists()


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param({"plan": 3}, id="non-string-value"),
        pytest.param({str(n): "x" for n in range(11)}, id="too-many-keys"),
        pytest.param({"plan": "x" * 256}, id="value-too-long"),
        pytest.param(["plan"], id="not-an-object"),
    ],
)
def test_application_metadata_follows_auth0s_limits(tenant, metadata):
    application = ApplicationFactory(tenant=tenant)
    with pytest.raises(ValidationError) as caught:
        application_update(application=application, client_metadata=metadata)
    assert caught.value.error_dict["client_metadata"][0].code == "invalid_client_metadata"


def test_update_without_an_order_moves_the_rule_last(tenant):
    first, second = TokenRuleFactory(tenant=tenant), TokenRuleFactory(tenant=tenant)
    token_rule_update(rule=first, order=None)
    assert first.order > second.order


def test_token_endpoint_reads_no_rule_from_the_database_once_warm(client, tenant):
    # given an M2M client and ten rules that do not match it, loaded by a first token request
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import make_m2m_setup

    m2m = make_m2m_setup()
    for n in range(10):
        TokenRuleFactory(tenant=m2m.tenant, metadata_key="tier", metadata_value=f"partner-{n}")

    def issue():
        return client.post(
            m2m.token_path(), urlencode(m2m.form()), content_type="application/x-www-form-urlencoded"
        )

    assert issue().status_code == HTTPStatus.OK
    # when the next token is issued
    with CaptureQueriesContext(connection) as queries:
        response = issue()
    # then it is issued without reading any rule
    assert response.status_code == HTTPStatus.OK
    assert not [query for query in queries if "token_rules_tokenrule" in query["sql"]]
    assert queries.captured_queries, "the token log's insert shows queries are captured"
