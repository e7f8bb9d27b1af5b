"""Verify a JWT access token the way RFC 9068 section 4 tells a resource server to.

Order matters only for cost: cheap header checks first, the signature next (PyJWT), then
claims, then (when ``DENY_LIST`` is on) the issuer's deny list. Every failure is
``errors.InvalidToken`` with a constant description.
"""

from __future__ import annotations

from typing import Any

import jwt
from jwt import PyJWK
from jwt.exceptions import InvalidJTIError

from . import errors
from .conf import HMAC_ALGORITHM, ResourceServerConfig
from .deny_list import check_not_revoked
from .jwks import signing_key

# RFC 9068 section 4: "typ" must be "at+jwt" or "application/at+jwt". Media types compare
# case-insensitively (RFC 7515 section 4.1.9), hence the lower-casing before the lookup.
ACCESS_TOKEN_TYPES: frozenset[str] = frozenset({"at+jwt", "application/at+jwt"})
# RFC 9068 section 2.2 also requires client_id and jti; iss/sub/aud/exp/iat are what this
# kit needs to decide, and they are what every Auth0-style issuer sets.
REQUIRED_CLAIMS: tuple[str, ...] = ("iss", "sub", "aud", "exp", "iat")
# With the deny list on, jti is required too: revocation names a token by its jti, so a token
# without one could never be revoked and must not be accepted (RFC 9068 section 2.2, RFC 7519 4.1.7).
REQUIRED_CLAIMS_WITH_DENY_LIST: tuple[str, ...] = (*REQUIRED_CLAIMS, "jti")


def verify_access_token(token: str, *, config: ResourceServerConfig) -> dict[str, Any]:
    """The token's claims once it passed every check; raises ``errors.InvalidToken`` otherwise."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise errors.InvalidToken(errors.MSG_TOKEN_MALFORMED) from None

    alg = header.get("alg")
    # The allow-list comes from configuration, never from the token: this refuses "none" and
    # every algorithm the API did not choose (RFC 8725 sections 2.1 and 3.1).
    if not isinstance(alg, str) or alg not in config.algorithms:
        raise errors.InvalidToken(errors.MSG_ALG_NOT_ALLOWED)
    typ = header.get("typ")
    # Explicit typing (RFC 8725 section 3.11) stops an ID token or any other JWT signed by the
    # same issuer from being replayed here as an access token.
    if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
        raise errors.InvalidToken(errors.MSG_TYP_INVALID)
    # RFC 7515 section 4.1.11: a recipient must reject extensions it does not understand; we know none.
    if "crit" in header:
        raise errors.InvalidToken(errors.MSG_CRIT_UNSUPPORTED)

    key = _verification_key(header=header, alg=alg, config=config)
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[alg],
            audience=config.audience,
            issuer=config.issuer,
            leeway=config.leeway,
            options={
                "require": list(REQUIRED_CLAIMS_WITH_DENY_LIST if config.deny_list else REQUIRED_CLAIMS)
            },
        )
    except jwt.InvalidSignatureError:
        raise errors.InvalidToken(errors.MSG_SIGNATURE_INVALID) from None
    except jwt.ExpiredSignatureError:
        raise errors.InvalidToken(errors.MSG_EXPIRED) from None
    except jwt.ImmatureSignatureError:
        raise errors.InvalidToken(errors.MSG_NOT_YET_VALID) from None
    except jwt.InvalidAudienceError:
        raise errors.InvalidToken(errors.MSG_AUDIENCE_INVALID) from None
    except jwt.InvalidIssuerError:
        raise errors.InvalidToken(errors.MSG_ISSUER_INVALID) from None
    except jwt.MissingRequiredClaimError as exc:
        raise errors.InvalidToken(errors.MSG_CLAIM_MISSING.format(claim=exc.claim)) from None
    except InvalidJTIError:
        raise errors.InvalidToken(errors.MSG_CLAIM_INVALID.format(claim="jti")) from None
    except jwt.PyJWTError:
        # Malformed payloads, non-numeric exp/iat, a non-string sub...: nothing worth telling apart.
        raise errors.InvalidToken(errors.MSG_TOKEN_INVALID) from None

    _check_claim_types(claims)
    if config.deny_list:
        # Last, once the token is known to be genuine, current and for this API: only then is it
        # worth a lookup (and, when the list is due, a fetch); forged tokens never cause one.
        _check_not_revoked(claims, config=config)
    return claims


def _verification_key(*, header: dict[str, Any], alg: str, config: ResourceServerConfig) -> PyJWK | bytes:
    """The key chosen by the header's ``alg`` first, then its ``kid``, never the other way round.

    HS256 is verified only with the configured shared secret and RS/ES only with a JWKS public
    key whose own algorithm is the header's: an attacker cannot make us use an RSA public key
    as an HMAC secret (RFC 8725 section 2.1, the "algorithm confusion" attack).
    """
    if alg == HMAC_ALGORITHM:
        if not config.hs256_secret:  # conf.parse_config refuses this; stay closed regardless
            raise errors.InvalidToken(errors.MSG_ALG_NOT_ALLOWED)
        return config.hs256_secret
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        # The issuer always names its key (RFC 7515 section 4.1.4); guessing among keys invites confusion.
        raise errors.InvalidToken(errors.MSG_KID_MISSING)
    key = signing_key(config=config, kid=kid)
    # PyJWK takes the JWK's "alg" member (RFC 7517 section 4.4) or infers one from its key type;
    # either way a key published for ES256 never verifies an RS256 token, and symmetric ("oct")
    # keys from a JWKS are never used at all.
    if key.key_type == "oct" or key.algorithm_name != alg:
        raise errors.InvalidToken(errors.MSG_KEY_ALG_MISMATCH)
    return key


def _check_claim_types(claims: dict[str, Any]) -> None:
    """Claims the kit reads must have the types RFC 9068 section 2.2 gives them."""
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise errors.InvalidToken(errors.MSG_CLAIM_INVALID.format(claim="sub"))
    # RFC 9068 section 2.2.3 / RFC 8693 section 4.2: "scope" is one space-delimited string.
    if "scope" in claims and not isinstance(claims["scope"], str):
        raise errors.InvalidToken(errors.MSG_CLAIM_INVALID.format(claim="scope"))
    for claim in ("client_id", "azp"):
        if claim in claims and not isinstance(claims[claim], str):
            raise errors.InvalidToken(errors.MSG_CLAIM_INVALID.format(claim=claim))


def _check_not_revoked(claims: dict[str, Any], *, config: ResourceServerConfig) -> None:
    """Refuse a token the issuer revoked: its ``jti`` (a string, RFC 7519 section 4.1.7) is denied."""
    jti = claims["jti"]  # jwt.decode required it (a string) when the deny list is on
    if not isinstance(jti, str) or not jti:  # "" names no token
        raise errors.InvalidToken(errors.MSG_CLAIM_INVALID.format(claim="jti"))
    check_not_revoked(jti=jti, config=config)
