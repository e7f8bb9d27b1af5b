"""What the grants that issue tokens to end users share: subject, rows, refresh tokens, RBAC.

Tokens issued on a user's behalf get rows (access token by ``jti``, refresh token by its
hash, ID token), each bound to the tenant, the audience and the user grant (consent)
they came from: revoking the grant deletes them (the foreign keys cascade).

Every user token passes ``rbac_apply`` once its user and scopes are known: the code exchange and
the refresh (``rbac_post_token``, an oauthlib post-token validator), tokens issued at ``/authorize``
(``authorization.flow``) and the password grant.
"""

from __future__ import annotations

from typing import Any

from apps.accounts.rbac.selectors import user_permissions_for_api
from apps.core.oidc import OFFLINE_ACCESS, OIDC_SCOPES
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


def rbac_apply(*, context: OAuthContext, user, scopes: list[str]) -> list[str]:
    """The scopes a user token gets for ``scopes`` as requested, under the API's RBAC.

    Auth0 ("Role-based access control", "Enable RBAC"): when the token's API (``context.api``)
    enforces RBAC, a requested scope the user does not hold (directly or through a role) is
    dropped silently; OpenID Connect's scopes (``openid profile email offline_access``) are kept,
    and so is nothing else (a scope the API no longer defines cannot be held). The user's full
    permission set for the API is kept in ``context.permissions`` for the ``permissions`` claim
    (``tokens.generate_access_token``), read afresh (one query) so that a change of role shows
    in the very next token. Without RBAC (or without an API) the scopes are returned unchanged.

    ``context.requested_scopes`` keeps the scopes as requested: a refresh token keeps those, not
    the narrowed ones, so a role given back later gives its scopes back at the next refresh.
    """
    context.requested_scopes = tuple(scopes)
    api = context.api
    if api is None or not api.rbac_enabled:
        context.permissions = None
        return scopes
    held = user_permissions_for_api(tenant_id=context.tenant.pk, user_id=user.pk, api_id=api.id)
    context.permissions = held
    return [scope for scope in scopes if scope in OIDC_SCOPES or scope in held]


def rbac_post_token(request) -> None:
    """oauthlib post-token validator (code exchange, refresh): RBAC once the user and scopes are known."""
    request.scopes = rbac_apply(context=current(), user=request.user, scopes=list(request.scopes or ()))
