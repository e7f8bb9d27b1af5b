"""Auth0's MFA API as an audience the password grants can ask tokens for: ``<issuer>mfa/``.

Auth0's "Manage authenticator factors using the MFA API": a trusted application asks the
password grant for ``audience=<issuer>mfa/`` and ``scope=enroll`` (or ``read:authenticators``,
``remove:authenticators``) and gets an access token that ``/mfa/associate`` and
``/mfa/authenticators`` accept. A user who already has a second factor must pass it first
(``mfa_required``), so a password alone never manages someone's authenticators.

The API is built in, not a row: its scopes and lifetime are fixed, it is never under RBAC,
and its tokens are signed with the tenant's RS256 key like every other access token.
"""

from __future__ import annotations

from apps.accounts.errors import MfaTokenInvalid
from apps.accounts.mfa.tokens import MfaTokenClaims
from apps.accounts.models import User
from apps.apis.models import Api
from apps.apis.selectors import ApiSnapshot
from apps.oauth.claims import user_id_from_subject

# The MFA API's audience is this path under the issuer (Auth0: https://{yourDomain}/mfa/).
MFA_API_PATH = "mfa/"
SCOPE_ENROLL = "enroll"
SCOPE_READ_AUTHENTICATORS = "read:authenticators"
SCOPE_REMOVE_AUTHENTICATORS = "remove:authenticators"
MFA_API_SCOPES = frozenset({SCOPE_ENROLL, SCOPE_READ_AUTHENTICATORS, SCOPE_REMOVE_AUTHENTICATORS})
# Short-lived: the token manages a second factor. No API row has id 0.
MFA_API_TOKEN_LIFETIME = 600
MFA_API_ID = 0


def mfa_audience(issuer: str) -> str:
    return f"{issuer}{MFA_API_PATH}"


def mfa_api(*, tenant_id: int, issuer: str) -> ApiSnapshot:
    return ApiSnapshot(
        id=MFA_API_ID,
        tenant_id=tenant_id,
        identifier=mfa_audience(issuer),
        name="MFA API",
        signing_alg=Api.SigningAlgorithm.RS256,
        token_lifetime=MFA_API_TOKEN_LIFETIME,
        scopes=MFA_API_SCOPES,
        rbac_enabled=False,
        add_permissions_in_token=False,
        signing_secret=None,
    )


def is_mfa_api(api: ApiSnapshot | None) -> bool:
    return api is not None and api.id == MFA_API_ID


def mfa_api_token_claims(token: str, *, tenant, issuer: str, client_id: str) -> MfaTokenClaims:
    """An MFA API access token used where Auth0 takes an ``mfa_token`` (confirming an authenticator
    associated with that token: the ``mfa-otp`` grant), read as one: it must be ours, live, for
    the MFA API with ``enroll``, issued to ``client_id``, for an active user of this tenant.
    Raises ``MfaTokenInvalid`` otherwise (the same answer as for a bad ``mfa_token``)."""
    from apps.oauth.tokens import verify_access_token  # tokens -> grant registry -> this module

    claims = verify_access_token(token, tenant_id=tenant.pk, issuer=issuer)
    if claims is None or claims.get("client_id") != client_id:
        raise MfaTokenInvalid()
    audience = claims.get("aud")
    scopes = str(claims.get("scope", "")).split()
    if mfa_audience(issuer) not in (audience if isinstance(audience, list) else [audience]):
        raise MfaTokenInvalid()
    if SCOPE_ENROLL not in scopes:
        raise MfaTokenInvalid()
    user_id = user_id_from_subject(str(claims.get("sub", "")))
    user = User.objects.filter(pk=user_id, tenant_id=tenant.pk, is_active=True).first() if user_id else None
    if user is None:
        raise MfaTokenInvalid()
    return MfaTokenClaims(
        user=user, client_id=client_id, audience=mfa_audience(issuer), scope=" ".join(scopes)
    )


def looks_like_jwt(token: str) -> bool:
    """An access token (a JWS, three dot-separated parts), not an ``mfa_token`` (signed, with colons)."""
    return token.count(".") == 2 and ":" not in token
