"""What the grants that issue tokens to end users share: subject, rows, refresh tokens.

Tokens issued on a user's behalf get rows (access token by ``jti``, refresh token by its
hash, ID token), each bound to the tenant, the audience and the user grant (consent)
they came from: revoking the grant deletes them (the foreign keys cascade).
"""

from __future__ import annotations

from typing import Any

from apps.core.oidc import OFFLINE_ACCESS
from apps.oauth import constants
from apps.oauth.claims import user_subject
from apps.oauth.context import OAuthContext, current
from apps.oauth.grants.base import GrantRules


class UserTokenRules(GrantRules):
    persists_tokens = True

    def default_scopes(self, request, context: OAuthContext) -> list[str]:
        return []  # the scopes come from the code or the refresh token, never from a default

    def check_scopes(self, request, context: OAuthContext, scopes: list[str]) -> list[str]:
        return scopes

    def subject_claims(self, request, context: OAuthContext) -> dict[str, Any]:
        return {"sub": user_subject(request.user)}


def offline_access_allowed(request, context: OAuthContext) -> bool:
    """Auth0: a refresh token only for ``offline_access``, an API that allows it and a client that may refresh."""
    return (
        OFFLINE_ACCESS in (request.scopes or ())
        and context.api is not None
        and context.api.allow_offline_access
        and constants.GrantType.REFRESH_TOKEN in request.client.grant_types
    )


def drop_refresh_token_unless_offline(token: dict, token_handler, request) -> dict:
    """oauthlib token modifier: oauthlib always mints a refresh token; keep it only when allowed."""
    if "refresh_token" in token and not offline_access_allowed(request, current()):
        del token["refresh_token"]
    return token
