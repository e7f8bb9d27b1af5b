"""Auth0's ``mfa_token``: what the password grant hands out instead of tokens when a second factor is due.

Short-lived (``MFA_TOKEN_LIFETIME_SECONDS``, Auth0's 10 minutes) and single purpose: a value
signed with ``django.core.signing`` under its own salt, so no other signed value of ours (a
session, a password-reset link) is accepted as one, and it is not a JWT, so no resource server
can mistake it for an access token. It is bound to the tenant, the user and the client it was
issued to, and carries the ``audience`` and ``scope`` the password grant was asked for, so the
MFA grants (``mfa-otp``, ``mfa-recovery-code``) issue exactly the tokens that were withheld.
Stateless: it cannot be revoked, only expire; what it unlocks still needs the second factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing

from apps.accounts.errors import MfaTokenExpired, MfaTokenInvalid
from apps.accounts.models import User

MFA_TOKEN_SALT = "portcullis.accounts.mfa.mfa_token"
# Longer values are refused before any signature work (an mfa_token is well under 1 KB).
MFA_TOKEN_MAX_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class MfaTokenClaims:
    """What a valid ``mfa_token`` says: whose sign-in it continues, for which client and request."""

    user: User
    client_id: str
    audience: str
    scope: str


def mfa_token_issue(*, tenant, user, client_id: str, audience: str, scope: str) -> str:
    """An ``mfa_token`` for ``user``'s sign-in through ``client_id`` (Auth0's ``mfa_required`` answer)."""
    payload = {"t": tenant.pk, "u": user.pk, "c": client_id, "a": audience or "", "s": scope or ""}
    return signing.dumps(payload, salt=MFA_TOKEN_SALT, compress=True)


def mfa_token_read(*, tenant, token: str, client_id: str) -> MfaTokenClaims:
    """The claims of ``token``, checked: ours, unexpired, of this tenant and client, for an active user.

    Raises ``MfaTokenExpired`` for a genuine token past its lifetime, ``MfaTokenInvalid`` for
    anything else (malformed, tampered, another tenant's, another client's, user gone or
    deactivated): Auth0 answers these alike, so nobody learns which check failed.
    """
    if not isinstance(token, str) or not token or len(token) > MFA_TOKEN_MAX_LENGTH:
        raise MfaTokenInvalid()
    try:
        payload: Any = signing.loads(token, salt=MFA_TOKEN_SALT, max_age=settings.MFA_TOKEN_LIFETIME_SECONDS)
    except signing.SignatureExpired:
        raise MfaTokenExpired() from None
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise MfaTokenInvalid() from None
    if not isinstance(payload, dict) or payload.get("t") != tenant.pk or payload.get("c") != client_id:
        raise MfaTokenInvalid()
    user_id, audience, scope = payload.get("u"), payload.get("a"), payload.get("s")
    if not isinstance(user_id, int) or not isinstance(audience, str) or not isinstance(scope, str):
        raise MfaTokenInvalid()
    user = User.objects.filter(pk=user_id, tenant_id=tenant.pk, is_active=True).first()
    if user is None:
        raise MfaTokenInvalid()
    return MfaTokenClaims(user=user, client_id=client_id, audience=audience, scope=scope)


def mfa_token_client_id(token: str) -> str:
    """The client an ``mfa_token`` was issued to (signature checked, expiry not: ``mfa_token_read`` does).

    For endpoints where Auth0 lets the caller present the token without naming its client
    (``/mfa/associate`` with ``Authorization: Bearer <mfa_token>``). Raises ``MfaTokenInvalid``.
    """
    if not isinstance(token, str) or not token or len(token) > MFA_TOKEN_MAX_LENGTH:
        raise MfaTokenInvalid()
    try:
        payload: Any = signing.loads(token, salt=MFA_TOKEN_SALT)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise MfaTokenInvalid() from None
    client_id = payload.get("c") if isinstance(payload, dict) else None
    if not isinstance(client_id, str):
        raise MfaTokenInvalid()
    return client_id
