"""Every grant type the token endpoint implements, each with its rules. One list, used everywhere:
request parsing (which grant types exist), the validator (dispatch), the oauthlib server
(built from it), discovery and the token log."""

from __future__ import annotations

from apps.oauth.grants.authorization_code import AuthorizationCodeRules
from apps.oauth.grants.base import GrantRules
from apps.oauth.grants.client_credentials import ClientCredentialsRules
from apps.oauth.grants.refresh_token import RefreshTokenRules

GRANT_RULES: dict[str, GrantRules] = {
    rules.grant_type: rules
    for rules in (ClientCredentialsRules(), AuthorizationCodeRules(), RefreshTokenRules())
}
SUPPORTED_GRANT_TYPES: frozenset[str] = frozenset(GRANT_RULES)


def rules_for(grant_type: str | None) -> GrantRules | None:
    return GRANT_RULES.get(grant_type or "")
