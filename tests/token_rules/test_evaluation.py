"""token_customize, the one evaluation function: semantics and the dry run's trace (no HTTP, no DB)."""

from __future__ import annotations

from apps.token_rules.evaluation import HOOK, CompiledRule, RuleStep, token_customize

PLAN = "https://example.com/plan"


def rule(rule_id: int, **fields) -> CompiledRule:
    defaults = {
        "id": rule_id,
        "name": f"rule {rule_id}",
        "application_id": None,
        "api_id": None,
        "metadata_key": "",
        "metadata_value": None,
        "deny_message": None,
        "claims": (),
        "metadata_claims": (),
        "add_scopes": (),
        "remove_scopes": frozenset(),
    }
    return CompiledRule(**(defaults | fields))


def evaluate(rules, *, scopes=("read",), granted=frozenset({"read", "write"}), metadata=None, trace=False):
    return token_customize(
        rules=tuple(rules),
        tenant_slug="acme",
        application_id=1,
        client_id="client-1",
        client_metadata=metadata or {},
        api_id=7,
        audience="https://api.example.com",
        granted=granted,
        scopes=list(scopes),
        trace=trace,
    )


def ten_non_matching_rules() -> list[CompiledRule]:
    """What the bench configures: ten rules, each for another application, API or metadata."""
    return [
        *(rule(n, application_id=100 + n, claims=((PLAN, "x"),)) for n in range(4)),
        *(rule(n, api_id=200 + n, remove_scopes=frozenset({"read"})) for n in range(4, 7)),
        *(rule(n, metadata_key="tier", metadata_value="partner", deny_message="no") for n in range(7, 10)),
    ]


def test_no_rules_no_change():
    outcome = evaluate([])
    assert (outcome.scopes, outcome.claims, outcome.refused) == (["read"], {}, False)


def test_ten_non_matching_rules_change_nothing():
    outcome = evaluate(ten_non_matching_rules(), metadata={"tier": "internal"})
    assert (outcome.scopes, outcome.claims, outcome.refused) == (["read"], {}, False)


def test_trace_says_which_rule_did_what():
    # given a non-matching rule, a customizing rule and a deny rule after it
    rules = [
        rule(1, application_id=99, claims=((PLAN, "x"),)),
        rule(
            2,
            claims=((PLAN, "gold"),),
            metadata_claims=(("https://example.com/tier", "tier"), ("https://example.com/region", "region")),
            add_scopes=("write", "delete"),
            remove_scopes=frozenset({"read"}),
        ),
        rule(3, deny_message="Stop."),
        rule(4, claims=((PLAN, "never"),)),
    ]
    # when
    outcome = evaluate(rules, metadata={"tier": "partner"}, trace=True)
    # then
    assert outcome.steps == [
        RuleStep(1, "rule 1", matched=False),
        RuleStep(
            2,
            "rule 2",
            matched=True,
            effects=(
                'set claim https://example.com/plan to "gold"',
                "set claim https://example.com/tier to \"partner\" (application metadata 'tier')",
                "did not set claim https://example.com/region: the application has no metadata 'region'",
                "removed scopes read",
                "added scope write",
                "did not add scope delete: the client grant does not include it",
            ),
        ),
        RuleStep(3, "rule 3", matched=True, effects=("denied the token: Stop.",)),
    ]
    assert (outcome.denied, outcome.denied_by, outcome.by_hook) == ("Stop.", "rule 3", False)


def test_hook_step_in_the_trace(settings):
    settings.PORTCULLIS_TOKEN_HOOK = "tests.token_rules.hooks.add_tier"
    outcome = evaluate([rule(1, claims=((PLAN, "gold"),))], metadata={"plan": "gold"}, trace=True)
    assert outcome.steps[-1] == RuleStep(
        None,
        HOOK,
        matched=True,
        effects=('claims now {"https://example.com/plan": "gold", "https://example.com/tier": "gold-tier"}',),
    )


def test_hook_denial_message_is_made_rfc6749_safe(settings, monkeypatch):
    from tests.token_rules import hooks

    monkeypatch.setattr(hooks, "DENIED_MESSAGE", 'Café "closed"\n')
    settings.PORTCULLIS_TOKEN_HOOK = "tests.token_rules.hooks.deny"
    outcome = evaluate([])
    assert (outcome.denied, outcome.by_hook) == ("Caf? ?closed??", True)
