"""Token hooks the tests name in ``settings.PORTCULLIS_TOKEN_HOOK`` (not collected: no ``test_`` prefix)."""

from __future__ import annotations

from apps.token_rules.hooks import TokenHookContext, TokenHookDenied, TokenHookResult

TIER_CLAIM = "https://example.com/tier"
DENIED_MESSAGE = "Partner contract expired"
seen: list[TokenHookContext] = []  # what the hook was called with, for assertions


def add_tier(context: TokenHookContext) -> TokenHookResult:
    """Adds a claim computed from the context, keeping what the rules set."""
    seen.append(context)
    return TokenHookResult(
        claims={**context.claims, TIER_CLAIM: f"{context.client_metadata.get('plan', 'none')}-tier"}
    )


def change_nothing(context: TokenHookContext) -> None:
    seen.append(context)


def deny(context: TokenHookContext) -> TokenHookResult:
    raise TokenHookDenied(DENIED_MESSAGE)


def crash(context: TokenHookContext) -> TokenHookResult:
    raise RuntimeError("database password is hunter2")  # must never reach the client


def set_registered_claim(context: TokenHookContext) -> TokenHookResult:
    return TokenHookResult(claims={"sub": "someone-else"})


def widen_scopes(context: TokenHookContext) -> TokenHookResult:
    return TokenHookResult(scopes=[*context.scopes, "delete:things", "admin:everything"])


def only_read(context: TokenHookContext) -> TokenHookResult:
    return TokenHookResult(scopes=["read:things"])


def mutate_context(context: TokenHookContext) -> None:
    context.claims["https://example.com/plan"] = "hacked"  # type: ignore[index]


def mutate_nested_claim(context: TokenHookContext) -> None:
    context.claims["https://example.com/teams"].append("intruders")
