"""Every grant type the token endpoint implements, each with its rules. One list, used everywhere:
request parsing (which grant types exist), the validator (dispatch), the oauthlib server
(built from it), discovery and the token log."""

from __future__ import annotations

from apps.oauth.authorization.rules import AUTHORIZATION_RULES
from apps.oauth.grants.authorization_code import AuthorizationCodeRules
from apps.oauth.grants.base import GrantRules
from apps.oauth.grants.client_credentials import ClientCredentialsRules
from apps.oauth.grants.mfa import MfaOtpRules, MfaRecoveryCodeRules
from apps.oauth.grants.password import PasswordRealmRules, PasswordRules
from apps.oauth.grants.refresh_token import RefreshTokenRules

GRANT_RULES: dict[str, GrantRules] = {
    rules.grant_type: rules
    for rules in (
        ClientCredentialsRules(),
        AuthorizationCodeRules(),
        RefreshTokenRules(),
        PasswordRules(),
        PasswordRealmRules(),
        MfaOtpRules(),
        MfaRecoveryCodeRules(),
    )
}
SUPPORTED_GRANT_TYPES: frozenset[str] = frozenset(GRANT_RULES)


def rules_for(grant_type: str | None) -> GrantRules | None:
    return GRANT_RULES.get(grant_type or "")


def rules_for_request(request) -> GrantRules:
    """The token endpoint's rules for the request's grant type, or the authorization endpoint's
    (tokens issued at ``/authorize`` by the implicit grant; oauthlib sets no grant type there)."""
    return GRANT_RULES.get(request.grant_type or "") or AUTHORIZATION_RULES
