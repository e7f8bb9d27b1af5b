"""Auth0's MFA grants: the second step of a password sign-in that answered ``mfa_required``.

``http://auth0.com/oauth/grant-type/mfa-otp`` (``mfa_token`` + ``otp``) and
``http://auth0.com/oauth/grant-type/mfa-recovery-code`` (``mfa_token`` + ``recovery_code``),
from Auth0's "Authenticate using the resource owner password flow with MFA":

- the ``mfa_token`` (``accounts.mfa``) names the user, the client it was issued to (only that
  client may continue), and the audience and scope the password grant asked for: the tokens
  issued now are exactly what the password grant would have issued without MFA;
- a wrong code is ``invalid_grant`` (403); codes are single use and counted like passwords
  (``too_many_attempts`` 429); an expired mfa_token is ``expired_token``;
- the first valid one-time code confirms an authenticator enrolled through ``/mfa/associate``.
"""

from __future__ import annotations

from oauthlib.oauth2.rfc6749 import errors as oauthlib_errors

from apps.accounts.errors import SignInRefused
from apps.accounts.mfa.services import otp_verify, recovery_code_use
from apps.accounts.mfa.tokens import mfa_token_read
from apps.audit.models import TokenEvent
from apps.oauth import constants, errors
from apps.oauth.context import OAuthContext, current
from apps.oauth.grants.password import PasswordGrant, PasswordRules, request_end_user_ip
from apps.oauth.mfa_api import looks_like_jwt, mfa_api_token_claims

PARAM_MFA_TOKEN = "mfa_token"
PARAM_OTP = "otp"
PARAM_RECOVERY_CODE = "recovery_code"


class MfaGrant(PasswordGrant):
    """The password grant's token issuance, after the second factor instead of the password."""

    def __init__(self, request_validator, *, grant_type: str, rules: MfaRules, **kwargs) -> None:
        super().__init__(request_validator, grant_type=grant_type, **kwargs)
        self.rules = rules

    def validate_token_request(self, request) -> None:
        for name in (PARAM_MFA_TOKEN, self.rules.code_param):
            if not getattr(request, name, None):
                raise errors.InvalidRequest(errors.MSG_MISSING_PARAMETER.format(name=name), request=request)
        if request.grant_type != self.grant_type:
            raise oauthlib_errors.UnsupportedGrantTypeError(request=request)
        self.validate_client_authentication(request)
        self.validate_grant_type(request)
        context = current()
        self.rules.continue_sign_in(request, context)
        self.validate_scopes(request)
        self.rules.second_factor(request, context)


class MfaRules(PasswordRules):
    code_param: str

    def oauthlib_grant(self, validator) -> MfaGrant:
        return MfaGrant(validator, grant_type=self.grant_type, rules=self)

    def continue_sign_in(self, request, context: OAuthContext) -> None:
        """The sign-in the ``mfa_token`` continues: its user, and the audience and scope it asked for.

        Auth0 also takes an MFA API access token here (an authenticator associated with one is
        confirmed by this grant); the tokens issued are then for the MFA API again."""
        token, client_id = request.mfa_token, request.client.client_id
        try:
            if looks_like_jwt(token):
                claims = mfa_api_token_claims(
                    token, tenant=context.tenant, issuer=context.issuer, client_id=client_id
                )
            else:
                claims = mfa_token_read(tenant=context.tenant, token=token, client_id=client_id)
        except SignInRefused as refusal:
            raise errors.SignInFailed(refusal, request=request) from None
        request.user = claims.user
        request.audience = claims.audience
        request.scope = claims.scope
        request.scopes = None  # oauthlib reads ``scope`` again in validate_scopes

    def second_factor(self, request, context: OAuthContext) -> None:
        context.end_user_ip = request_end_user_ip(context, application=request.client)
        try:
            self.verify(request, context)
        except SignInRefused as refusal:
            raise errors.SignInFailed(refusal, request=request) from None
        self.issue_for(request, context, username=request.user.username)

    def verify(self, request, context: OAuthContext) -> None:
        raise NotImplementedError


class MfaOtpRules(MfaRules):
    grant_type = constants.GrantType.MFA_OTP
    success_log_type = TokenEvent.Type.SUCCESS_MFA_OTP
    failure_log_type = TokenEvent.Type.FAILED_MFA_OTP
    code_param = PARAM_OTP

    def verify(self, request, context: OAuthContext) -> None:
        otp_verify(tenant=context.tenant, user=request.user, code=request.otp, ip=context.end_user_ip)


class MfaRecoveryCodeRules(MfaRules):
    grant_type = constants.GrantType.MFA_RECOVERY_CODE
    success_log_type = TokenEvent.Type.SUCCESS_MFA_RECOVERY_CODE
    failure_log_type = TokenEvent.Type.FAILED_MFA_RECOVERY_CODE
    code_param = PARAM_RECOVERY_CODE

    def verify(self, request, context: OAuthContext) -> None:
        recovery_code_use(
            tenant=context.tenant, user=request.user, code=request.recovery_code, ip=context.end_user_ip
        )
