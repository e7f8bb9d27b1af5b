"""Auth0's rules for machine-to-machine tokens: audience, client grant, scopes and token rules.

- The API is named by ``audience`` or RFC 8707 ``resource`` (one API per token), or
  falls back to the tenant's default audience.
- The client needs a client grant for that API (403 ``access_denied`` otherwise).
- No ``scope`` requested: the token carries every granted scope. Requested scopes must
  all be granted; any that is not is refused, by name.
- Then the tenant's token rules and the token hook (``apps.token_rules``) may add custom
  claims, remove scopes, add granted scopes, or refuse the token (403 ``access_denied``
  with the rule's message; a failing hook: 500 ``server_error`` JSON and an audit event).
- Tokens are self-contained JWTs with ``sub`` = ``<client_id>@clients``: no row per token.
"""

from __future__ import annotations

from typing import Any

from oauthlib.oauth2 import ClientCredentialsGrant

from apps.apis.selectors import ApiSnapshot
from apps.audit.models import TokenEvent
from apps.core.validators import SCOPE_TOKEN_RE
from apps.grants.selectors import client_grant_scopes
from apps.oauth import constants, errors
from apps.oauth.audience import api_for_audience, requested_audience
from apps.oauth.context import OAuthContext
from apps.oauth.grants.base import GrantRules
from apps.token_rules.evaluation import Customization, token_customize
from apps.token_rules.selectors import token_rules_compiled
from apps.token_rules.services import token_hook_refusal_record


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
        context.api, context.granted = (
            api,
            granted_scopes(application=request.client, api=api, request=request),
        )

    def default_scopes(self, request, context: OAuthContext) -> list[str]:
        self.resolve(request, context)
        return sorted(context.granted)

    def check_scopes(self, request, context: OAuthContext, scopes: list[str]) -> list[str]:
        self.resolve(request, context)
        scopes = checked_scopes(scopes, granted=context.granted, request=request)
        return self.customize(request, context, scopes)

    def customize(self, request, context: OAuthContext, scopes: list[str]) -> list[str]:
        """The tenant's token rules and the token hook: the scopes to issue, and the custom claims
        (kept in the context for minting). Memoised rules: no database query on this path."""
        client, api = request.client, context.api
        outcome = token_customize(
            rules=token_rules_compiled(tenant_id=context.tenant.pk),
            tenant_slug=context.tenant.slug,
            application_id=client.pk,
            client_id=client.client_id,
            client_metadata=client.client_metadata,
            api_id=api.id,
            audience=api.identifier,
            granted=context.granted,
            scopes=scopes,
        )
        if outcome.refused:
            refuse(outcome, tenant=context.tenant, client_id=client.client_id, api=api, request=request)
        context.custom_claims = outcome.claims
        return outcome.scopes

    def subject_claims(self, request, context: OAuthContext) -> dict[str, Any]:
        client_id = request.client.client_id
        return {"sub": f"{client_id}{constants.M2M_SUBJECT_SUFFIX}", "gty": constants.GTY_CLIENT_CREDENTIALS}


def granted_scopes(*, application, api: ApiSnapshot, request=None) -> frozenset[str]:
    """The client grant's scopes for ``api``; ``access_denied`` without a grant (Auth0's message)."""
    granted = client_grant_scopes(application_id=application.pk, api_id=api.id)
    if granted is None:
        raise errors.AccessDenied(errors.MSG_NO_CLIENT_GRANT.format(audience=api.identifier), request=request)
    # Scopes the API no longer defines are never issued, even if a grant still lists them.
    return granted & api.scopes


def checked_scopes(scopes: list[str], *, granted: frozenset[str], request=None) -> list[str]:
    """``scopes`` as requested, if well-formed and all granted (RFC 6749 3.3; Auth0's refusal by name)."""
    if any(not SCOPE_TOKEN_RE.match(scope) for scope in scopes):
        raise errors.InvalidScope(errors.MSG_MALFORMED_SCOPE, request=request)
    missing = [scope for scope in dict.fromkeys(scopes) if scope not in granted]
    if missing:
        raise errors.AccessDenied(
            errors.MSG_SCOPES_NOT_GRANTED.format(scopes=" ".join(missing)), request=request
        )
    return scopes


def refuse(outcome: Customization, *, tenant, client_id: str, api: ApiSnapshot, request=None) -> None:
    """Raise the refusal a denying rule or the hook decided; the hook's are audit events too.

    A deny rule's refusal is in the token log (with its message); it is the tenant's own
    configuration working as intended. The hook's refusals and failures are code deciding
    outside that configuration, so the tenant's admins see them in the audit trail.
    """
    if outcome.by_hook:
        token_hook_refusal_record(
            tenant=tenant,
            client_id=client_id,
            audience=api.identifier,
            denied=outcome.denied,
            failure=outcome.failure,
        )
    if outcome.failure is not None:
        raise errors.ServerError(errors.MSG_TOKEN_HOOK_FAILED, request=request)
    raise errors.AccessDenied(outcome.denied, request=request)


def client_credentials_preview(
    *, tenant, application, api: ApiSnapshot, scopes: list[str] | None = None
) -> Customization:
    """What the token endpoint would decide for ``application`` asking a token for ``api``: the
    admin's dry run. The same grant and scope checks (raising the same ``errors.OAuthError``)
    and the same ``token_customize``, traced; nothing is recorded or issued."""
    granted = granted_scopes(application=application, api=api)
    requested = checked_scopes(scopes or sorted(granted), granted=granted)
    return token_customize(
        rules=token_rules_compiled(tenant_id=tenant.pk),
        tenant_slug=tenant.slug,
        application_id=application.pk,
        client_id=application.client_id,
        client_metadata=application.client_metadata,
        api_id=api.id,
        audience=api.identifier,
        granted=granted,
        scopes=requested,
        trace=True,
    )
