"""The authorization endpoint's rules (RFC 6749 4.1/4.2, OIDC Core 3): response types and scopes.

- ``audience`` (or RFC 8707 ``resource``) names the API, else the tenant's default audience;
  with neither, the token is for ``/userinfo`` alone (as Auth0 does).
- Requested scopes are the OpenID ones (``openid profile email offline_access``) and the API's;
  a scope the API does not define is dropped, as Auth0 does; a malformed one is refused.
  ``offline_access`` is kept only when the API allows offline access.
- Tokens issued here (implicit): the API's RBAC narrows the scopes when they are issued, once the
  user is known (``rbac_apply``). A code keeps the scopes as consented; RBAC applies at its exchange.
"""

from __future__ import annotations

from django.db import models
from oauthlib.oauth2.rfc6749.grant_types import AuthorizationCodeGrant as OAuth2AuthorizationCodeGrant
from oauthlib.oauth2.rfc6749.grant_types import ImplicitGrant as OAuth2ImplicitGrant
from oauthlib.openid.connect.core.grant_types import AuthorizationCodeGrant as OIDCAuthorizationCodeGrant
from oauthlib.openid.connect.core.grant_types import ImplicitGrant as OIDCImplicitGrant
from oauthlib.openid.connect.core.grant_types.dispatchers import (
    AuthorizationCodeGrantDispatcher,
    ImplicitTokenGrantDispatcher,
)

from apps.audit.models import TokenEvent
from apps.core.oidc import OFFLINE_ACCESS, OIDC_SCOPES
from apps.core.validators import SCOPE_TOKEN_RE
from apps.oauth import constants, errors
from apps.oauth.audience import api_for_audience, requested_audience
from apps.oauth.context import OAuthContext
from apps.oauth.grants.user_tokens import UserTokenRules, rbac_apply


class ResponseType(models.TextChoices):
    CODE = "code", "Authorization code"
    TOKEN = "token", "Access token (implicit)"
    ID_TOKEN_TOKEN = "id_token token", "ID token and access token (implicit)"
    ID_TOKEN = "id_token", "ID token (implicit)"


class ResponseMode(models.TextChoices):
    QUERY = "query", "Query"
    FRAGMENT = "fragment", "Fragment"
    FORM_POST = "form_post", "Form post"


DEFAULT_RESPONSE_TYPE = ResponseType.CODE.value
IMPLICIT_RESPONSE_TYPES = frozenset({ResponseType.TOKEN, ResponseType.ID_TOKEN_TOKEN, ResponseType.ID_TOKEN})


def response_types(validator) -> dict:
    implicit = OIDCImplicitGrant(validator)
    return {
        ResponseType.CODE.value: AuthorizationCodeGrantDispatcher(
            default_grant=OAuth2AuthorizationCodeGrant(validator),
            oidc_grant=OIDCAuthorizationCodeGrant(validator),
        ),
        ResponseType.TOKEN.value: ImplicitTokenGrantDispatcher(
            default_grant=OAuth2ImplicitGrant(validator), oidc_grant=implicit
        ),
        ResponseType.ID_TOKEN_TOKEN.value: implicit,
        ResponseType.ID_TOKEN.value: implicit,
    }


def default_response_mode(response_type: str) -> str:
    """OAuth 2.0 Multiple Response Types 2.1: query for code, fragment when a token is returned."""
    return ResponseMode.FRAGMENT if response_type in IMPLICIT_RESPONSE_TYPES else ResponseMode.QUERY


class AuthorizationRules(UserTokenRules):
    """Tokens issued by the authorization endpoint itself (implicit) follow the user-token rules."""

    grant_type = constants.GrantType.IMPLICIT
    success_log_type = TokenEvent.Type.SUCCESS_AUTHORIZATION_CODE
    failure_log_type = TokenEvent.Type.FAILED_AUTHORIZATION_CODE

    def default_scopes(self, request, context: OAuthContext) -> list[str]:
        self.resolve(request, context)
        return []

    def resolve(self, request, context: OAuthContext) -> None:
        if context.audience or context.api is not None:
            return
        audience = requested_audience(request, context)
        context.api = (
            api_for_audience(audience=audience, context=context, request=request) if audience else None
        )
        context.audience = audience

    def check_scopes(self, request, context: OAuthContext, scopes: list[str]) -> list[str]:
        self.resolve(request, context)
        if any(not SCOPE_TOKEN_RE.match(scope) for scope in scopes):
            raise errors.InvalidScope(errors.MSG_MALFORMED_SCOPE, request=request)
        api = context.api
        kept = []
        for scope in dict.fromkeys(scopes):
            if scope == OFFLINE_ACCESS:
                if api is not None and api.allow_offline_access:
                    kept.append(scope)
            elif scope in OIDC_SCOPES or (api is not None and scope in api.scopes):
                kept.append(scope)
        if request.user is not None and request.response_type in IMPLICIT_RESPONSE_TYPES:
            # Issuing (oauthlib validates again, with the user, before minting): the user's permissions.
            kept = rbac_apply(context=context, user=request.user, scopes=kept)
        return kept


AUTHORIZATION_RULES = AuthorizationRules()
