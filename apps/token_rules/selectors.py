"""Reads of token rules. The token endpoint reads them compiled, through the per-process config cache."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.core import ttlcache
from apps.token_rules.evaluation import CompiledRule, compile_rule
from apps.token_rules.models import TokenRule


def token_rules_cache_key(tenant_id: int) -> tuple:
    """The config-cache key of a tenant's compiled rules; every service that changes a rule invalidates it."""
    return ("token_rules", tenant_id)


def token_rules_compiled(*, tenant_id: int) -> tuple[CompiledRule, ...]:
    """The tenant's enabled rules in evaluation order, compiled (memoised: no query per token).

    An empty tuple is cached too, so a tenant without rules costs one query per TTL.
    """

    def load() -> tuple[CompiledRule, ...]:
        rows = TokenRule.objects.for_tenant(tenant_id).filter(enabled=True).order_by("order", "id")
        return tuple(compile_rule(rule) for rule in rows)

    return ttlcache.get_or_load(token_rules_cache_key(tenant_id), load)


def token_rule_list(*, tenant) -> QuerySet[TokenRule]:
    """Every rule of ``tenant`` (disabled ones too) in evaluation order."""
    return TokenRule.objects.for_tenant(tenant).order_by("order", "id").select_related("application", "api")
