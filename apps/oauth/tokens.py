"""Minting RFC 9068 JWT access tokens with Auth0's claims (DOT's ``ACCESS_TOKEN_GENERATOR``), and ID tokens."""

from __future__ import annotations

import base64
import functools
import json
import secrets
import time
from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms

from apps.apis.models import DEFAULT_TOKEN_LIFETIME, Api
from apps.apis.selectors import ApiSnapshot, api_get_by_identifier
from apps.core.oidc import OPENID
from apps.grants.selectors import token_is_denied
from apps.oauth import constants, errors
from apps.oauth.claims import USERINFO_PATH
from apps.oauth.context import current
from apps.oauth.grants.registry import rules_for_request
from apps.tenants.models import SigningKey
from apps.tenants.selectors import ActiveSigningKey, signing_key_current, signing_key_public


def expires_in(request) -> int:
    """Access token lifetime: the API's (Auth0), or a day for tokens meant for userinfo alone."""
    api = current().api
    return api.token_lifetime if api is not None else DEFAULT_TOKEN_LIFETIME


def generate_access_token(request, refresh_token: bool = False) -> str:
    """Called by oauthlib's BearerToken once the request is validated.

    The API and the scopes were resolved by the grant's rules (``current().api``,
    ``request.scopes``); the subject claims come from the same rules.
    """
    context = current()
    api = context.api
    client_id = request.client.client_id
    scopes = request.scopes or ()
    now = int(time.time())
    rules = rules_for_request(request)
    claims: dict[str, Any] = {
        "iss": context.issuer,
        **rules.subject_claims(request, context),
        "aud": _audience(api, scopes, issuer=context.issuer),
        "iat": now,
        "exp": now + expires_in(request),
        # 128 random bits as 32 hex digits, like uuid4().hex (which builds a UUID object to get there).
        "jti": secrets.token_hex(16),
        "client_id": client_id,  # RFC 9068 section 2.2
        "azp": client_id,  # Auth0
        "scope": " ".join(scopes),
    }
    if api is not None and api.rbac_enabled:
        permissions = _rbac_permissions(rules, context, api, scopes)
        if api.add_permissions_in_token:
            claims["permissions"] = permissions
    for name, value in context.custom_claims.items():
        claims.setdefault(name, value)  # validated as namespaced; a registered claim still always wins
    context.audience = api.identifier if api else ""
    context.scope, context.jti = claims["scope"], claims["jti"]
    return sign(claims, api=api, tenant_id=context.tenant.pk)


def _rbac_permissions(rules, context, api: ApiSnapshot, scopes) -> list[str]:
    """Auth0's ``permissions`` claim for an API with RBAC. A user token: all of the user's
    permissions for the API (not only those requested), as ``rbac_apply`` read them. An M2M
    token: its scopes the API defines (client credentials are governed by client grants, not
    roles). A user token whose grant never applied RBAC is refused rather than issued with
    scopes the user may not hold."""
    if not rules.persists_tokens:
        return [scope for scope in scopes if scope in api.scopes]
    if context.permissions is None:
        raise errors.ServerMisconfigured(errors.MSG_RBAC_NOT_APPLIED)
    return sorted(context.permissions)


def generate_refresh_token(request) -> str:
    """An opaque refresh token: 256 random bits; only its SHA-256 is stored (``models.checksum``)."""
    return secrets.token_urlsafe(32)


def _audience(api: ApiSnapshot | None, scopes, *, issuer: str) -> str | list[str]:
    """Auth0: a token asked for an API with ``openid`` is also good for ``/userinfo``."""
    userinfo = f"{issuer}{USERINFO_PATH}"
    if api is None:
        return userinfo
    if OPENID in scopes:
        return [api.identifier, userinfo]
    return api.identifier


def sign(claims: dict, *, api: ApiSnapshot | None, tenant_id: int) -> str:
    headers = {"typ": constants.ACCESS_TOKEN_JWT_TYPE}
    if api is not None and api.signing_alg == Api.SigningAlgorithm.HS256:
        return jwt.encode(claims, api.signing_secret, algorithm=api.signing_alg, headers=headers)
    algorithm = api.signing_alg if api is not None else SigningKey.Algorithm.RS256
    return _sign_with_tenant_key(claims, headers=headers, tenant_id=tenant_id, algorithm=algorithm)


def sign_id_token(claims: dict, *, tenant_id: int) -> str:
    """ID tokens are signed RS256 with the tenant's key (OIDC Core 15.1: RS256 MUST be supported)."""
    return _sign_with_tenant_key(
        claims, headers={"typ": "JWT"}, tenant_id=tenant_id, algorithm=SigningKey.Algorithm.RS256
    )


def _sign_with_tenant_key(claims: dict, *, headers: dict, tenant_id: int, algorithm: str) -> str:
    key = signing_key_current(tenant_id=tenant_id, algorithm=algorithm)
    if key is None:
        raise errors.ServerMisconfigured(errors.MSG_SIGNING_KEY_MISSING.format(algorithm=algorithm))
    return _compact_jws(claims, key=key, typ=headers["typ"])


