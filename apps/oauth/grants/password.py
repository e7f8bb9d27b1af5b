"""The resource owner password grant (RFC 6749 section 4.3), as Auth0 offers it to highly trusted apps.

Auth0's "Call your API using the Resource Owner Password Flow":

- ``grant_type=password``, or ``http://auth0.com/oauth/grant-type/password-realm`` with ``realm``
  naming the tenant's user database (``Username-Password-Authentication`` unless the tenant
  renamed it); only for applications whose grant types include it (403 ``unauthorized_client``).
- ``audience`` and ``scope`` as at the authorization endpoint (``AuthorizationRules``): the API's
  scopes and the OpenID ones, unknown ones dropped; with RBAC, only what the user holds.
- No consent page: the application is trusted with the password. The approval is still recorded
  as a user grant, so the user sees the application among their authorized applications and can
  revoke what it holds.
- Refresh tokens with ``offline_access`` (API and client permitting), an ID token with ``openid``.
- The password is checked by ``accounts.services.credentials_check``, with the tenant's attack
  protection, before anything is issued; refusals keep Auth0's names (``invalid_grant`` "Wrong
  email or password." 403, ``too_many_attempts`` 429). The end user's IP is the caller's, or
  ``auth0-forwarded-for`` from a confidential client trusted to send it.

The order of checks differs from oauthlib's on purpose: the client, its right to this grant, the
realm and the audience are all checked before the password, so a request that would fail anyway
neither spends a password hash nor counts as a failed sign-in.
"""

from __future__ import annotations

import json

from oauthlib.oauth2.rfc6749 import errors as oauthlib_errors
from oauthlib.oauth2.rfc6749.grant_types import ResourceOwnerPasswordCredentialsGrant
from oauthlib.openid.connect.core.grant_types.base import GrantTypeBase as OIDCGrantTypeBase

from apps.accounts.errors import MfaRequired, SignInRefused, WrongCredentials
from apps.accounts.mfa.selectors import mfa_needed
from apps.accounts.mfa.tokens import mfa_token_issue
from apps.accounts.services import credentials_check, login_success_record
from apps.apis.selectors import api_get
from apps.audit.models import TokenEvent
from apps.core.client_ip import client_ip, end_user_ip
from apps.grants.services import user_grant_record
from apps.oauth import constants, errors
from apps.oauth.audience import requested_audience
from apps.oauth.authorization.rules import AuthorizationRules
from apps.oauth.context import OAuthContext, current
from apps.oauth.grants.user_tokens import drop_refresh_token_unless_offline, rbac_apply
from apps.oauth.mfa_api import is_mfa_api, mfa_api, mfa_audience
from apps.tenants.selectors import tenant_database_connection

PARAM_REALM = "realm"
# The header a trusted backend names its end user's address with (Auth0).
FORWARDED_FOR_META = "HTTP_AUTH0_FORWARDED_FOR"


class _IdTokens(OIDCGrantTypeBase):
    """oauthlib's OpenID Connect ID-token step, for a grant OpenID Connect does not define: Auth0
    returns an ID token from the password grant when ``openid`` is asked for."""

    def __init__(self, proxy_target) -> None:
        self.proxy_target = proxy_target


class PasswordGrant(ResourceOwnerPasswordCredentialsGrant):
    """oauthlib's password grant for both of Auth0's grant type names, checks in our order, and its
    token modifiers called with the request (as every other oauthlib grant calls them)."""

    def __init__(self, request_validator, *, grant_type: str, **kwargs) -> None:
        super().__init__(request_validator, **kwargs)
        self.grant_type = grant_type
        self.register_token_modifier(drop_refresh_token_unless_offline)
        self.register_token_modifier(_IdTokens(self).add_id_token)

    def create_token_response(self, request, token_handler):
        headers = self._get_default_headers()
        try:
            self.validate_token_request(request)
        except oauthlib_errors.OAuth2Error as error:
            headers.update(error.headers)
            return headers, error.json, error.status_code
        token = token_handler.create_token(request, self.refresh_token)
        for modifier in self._token_modifiers:
            token = modifier(token, token_handler, request)
        self.request_validator.save_token(token, request)
        return headers, json.dumps(token), 200

    def validate_token_request(self, request) -> None:
        for name in ("username", "password"):
            if not getattr(request, name, None):
                raise errors.InvalidRequest(errors.MSG_MISSING_PARAMETER.format(name=name), request=request)
        if request.grant_type != self.grant_type:
            raise oauthlib_errors.UnsupportedGrantTypeError(request=request)
        self.validate_client_authentication(request)
        self.validate_grant_type(request)
        if self.grant_type == constants.GrantType.PASSWORD_REALM:
            realm_check(request, current())
        self.validate_scopes(request)
        # The rules raise the refusal with its Auth0 name; a plain False still refuses, the same way.
        if not self.request_validator.validate_user(
            request.username, request.password, request.client, request
        ):
            raise errors.SignInFailed(WrongCredentials(), request=request)


