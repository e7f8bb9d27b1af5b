"""Minting RFC 9068 JWT access tokens with Auth0's claims (DOT's ``ACCESS_TOKEN_GENERATOR``)."""

from __future__ import annotations

import time
import uuid

import jwt

from apps.apis.models import Api
from apps.oauth import constants, errors
from apps.oauth.context import context_of
from apps.tenants.selectors import signing_key_current


def generate_access_token(request, refresh_token: bool = False) -> str:
    """Called by oauthlib's BearerToken once the request is validated.

    ``request.api`` and ``request.scopes`` were resolved by the grant's validation.
    """
    api = request.api
    client_id = request.client.client_id
    now = int(time.time())
    claims = {
        "iss": context_of(request).issuer,
        "sub": f"{client_id}{constants.M2M_SUBJECT_SUFFIX}",
        "aud": api.identifier,
        "iat": now,
        "exp": now + api.token_lifetime,
        "jti": uuid.uuid4().hex,
        "client_id": client_id,  # RFC 9068 section 2.2
        "azp": client_id,  # Auth0
        "scope": " ".join(request.scopes or ()),
        "gty": constants.GTY_CLIENT_CREDENTIALS,
    }
    if api.rbac_enabled and api.add_permissions_in_token:
        claims["permissions"] = list(request.scopes or ())
    context = context_of(request)
    context.audience, context.scope, context.jti = api.identifier, claims["scope"], claims["jti"]
    return sign(claims, request=request)


def sign(claims: dict, *, request) -> str:
    api = request.api
    headers = {"typ": constants.ACCESS_TOKEN_JWT_TYPE}
    if api.signing_alg == Api.SigningAlgorithm.HS256:
        return jwt.encode(claims, api.signing_secret, algorithm=api.signing_alg, headers=headers)
    key = signing_key_current(tenant_id=context_of(request).tenant.pk, algorithm=api.signing_alg)
    if key is None:
        raise errors.ServerMisconfigured(errors.MSG_SIGNING_KEY_MISSING.format(algorithm=api.signing_alg))
    headers["kid"] = key.kid
    return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers=headers)
