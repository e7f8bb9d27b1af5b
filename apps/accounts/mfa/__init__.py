"""Multi-factor authentication for a tenant's end users: TOTP authenticators and recovery codes.

Auth0's model ("Authenticate using the resource owner password flow with MFA", "Manage
authenticator factors using the MFA API"): a tenant policy says who needs a second factor
(``selectors.mfa_policy``); the password grant answers ``mfa_required`` with an ``mfa_token``
(``tokens``); the user enrols (``services.totp_associate``, confirmed by the first valid code)
and proves the factor with a one-time code (``services.otp_verify``) or a recovery code
(``services.recovery_code_use``). The login page's second step and the account page use the
same services.
"""
