"""Test access tokens minted from the portal (the API's "Test" tab, like Auth0's dashboard).

A tenant admin asks for a token an authorized M2M application would get for an API, without its
secret (Portcullis keeps only a hash of it). The token is the real thing: the same client
credentials rules the token endpoint applies (client grant, granted scopes, token rules and the
token hook), minted by the same generator (``tokens.generate_access_token``) and signed with the
same key, so it works against the API like any other. Only the client authentication step is
replaced by the admin's own authority, which is why each test token is an audit event naming
the admin, on top of its row in the token log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jwt
from django.core.exceptions import ValidationError
from oauthlib.common import Request as OAuthlibRequest

from apps.apis.models import Api
from apps.apis.selectors import api_get_by_identifier
from apps.applications.models import Application
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.audit.token_log import token_event_record
from apps.oauth import errors, tokens
from apps.oauth.constants import TOKEN_PATH, AuthMethod, GrantType
from apps.oauth.context import OAuthContext, bound
from apps.oauth.grants.client_credentials import granted_scopes
from apps.oauth.grants.registry import rules_for

MSG_CROSS_TENANT = "The application and the API must belong to the same tenant."


@dataclass(frozen=True, slots=True)
class IssuedTestToken:
    """A minted test token as the Test tab shows it: the token response's fields, and the JWT decoded."""

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int
    scope: str
    header: dict[str, Any]
    claims: dict[str, Any]


def _check_client(application: Application, *, request: OAuthlibRequest) -> None:
    """What the token endpoint checks of the client before the grant's rules, with its refusals:
    an inactive or public client fails client authentication, a client without the grant type
    is unauthorized for it."""
    if not application.is_active or application.token_endpoint_auth_method == AuthMethod.NONE:
        raise errors.InvalidClient(errors.MSG_CLIENT_AUTH_FAILED, request=request)
    if GrantType.CLIENT_CREDENTIALS not in application.grant_types:
        raise errors.UnauthorizedClient(
            errors.MSG_GRANT_TYPE_NOT_ALLOWED.format(grant_type=GrantType.CLIENT_CREDENTIALS.value),
            request=request,
        )


def api_test_token_issue(
    *, api: Api, application: Application, issuer: str, actor, ip: str | None = None
) -> IssuedTestToken:
    """Mint the access token ``application`` would get for ``api`` by client credentials, for ``actor``.

    ``issuer`` is the tenant's issuer as the portal's host names it (``issuer_for_host``). The
    token carries every scope the client grant holds (the token endpoint's default, after the
    token rules). Issued or refused, the request is in the token log, as the token endpoint
    records it (``ip`` is the admin's address); an issued one is also an audit event
    (``api.test_token_issued``) naming the admin, the client and the token's ``jti``. Refusals
    are the token endpoint's: an ``errors.OAuthError`` with its error code and message.
    """
    if application.tenant_id != api.tenant_id:
        raise ValidationError(MSG_CROSS_TENANT, code="cross_tenant")
    tenant = api.tenant
    rules = rules_for(GrantType.CLIENT_CREDENTIALS)
    context = OAuthContext(tenant=tenant, issuer=issuer, client_id=application.client_id)
    # The oauthlib request the token endpoint's rules and generator read (client, grant type, scopes).
    request = OAuthlibRequest(f"{issuer}{TOKEN_PATH}", http_method="POST")
    request.client, request.client_id = application, application.client_id
    request.grant_type = GrantType.CLIENT_CREDENTIALS.value
    log = {"tenant_id": tenant.pk, "client_id": application.client_id, "ip": ip}
    try:
        with bound(context):
            _check_client(application, request=request)
            # The snapshot the token endpoint reads (scopes, lifetime, the HS256 secret).
            snapshot = api_get_by_identifier(tenant_id=tenant.pk, identifier=api.identifier)
            if snapshot is None:  # deleted since the page was shown
                raise errors.AccessDenied(errors.MSG_SERVICE_NOT_FOUND.format(audience=api.identifier))
            context.api = snapshot
            context.granted = granted_scopes(application=application, api=snapshot, request=request)
            request.scopes = rules.check_scopes(request, context, rules.default_scopes(request, context))
            access_token = tokens.generate_access_token(request)
            expires_in = tokens.expires_in(request)
    except errors.OAuthError as error:
        token_event_record(
            type=rules.failure_log_type,
            audience=api.identifier,
            error=error.error,
            error_description=error.description[:500],
            **log,
        )
        raise
    token_event_record(
        type=rules.success_log_type, audience=context.audience, scope=context.scope, jti=context.jti, **log
    )
    audit_record(
        tenant=tenant,
        type=AuditEvent.Type.API_TEST_TOKEN_ISSUED,
        actor=actor,
        target=api.identifier,
        data={"client_id": application.client_id, "scope": context.scope, "jti": context.jti},
    )
    return IssuedTestToken(
        access_token=access_token,
        token_type="Bearer",
        expires_in=expires_in,
        scope=context.scope,
        header=jwt.get_unverified_header(access_token),
        # Just signed by us: decoded for display, not verified again.
        claims=jwt.decode(access_token, options={"verify_signature": False}),
    )
