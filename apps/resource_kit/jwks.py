"""The issuer's public signing keys (RFC 7517 JWK Set), fetched over HTTP and cached per process.

One ``PyJWKClient`` per JWKS URI lives in a module-level dict. PyJWT's client caches the
whole key set for ``JWKS_LIFESPAN`` seconds and, when a token names a ``kid`` it has not
seen (the issuer rotated keys), refetches at most once per cooldown period: an attacker
sending random ``kid`` values cannot turn this API into a load generator against the issuer.

Keys come only from the configured URI. Token headers that point elsewhere (``jku``,
``x5u``, ``jwk``; RFC 7515 sections 4.1.2-4.1.5) are ignored: trusting them would let a
token bring its own key (RFC 8725 section 3.10).
"""

from __future__ import annotations

import http.client
import logging
import threading

from jwt import PyJWK, PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError, PyJWTError

from . import errors
from .conf import ResourceServerConfig

logger = logging.getLogger(__name__)

USER_AGENT = "resource-kit (PyJWT JWKS client)"

_clients: dict[str, PyJWKClient] = {}
_clients_lock = threading.Lock()

# What a failed fetch can raise: PyJWT's own errors, a body that is not JSON (ValueError),
# and socket errors urllib does not wrap (a connection reset while reading the body).
_FETCH_ERRORS = (PyJWTError, ValueError, OSError, http.client.HTTPException)


def jwks_client(config: ResourceServerConfig) -> PyJWKClient:
    """The shared client for ``config.jwks_uri``; created on first use."""
    client = _clients.get(config.jwks_uri)
    if client is None:
        with _clients_lock:
            client = _clients.get(config.jwks_uri)
            if client is None:
                client = PyJWKClient(
                    config.jwks_uri,
                    # The per-kid LRU cache never expires; the key-set cache below does, so a key
                    # the issuer revokes stops being trusted after one lifespan.
                    cache_keys=False,
                    cache_jwk_set=True,
                    lifespan=config.jwks_lifespan,
                    timeout=config.jwks_timeout,
                    headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                )
                _clients[config.jwks_uri] = client
    return client


def clear_jwks_cache() -> None:
    """Forget every fetched key set (tests; or to pick up a revoked key before the lifespan ends)."""
    with _clients_lock:
        _clients.clear()


def signing_key(*, config: ResourceServerConfig, kid: str) -> PyJWK:
    """The issuer's public key named ``kid``; raises ``InvalidToken`` when it cannot be had.

    An unreachable or broken JWKS endpoint is answered as ``invalid_token`` (the token cannot
    be verified), never as a server error: the caller learns to retry, the API stays up.
    """
    client = jwks_client(config)
    try:
        # Fetch (or read the cached set) first so an outage and an unknown kid stay distinguishable.
        client.get_signing_keys()
    except _FETCH_ERRORS as exc:
        # The URI is configuration, not a secret; the exception text holds no token material.
        logger.warning("JWKS fetch from %s failed: %s", config.jwks_uri, exc)
        raise errors.InvalidToken(errors.MSG_JWKS_UNAVAILABLE) from None
    try:
        return client.get_signing_key(kid)
    except PyJWKClientConnectionError as exc:
        logger.warning("JWKS refetch from %s failed: %s", config.jwks_uri, exc)
        raise errors.InvalidToken(errors.MSG_JWKS_UNAVAILABLE) from None
    except PyJWKClientError:
        raise errors.InvalidToken(errors.MSG_KEY_UNKNOWN) from None
    except _FETCH_ERRORS as exc:
        logger.warning("JWKS refetch from %s failed: %s", config.jwks_uri, exc)
        raise errors.InvalidToken(errors.MSG_JWKS_UNAVAILABLE) from None