# PyJWT's algorithm objects (the RS256 and ES256 signatures themselves) and the claims' JSON as
# PyJWT writes it (compact separators, ASCII), with one encoder instead of one per call.
_ALGORITHMS = get_default_algorithms()
_CLAIMS_JSON = json.JSONEncoder(separators=(",", ":"))


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@functools.lru_cache(maxsize=256)
def _header_segment(algorithm: str, kid: str, typ: str) -> bytes:
    """The protected header of every JWS a key signs with this ``typ``, base64url-encoded once
    (the bytes PyJWT writes: sorted keys, compact separators)."""
    header = {"alg": algorithm, "kid": kid, "typ": typ}
    return _b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def _compact_jws(claims: dict, *, key: ActiveSigningKey, typ: str) -> str:
    """RFC 7515 section 7.1 compact serialization of ``claims`` signed with ``key``.

    What ``jwt.encode`` produces for the same claims and headers, byte for byte, and PyJWT still
    computes the signature; but the header, whose only variable parts are the key's ``kid``
    and algorithm, is encoded once per key instead of once per token, and none of
    ``jwt.encode``'s per-call checks of what never varies here (key type, algorithm name,
    header merging) run on the token endpoint's hot path (issue 11: ~25 us of ~40 us).
    """
    signing_input = (
        _header_segment(key.algorithm, key.kid, typ) + b"." + _b64url(_CLAIMS_JSON.encode(claims).encode())
    )
    signature = _ALGORITHMS[key.algorithm].sign(signing_input, key.private_key)
    return (signing_input + b"." + _b64url(signature)).decode()


# Claims every access token we mint carries (RFC 9068 section 2.2); one missing means not ours.
_REQUIRED_ACCESS_TOKEN_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]


def verify_access_token(token: str, *, tenant_id: int, issuer: str) -> dict | None:
    """The claims of an access token this tenant issued and still honours, or None.

    RFC 9068 section 4, in order: a JWS (never ``alg: none``) whose header says ``at+jwt``;
    signed by one of the tenant's published keys (the ``kid``; a revoked key is not published),
    with that key's algorithm only, or, for an API that signs with HS256, with that API's own
    secret (never a public key as an HMAC secret); ``iss`` this tenant's issuer; not expired;
    not on the deny list. Header members that name keys (``jwk``, ``jku``, ``x5u``, ``x5c``)
    are never used. No query unless configuration or the deny list must be re-read.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None
    if header.get("typ") != constants.ACCESS_TOKEN_JWT_TYPE:
        return None
    options = {"require": _REQUIRED_ACCESS_TOKEN_CLAIMS, "verify_aud": False}
    try:
        if header.get("alg") == Api.SigningAlgorithm.HS256:
            secret = _hs256_secret_of(token, tenant_id=tenant_id)
            if secret is None:
                return None
            claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=issuer, options=options)
        else:
            key = signing_key_public(tenant_id=tenant_id, kid=str(header.get("kid", "")))
            if key is None:
                return None
            claims = jwt.decode(
                token, key.public_key, algorithms=[key.algorithm], issuer=issuer, options=options
            )
    except jwt.PyJWTError:
        return None
    if token_is_denied(tenant_id=tenant_id, jti=str(claims["jti"])):
        return None
    return claims


def _hs256_secret_of(token: str, *, tenant_id: int) -> bytes | None:
    """The secret of the API an HS256 token names in ``aud`` (its first audience), if that API
    signs with HS256; the signature check that follows decides whether the token is genuine."""
    try:
        audience = jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.PyJWTError:
        return None
    first = audience[0] if isinstance(audience, list) and audience else audience
    if not isinstance(first, str):
        return None
    api = api_get_by_identifier(tenant_id=tenant_id, identifier=first)
    if api is None or api.signing_alg != Api.SigningAlgorithm.HS256 or not api.signing_secret:
        return None
    return api.signing_secret


def signed_by_unpublished_key(token: str, *, tenant_id: int) -> bool:
    """Whether ``token`` names a key of this tenant that is no longer published (revoked, retired).

    For endpoints that find our access tokens by their stored row (userinfo): the row proves
    we issued the token, not that its key is still trusted. A revoked key must take its
    tokens with it at once (issue 6), as it does for every verifier that uses the JWKS.
    Tokens that are not JWTs, or are signed with an API's own HS256 secret, name no tenant
    key: the row lookup alone decides for them. One cached lookup (``signing_key_public``).
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return False
    if header.get("alg") not in SigningKey.Algorithm.values:
        return False
    return signing_key_public(tenant_id=tenant_id, kid=str(header.get("kid", ""))) is None


def verify_own_jwt(token: str, *, tenant, verify_exp: bool = True) -> dict | None:
    """The claims of a JWT this tenant signed with one of its published keys, or None."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None
    key = signing_key_public(tenant_id=tenant.pk, kid=str(header.get("kid", "")))
    if key is None:
        return None
    try:
        return jwt.decode(
            token,
            key.public_key,
            algorithms=[key.algorithm],
            options={"verify_exp": verify_exp, "verify_aud": False},
        )
    except jwt.PyJWTError:
        return None
