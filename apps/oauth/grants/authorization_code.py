"""The authorization code exchange (RFC 6749 section 4.1.3, RFC 7636, OIDC Core 3.1.3).

The code is single use (a replay fails with ``invalid_grant`` and revokes what the first
exchange issued), bound to the client, the redirect URI and the PKCE verifier, valid for
``AUTHORIZATION_CODE_EXPIRE_SECONDS`` (60 s, as Auth0). The API and the scopes are those
the user consented to at ``/authorize``, stored with the code, narrowed by the API's RBAC
(``rbac_apply``) as they stand at the exchange.
"""

from __future__ import annotations

from oauthlib.oauth2.rfc6749.grant_types import AuthorizationCodeGrant as OAuth2AuthorizationCodeGrant
from oauthlib.openid.connect.core.grant_types import AuthorizationCodeGrant as OIDCAuthorizationCodeGrant
from oauthlib.openid.connect.core.grant_types.dispatchers import AuthorizationTokenGrantDispatcher

from apps.audit.models import TokenEvent
from apps.oauth import constants
from apps.oauth.grants.user_tokens import UserTokenRules, drop_refresh_token_unless_offline, rbac_post_token


class AuthorizationCodeRules(UserTokenRules):
    grant_type = constants.GrantType.AUTHORIZATION_CODE
    # The code's row is read FOR UPDATE, then marked used after the tokens are written.
    needs_transaction = True
    success_log_type = TokenEvent.Type.SUCCESS_AUTHORIZATION_CODE
    failure_log_type = TokenEvent.Type.FAILED_AUTHORIZATION_CODE

    def oauthlib_grant(self, validator) -> AuthorizationTokenGrantDispatcher:
        oauth2 = OAuth2AuthorizationCodeGrant(validator)
        oidc = OIDCAuthorizationCodeGrant(validator)
        for grant in (oauth2, oidc.proxy_target):
            grant.custom_validators.post_token.append(rbac_post_token)
            grant.register_token_modifier(drop_refresh_token_unless_offline)
        return AuthorizationTokenGrantDispatcher(validator, default_grant=oauth2, oidc_grant=oidc)
