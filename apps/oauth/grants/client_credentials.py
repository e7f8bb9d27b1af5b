"""Auth0's rules for machine-to-machine tokens: audience, client grant and scopes.

- The API is named by ``audience`` or RFC 8707 ``resource`` (one API per token), or
  falls back to the tenant's default audience.
- The client needs a client grant for that API (403 ``access_denied`` otherwise).
- No ``scope`` requested: the token carries every granted scope. Requested scopes must
  all be granted; any that is not is refused, by name.
- Tokens are self-contained JWTs with ``sub`` = ``<client_id>@clients``: no row per token.
"""

from __future__ import annotations

from typing import Any

from oauthlib.oauth2 import ClientCredentialsGrant

from apps.audit.models import TokenEvent
from apps.core.validators import SCOPE_TOKEN_RE
from apps.grants.selectors import client_grant_scopes
from apps.oauth import constants, errors
from apps.oauth.audience import api_for_audience, requested_audience
from apps.oauth.context import OAuthContext
from apps.oauth.grants.base import GrantRules


class ClientCredentialsRules(GrantRules):
    grant_type = constants.GrantType.CLIENT_CREDENTIALS
    success_log_type = TokenEvent.Type.SUCCESS_CLIENT_CREDENTIALS
    failure_log_type = TokenEvent.Type.FAILED_CLIENT_CREDENTIALS
    persists_tokens = False

    def oauthlib_grant(self, validator) -> ClientCredentialsGrant:
        return ClientCredentialsGrant(validator)

    def resolve(self, request, context: OAuthContext) -> None:
        """The API and granted scopes for this request, computed once and kept in the context."""
        if context.api is not None:
            return
        audience = requested_audience(request, context)
        api = api_for_audience(audience=audience, context=context, request=request)
        granted = client_grant_scopes(application_id=request.client.pk, api_id=api.id)
        if granted is None:
            raise errors.AccessDenied(errors.MSG_NO_CLIENT_GRANT.format(audience=audience), request=request)
        # Scopes the API no longer defines are never issued, even if a grant still lists them.
        context.api, context.granted = api, granted & api.scopes

    def default_scopes(self, request, context: OAuthContext) -> list[str]:
        self.resolve(request, context)
        return sorted(context.granted)

    def check_scopes(self, request, context: OAuthContext, scopes: list[str]) -> list[str]:
        self.resolve(request, context)
        if any(not SCOPE_TOKEN_RE.match(scope) for scope in scopes):
            raise errors.InvalidScope(errors.MSG_MALFORMED_SCOPE, request=request)
        missing = [scope for scope in dict.fromkeys(scopes) if scope not in context.granted]
        if missing:
            raise errors.AccessDenied(
                errors.MSG_SCOPES_NOT_GRANTED.format(scopes=" ".join(missing)), request=request
            )
        return scopes

    def subject_claims(self, request, context: OAuthContext) -> dict[str, Any]:
        client_id = request.client.client_id
        return {"sub": f"{client_id}{constants.M2M_SUBJECT_SUFFIX}", "gty": constants.GTY_CLIENT_CREDENTIALS}
