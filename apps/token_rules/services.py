"""Creating, changing, reordering and deleting token rules; recording what the token hook refused.

Every change is an audit event and invalidates the tenant's compiled rules in the config
cache (``selectors.token_rules_cache_key``): the next token request of this process sees
the change, other processes within ``CONFIG_SYNC_SECONDS`` (shared cache) or the TTL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core import ttlcache
from apps.core.services import assign_changes
from apps.token_rules.models import TokenRule
from apps.token_rules.selectors import token_rules_cache_key

# What token_rule_create and token_rule_update accept (the rule's data, not its tenant).
RULE_FIELDS = (
    "name",
    "enabled",
    "order",
    "application",
    "api",
    "metadata_key",
    "metadata_value",
    "action",
    "claims",
    "metadata_claims",
    "add_scopes",
    "remove_scopes",
    "deny_message",
)
MUTABLE_FIELDS = frozenset(RULE_FIELDS)
ORDER_STEP = 10  # room to slot a rule in between two others without renumbering

MSG_REORDER_MISMATCH = "Reordering must list each of the tenant's rules exactly once."


def _invalidate(tenant_id: int) -> None:
    ttlcache.invalidate(token_rules_cache_key(tenant_id))


def _after_the_others(tenant, excluding: int | None = None) -> int:
    last = TokenRule.objects.for_tenant(tenant).exclude(pk=excluding).aggregate(last=Max("order"))["last"]
    return (last or 0) + ORDER_STEP


def _audit_data(rule: TokenRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "enabled": rule.enabled,
        "order": rule.order,
        "conditions": rule.conditions(),
        "action": rule.action,
        "claims": rule.claims,
        "metadata_claims": rule.metadata_claims,
        "add_scopes": rule.add_scopes,
        "remove_scopes": rule.remove_scopes,
        "deny_message": rule.deny_message,
    }


def _normalise(rule: TokenRule) -> None:
    """Scope lists without repeats, and ``None`` for "no claims" from a form left empty."""
    rule.claims = {} if rule.claims is None else rule.claims
    rule.metadata_claims = {} if rule.metadata_claims is None else rule.metadata_claims
    for field in ("add_scopes", "remove_scopes"):
        value = getattr(rule, field)
        if value is None:
            setattr(rule, field, [])
        elif isinstance(value, list):
            setattr(rule, field, list(dict.fromkeys(value)))


@transaction.atomic
def token_rule_create(*, tenant, name: str, actor=None, **fields: Any) -> TokenRule:
    """Add a rule to ``tenant``; without an ``order`` it runs after every existing rule.

    ``fields`` are those of ``RULE_FIELDS``. Raises ``ValidationError`` (each with a code,
    see ``TokenRule.clean``) for bad claims, scopes, messages or another tenant's rows.
    """
    unknown = sorted(set(fields) - MUTABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown token rule fields: {', '.join(unknown)}", code="unknown_field")
    if fields.get("order") is None:
        fields["order"] = _after_the_others(tenant)
    rule = TokenRule(tenant=tenant, name=name, **fields)
    _normalise(rule)
    rule.full_clean()
    rule.save()
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.TOKEN_RULE_CREATED,
        actor=actor,
        target=rule,
        data=_audit_data(rule),
    )
    _invalidate(rule.tenant_id)
    return rule


@transaction.atomic
def token_rule_update(*, rule: TokenRule, actor=None, **changes: Any) -> TokenRule:
    """Change some of a rule's fields (``RULE_FIELDS``); the tenant never changes.

    ``order=None`` moves the rule after the others, as at creation.
    """
    assign_changes(rule, changes, allowed=MUTABLE_FIELDS, what="a token rule")
    if "order" in changes and changes["order"] is None:
        rule.order = _after_the_others(rule.tenant_id, excluding=rule.pk)
    _normalise(rule)
    rule.full_clean()
    rule.save()
    audit_record(
        tenant=rule.tenant,
        type=AuditEvent.Type.TOKEN_RULE_UPDATED,
        actor=actor,
        target=rule,
        data={"changed": sorted(changes), **_audit_data(rule)},
    )
    _invalidate(rule.tenant_id)
    return rule


@transaction.atomic
def token_rule_delete(*, rule: TokenRule, actor=None) -> None:
    audit_record(
        tenant=rule.tenant,
        type=AuditEvent.Type.TOKEN_RULE_DELETED,
        actor=actor,
        target=rule,
        data=_audit_data(rule),
    )
    _invalidate(rule.tenant_id)
    rule.delete()


@transaction.atomic
def token_rule_reorder(*, tenant, rule_ids: Iterable[int], actor=None) -> list[TokenRule]:
    """Put the tenant's rules in the order of ``rule_ids`` (which lists each of them exactly once)."""
    wanted = [int(rule_id) for rule_id in rule_ids]
    rules = {rule.pk: rule for rule in TokenRule.objects.for_tenant(tenant).select_for_update()}
    if len(wanted) != len(set(wanted)) or set(wanted) != set(rules):
        raise ValidationError(MSG_REORDER_MISMATCH, code="reorder_mismatch")
    ordered = []
    for position, rule_id in enumerate(wanted, start=1):
        rule = rules[rule_id]
        rule.order = position * ORDER_STEP
        ordered.append(rule)
    TokenRule.objects.bulk_update(ordered, ["order"])
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.TOKEN_RULES_REORDERED,
        actor=actor,
        target=tenant,
        data={"order": [rule.name for rule in ordered], "ids": wanted},
    )
    _invalidate(tenant.pk)
    return ordered


def token_hook_refusal_record(
    *, tenant, client_id: str, audience: str, denied: str | None, failure: str | None
) -> None:
    """The token hook denied a token, or failed while deciding: an audit event (the token log has
    the request). Not inside a transaction: the token endpoint commits nothing else for it."""
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.TOKEN_HOOK_FAILED if failure else AuditEvent.Type.TOKEN_HOOK_DENIED,
        target=client_id,
        data={"audience": audience, **({"failure": failure} if failure else {"message": denied})},
    )
