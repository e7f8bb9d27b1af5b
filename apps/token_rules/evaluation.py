"""Evaluating token rules (and the token hook) for one client-credentials token. One place.

The token endpoint (``apps.oauth.grants.client_credentials``) and the admin's dry run both
call ``token_customize``; only the dry run asks for a ``trace`` of what each rule did.

Rules are compiled once, when the tenant's rules are loaded into the per-process config
cache (``selectors.token_rules_compiled``), into ``CompiledRule`` tuples of ints, strings,
tuples and frozensets. Checking whether a rule matches is then a few comparisons; a
rule that does not match costs well under a microsecond, and nothing here touches the
database.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from django.conf import settings
from django.utils.module_loading import import_string

from apps.token_rules.claims import claim_name_error, claim_value_error
from apps.token_rules.hooks import TokenHookContext, TokenHookDenied, TokenHookResult
from apps.token_rules.models import TokenRule

logger = logging.getLogger(__name__)

HOOK_SETTING = "PORTCULLIS_TOKEN_HOOK"
HOOK = "token hook"  # how a denial or failure by the hook names its author
MAX_HOOK_MESSAGE_LENGTH = 500
_NOT_RFC6749_TEXT = re.compile(r"[^\x20-\x21\x23-\x5B\x5D-\x7E]")

MSG_HOOK_RESULT_TYPE = "the hook returned {type}, not None or a TokenHookResult"
MSG_HOOK_SCOPES = "the hook returned scopes that are not a list of strings"
MSG_HOOK_CLAIMS = "the hook returned claims that are not a mapping"
MSG_HOOK_CLAIM = "the hook returned an invalid claim: {problem}"
MSG_HOOK_RAISED = "the hook raised {type}"
MSG_HOOK_IMPORT = "the hook {path!r} could not be imported ({type})"


class CompiledRule(NamedTuple):
    """A ``TokenRule`` reduced to what evaluating it needs; immutable, shared by every thread."""

    id: int
    name: str
    application_id: int | None  # None: any application
    api_id: int | None  # None: any API
    metadata_key: str  # "": no metadata condition
    metadata_value: str | None  # None: the key with any value
    deny_message: str | None  # None: a customizing rule
    claims: tuple[tuple[str, Any], ...]
    metadata_claims: tuple[tuple[str, str], ...]
    add_scopes: tuple[str, ...]
    remove_scopes: frozenset[str]


def compile_rule(rule: TokenRule) -> CompiledRule:
    return CompiledRule(
        id=rule.pk,
        name=rule.name,
        application_id=rule.application_id,
        api_id=rule.api_id,
        metadata_key=rule.metadata_key,
        metadata_value=rule.metadata_value or None,
        deny_message=rule.deny_message if rule.action == TokenRule.Action.DENY else None,
        # Values are deep-copied out of the row: what the cache shares is never the ORM's.
        claims=tuple((name, copy.deepcopy(value)) for name, value in rule.claims.items()),
        metadata_claims=tuple(rule.metadata_claims.items()),
        add_scopes=tuple(dict.fromkeys(rule.add_scopes)),
        remove_scopes=frozenset(rule.remove_scopes),
    )


@dataclass(frozen=True, slots=True)
class RuleStep:
    """What one rule did to one token, for the dry run."""

    rule_id: int | None
    name: str
    matched: bool
    effects: tuple[str, ...] = ()


@dataclass(slots=True)
class Customization:
    """The outcome for one token: its scopes and custom claims, or why it is refused."""

    scopes: list[str]
    claims: dict[str, Any]
    denied: str | None = None  # the message for access_denied
    denied_by: str = ""  # the rule's name, or HOOK
    by_hook: bool = False  # the hook denied or failed (rule names are free text: never compared)
    failure: str | None = None  # the hook failed: what went wrong (for the audit trail, not the client)
    steps: list[RuleStep] = field(default_factory=list)  # filled only when traced

    @property
    def refused(self) -> bool:
        return self.denied is not None or self.failure is not None


def token_customize(
    *,
    rules: tuple[CompiledRule, ...],
    tenant_slug: str,
    application_id: int,
    client_id: str,
    client_metadata: Mapping[str, str],
    api_id: int,
    audience: str,
    granted: frozenset[str],
    scopes: Iterable[str],
    trace: bool = False,
) -> Customization:
    """Apply ``rules`` in order, then the hook, to a token for ``scopes`` (already within ``granted``).

    A deny rule stops the evaluation (later rules and the hook do not run). Claims set by a
    later rule replace those of an earlier one; scopes are removed and added in rule order,
    an added scope only if the client grant holds it. Pure: it writes nothing, so the
    dry run can call it; the caller records refusals.
    """
    outcome = Customization(scopes=list(scopes), claims={})
    metadata = client_metadata or {}
    for rule in rules:
        if (
            (rule.application_id is not None and rule.application_id != application_id)
            or (rule.api_id is not None and rule.api_id != api_id)
            or (rule.metadata_key and not _metadata_matches(rule, metadata))
        ):
            if trace:
                outcome.steps.append(RuleStep(rule.id, rule.name, matched=False))
            continue
        effects: list[str] | None = [] if trace else None
        if rule.deny_message is not None:
            outcome.denied, outcome.denied_by = rule.deny_message, rule.name
            if effects is not None:
                effects.append(f"denied the token: {rule.deny_message}")
                outcome.steps.append(RuleStep(rule.id, rule.name, True, tuple(effects)))
            return outcome
        _apply(rule, outcome, metadata, granted, effects)
        if effects is not None:
            outcome.steps.append(RuleStep(rule.id, rule.name, True, tuple(effects)))
    hook_path = getattr(settings, HOOK_SETTING, None)
    if hook_path:
        _run_hook(
            hook_path,
            outcome,
            TokenHookContext(
                tenant=tenant_slug,
                client_id=client_id,
                client_metadata=MappingProxyType(dict(metadata)),
                audience=audience,
                granted_scopes=granted,
                scopes=tuple(outcome.scopes),
                claims=MappingProxyType(copy.deepcopy(outcome.claims)),
            ),
            granted,
            trace,
        )
    return outcome


def _metadata_matches(rule: CompiledRule, metadata: Mapping[str, str]) -> bool:
    value = metadata.get(rule.metadata_key)
    return value is not None and (rule.metadata_value is None or value == rule.metadata_value)


def _apply(
    rule: CompiledRule,
    outcome: Customization,
    metadata: Mapping[str, str],
    granted: frozenset[str],
    effects: list[str] | None,
) -> None:
    for name, value in rule.claims:
        outcome.claims[name] = value
        if effects is not None:
            effects.append(f"set claim {name} to {_json(value)}")
    for name, key in rule.metadata_claims:
        value = metadata.get(key)
        if value is None:
            if effects is not None:
                effects.append(f"did not set claim {name}: the application has no metadata {key!r}")
            continue
        outcome.claims[name] = value
        if effects is not None:
            effects.append(f"set claim {name} to {_json(value)} (application metadata {key!r})")
    if rule.remove_scopes:
        kept = [scope for scope in outcome.scopes if scope not in rule.remove_scopes]
        if effects is not None:
            removed = [scope for scope in outcome.scopes if scope in rule.remove_scopes]
            effects.append(
                f"removed scopes {' '.join(removed)}" if removed else "removed no scope (none present)"
            )
        outcome.scopes = kept
    for scope in rule.add_scopes:
        if scope in outcome.scopes:
            continue
        if scope in granted:
            outcome.scopes.append(scope)
            if effects is not None:
                effects.append(f"added scope {scope}")
        elif effects is not None:
            effects.append(f"did not add scope {scope}: the client grant does not include it")


@functools.lru_cache(maxsize=8)
def _load_hook(path: str):
    return import_string(path)


def _run_hook(
    path: str, outcome: Customization, context: TokenHookContext, granted: frozenset[str], trace: bool
) -> None:
    """Call the hook and apply its result; a denial or a failure is put on ``outcome``."""
    try:
        hook = _load_hook(path)
    except Exception as error:  # ImportError, or whatever importing its module raised
        logger.exception("Token hook %r could not be imported", path)
        _hook_failed(outcome, trace, MSG_HOOK_IMPORT.format(path=path, type=type(error).__name__))
        return
    try:
        result = hook(context)
    except TokenHookDenied as denied:
        outcome.denied, outcome.denied_by, outcome.by_hook = _rfc6749_text(str(denied.message)), HOOK, True
        _trace_hook(outcome, trace, f"denied the token: {outcome.denied}")
        return
    except Exception as error:  # any bug in the hook: a clean server_error, the traceback in the log
        logger.exception("Token hook %r failed", path)
        _hook_failed(outcome, trace, MSG_HOOK_RAISED.format(type=type(error).__name__))
        return
    problem = _apply_hook_result(result, outcome, granted)
    if problem:
        logger.error("Token hook %r: %s", path, problem)
        _hook_failed(outcome, trace, problem)
        return
    if trace:
        changed = []
        if tuple(outcome.scopes) != context.scopes:
            changed.append(f"scopes now {' '.join(outcome.scopes) or '(none)'}")
        if outcome.claims != dict(context.claims):
            changed.append(f"claims now {_json(outcome.claims)}")
        _trace_hook(outcome, trace, "; ".join(changed) if changed else "changed nothing")


def _apply_hook_result(result: object, outcome: Customization, granted: frozenset[str]) -> str | None:
    """Check and apply what the hook returned; a description of the problem if it is invalid."""
    if result is None:
        return None
    if not isinstance(result, TokenHookResult):
        return MSG_HOOK_RESULT_TYPE.format(type=type(result).__name__)
    scopes = outcome.scopes
    if result.scopes is not None:
        if isinstance(result.scopes, str | bytes) or not isinstance(result.scopes, Iterable):
            return MSG_HOOK_SCOPES
        returned = list(result.scopes)
        if not all(isinstance(scope, str) for scope in returned):
            return MSG_HOOK_SCOPES
        # Never beyond the client grant, whatever the hook asks.
        scopes = [scope for scope in dict.fromkeys(returned) if scope in granted]
    claims = outcome.claims
    if result.claims is not None:
        if not isinstance(result.claims, Mapping):
            return MSG_HOOK_CLAIMS
        claims = dict(result.claims)
        for name, value in claims.items():
            problem = claim_name_error(name) or claim_value_error(name, value)
            if problem:
                return MSG_HOOK_CLAIM.format(problem=problem)
    outcome.scopes, outcome.claims = scopes, claims
    return None


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _trace_hook(outcome: Customization, trace: bool, effect: str) -> None:
    if trace:
        outcome.steps.append(RuleStep(None, HOOK, matched=True, effects=(effect,)))


def _hook_failed(outcome: Customization, trace: bool, failure: str) -> None:
    outcome.failure, outcome.by_hook = failure, True
    _trace_hook(outcome, trace, f"failed: {failure}")


def _rfc6749_text(message: str) -> str:
    """A hook's message as an RFC 6749 error_description may carry it (5.2: printable ASCII, no '"' or '\\')."""
    return _NOT_RFC6749_TEXT.sub("?", message)[:MAX_HOOK_MESSAGE_LENGTH] or "Denied by the token hook."