def realm_check(request, context: OAuthContext) -> None:
    """``realm`` must name the tenant's user database (Auth0's password-realm grant)."""
    realm = getattr(request, PARAM_REALM, None) or ""
    if not realm:
        raise errors.InvalidRequest(errors.MSG_MISSING_PARAMETER.format(name=PARAM_REALM), request=request)
    connection = tenant_database_connection(tenant=context.tenant)
    if realm != connection:
        raise errors.InvalidRequest(
            errors.MSG_UNKNOWN_REALM.format(realm=realm[:100], connection=connection), request=request
        )


class PasswordRules(AuthorizationRules):
    """The password grant's rules; the API and scopes are resolved as at the authorization endpoint."""

    grant_type = constants.GrantType.PASSWORD
    success_log_type = TokenEvent.Type.SUCCESS_PASSWORD
    failure_log_type = TokenEvent.Type.FAILED_PASSWORD

    def oauthlib_grant(self, validator) -> PasswordGrant:
        return PasswordGrant(validator, grant_type=self.grant_type)

    def resolve(self, request, context: OAuthContext) -> None:
        """The API, as at the authorization endpoint, or the built-in MFA API (``mfa_api``)."""
        if context.audience or context.api is not None:
            return
        audience = requested_audience(request, context)
        if audience and audience == mfa_audience(context.issuer):
            context.api = mfa_api(tenant_id=context.tenant.pk, issuer=context.issuer)
            context.audience = audience
            return
        super().resolve(request, context)

    def subject_claims(self, request, context: OAuthContext) -> dict:
        return super().subject_claims(request, context) | {"gty": constants.GTY_PASSWORD}

    def authenticate(self, request, context: OAuthContext, *, username: str, password: str) -> None:
        """Sign the user in with their password (``credentials_check``); then, if a second factor is
        due (``mfa_needed``), answer ``mfa_required`` with an ``mfa_token`` that carries this request's
        audience and scopes to the MFA grants; else bind what is issued to a user grant. Raises
        ``errors.SignInFailed`` with the refusal's Auth0 name."""
        client = request.client
        context.end_user_ip = request_end_user_ip(context, application=client)
        try:
            user = credentials_check(
                tenant=context.tenant,
                username=username,
                password=password,
                ip=context.end_user_ip,
                client_id=client.client_id,
            )
        except SignInRefused as refusal:
            raise errors.SignInFailed(refusal, request=request) from None
        request.user = user
        if mfa_needed(tenant=context.tenant, user=user):
            mfa_token = mfa_token_issue(
                tenant=context.tenant,
                user=user,
                client_id=client.client_id,
                audience=context.audience,
                scope=" ".join(request.scopes or ()),
            )
            raise errors.SignInFailed(MfaRequired(), request=request, extra={"mfa_token": mfa_token})
        self.issue_for(request, context, username=username)

    def issue_for(self, request, context: OAuthContext, *, username: str) -> None:
        """The user is who they say: the scopes under the API's RBAC (``rbac_apply``), then record the
        sign-in and the approval (the scopes as requested) the tokens are bound to."""
        user, client = request.user, request.client
        requested = list(request.scopes or ())
        request.scopes = rbac_apply(context=context, user=user, scopes=requested)
        if not is_mfa_api(context.api):  # tokens for the MFA API manage a factor: no approval to record
            api = (
                api_get(tenant_id=context.tenant.pk, api_id=context.api.id)
                if context.api is not None
                else None
            )
            grant = user_grant_record(
                tenant=context.tenant, user=user, application=client, api=api, scopes=requested
            )
            context.user_grant_id = grant.pk
        login_success_record(
            tenant=context.tenant,
            user=user,
            username=username,
            ip=context.end_user_ip,
            client_id=client.client_id,
        )


class PasswordRealmRules(PasswordRules):
    grant_type = constants.GrantType.PASSWORD_REALM


def request_end_user_ip(context: OAuthContext, *, application) -> str | None:
    """The end user's address: the caller's, or what a trusted confidential client says it is."""
    http_request = context.http_request
    if http_request is None:
        return None
    return end_user_ip(
        peer_ip=client_ip(http_request),
        forwarded_for=http_request.META.get(FORWARDED_FOR_META),
        application=application,
    )
