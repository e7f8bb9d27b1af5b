"""The refresh token grant (RFC 6749 section 6) with rotation and reuse detection (RFC 9700 4.14).

Every use returns a new refresh token and retires the old one; presenting a retired one
revokes its whole family (DOT's ``REFRESH_TOKEN_REUSE_PROTECTION``). The new access token
is for the same API and at most the same scopes; a narrower ``scope`` may be asked for.

"The same scopes" are the refresh token's own: those first requested (and consented to), kept
by every rotated token (section 6: the new refresh token's scope is identical), not the access
token's, which the API's RBAC may have narrowed. RBAC is applied again to every refresh
(``rbac_apply``): a role removed since takes its scopes out of the next access token, a role
given back returns them.
"""

from __future__ import annotations

from oauthlib.openid.connect.core.grant_types import RefreshTokenGrant

from apps.audit.models import TokenEvent
from apps.oauth import constants
from apps.oauth.grants.user_tokens import UserTokenRules, rbac_post_token


class RefreshTokenRules(UserTokenRules):
    grant_type = constants.GrantType.REFRESH_TOKEN
    # No transaction: the presented token is read, and everything the refresh writes (retire it,
    # insert the new rows) is one statement at the very end (``token_rows``), atomic by itself.
    # A reuse's revocation commits as it happens, as it must.
    success_log_type = TokenEvent.Type.SUCCESS_REFRESH_TOKEN
    failure_log_type = TokenEvent.Type.FAILED_REFRESH_TOKEN

    def oauthlib_grant(self, validator) -> RefreshTokenGrant:
        # Rotation: every use returns a new refresh token (offline access was checked when the
        # first one was issued, and the API's setting again in the validator).
        return RefreshTokenGrant(validator, post_token=[rbac_post_token])
