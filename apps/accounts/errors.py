"""Why a sign-in (login page, password grant, one-time code) was refused: typed, with Auth0's names.

Every surface renders the same refusal its own way: the token endpoint as RFC 6749 JSON with
``code`` as ``error`` (Auth0's wording in ``message``), the login page as a readable message.
Messages are constants that tests assert against. None of them says whether an account exists.
"""

from __future__ import annotations

from http import HTTPStatus

# One message for a wrong password, an unknown user and a deactivated user (Auth0's wording):
# nothing a client sees may tell whether an account exists.
WRONG_CREDENTIALS_MESSAGE = "Wrong email or password."
ACCOUNT_BLOCKED_MESSAGE = "Your account has been blocked after multiple consecutive login attempts."
IP_THROTTLED_MESSAGE = (
    "We have detected suspicious login behavior and further attempts will be blocked. "
    "Please contact the administrator."
)


class SignInRefused(Exception):
    """A refused sign-in. ``code`` is Auth0's error name, ``status`` the token endpoint's status."""

    code: str = "invalid_grant"
    status: HTTPStatus = HTTPStatus.FORBIDDEN
    message: str = WRONG_CREDENTIALS_MESSAGE
    retry_after: int | None = None

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        if message is not None:
            self.message = message
        if retry_after is not None:
            self.retry_after = retry_after
        super().__init__(self.message)


class WrongCredentials(SignInRefused):
    """Wrong password, unknown user or deactivated user: always the same answer (Auth0: 403)."""


class AccountBlocked(SignInRefused):
    """Brute-force protection: too many consecutive failures for this account from this IP."""

    code = "too_many_attempts"
    status = HTTPStatus.TOO_MANY_REQUESTS
    message = ACCOUNT_BLOCKED_MESSAGE


class IpThrottled(SignInRefused):
    """Suspicious-IP throttling: too many failures across accounts from this IP (``retry_after`` set)."""

    code = "too_many_attempts"
    status = HTTPStatus.TOO_MANY_REQUESTS
    message = IP_THROTTLED_MESSAGE


# --- Multi-factor authentication (Auth0's MFA API and its mfa-otp / mfa-recovery-code grants) ----
MFA_TOKEN_MALFORMED_MESSAGE = "Malformed mfa_token"
MFA_TOKEN_EXPIRED_MESSAGE = "mfa_token is expired"
MFA_REQUIRED_MESSAGE = "Multifactor authentication required"
INVALID_OTP_MESSAGE = "Invalid otp_code."
INVALID_RECOVERY_CODE_MESSAGE = "Invalid recovery_code."
MFA_TOO_MANY_ATTEMPTS_MESSAGE = "Too many failed codes. Wait for some minutes before retrying."


class MfaTokenInvalid(SignInRefused):
    """An ``mfa_token`` that is not one we issued, or not for this tenant, client or (active) user.

    Auth0 answers every such case ``invalid_grant`` "Malformed mfa_token": the caller learns only
    that the token it sent is not usable here.
    """

    code = "invalid_grant"
    status = HTTPStatus.FORBIDDEN
    message = MFA_TOKEN_MALFORMED_MESSAGE


class MfaTokenExpired(SignInRefused):
    """A genuine ``mfa_token`` older than ``MFA_TOKEN_LIFETIME_SECONDS`` (Auth0: ``expired_token``)."""

    code = "expired_token"
    status = HTTPStatus.FORBIDDEN
    message = MFA_TOKEN_EXPIRED_MESSAGE


class InvalidOtp(SignInRefused):
    """A wrong, replayed or out-of-window one-time code (Auth0: ``invalid_grant`` "Invalid otp_code.")."""

    code = "invalid_grant"
    status = HTTPStatus.FORBIDDEN
    message = INVALID_OTP_MESSAGE


class InvalidRecoveryCode(SignInRefused):
    """A wrong or already used recovery code (Auth0: ``invalid_grant`` "Invalid recovery_code.")."""

    code = "invalid_grant"
    status = HTTPStatus.FORBIDDEN
    message = INVALID_RECOVERY_CODE_MESSAGE


class MfaTooManyAttempts(AccountBlocked):
    """Brute-force protection of the second factor: too many consecutive wrong codes for this user.

    Refused even with the right code until ``MFA_LOCKOUT_SECONDS`` pass (``retry_after`` says how
    long at most) or an admin resets the user's MFA.
    """

    message = MFA_TOO_MANY_ATTEMPTS_MESSAGE


class MfaRequired(SignInRefused):
    """The password was right and a second factor is due (Auth0: 403 ``mfa_required``, with an
    ``mfa_token`` the client continues with at ``/mfa/challenge`` and the MFA grants)."""

    code = "mfa_required"
    status = HTTPStatus.FORBIDDEN
    message = MFA_REQUIRED_MESSAGE
