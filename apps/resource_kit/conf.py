"""The kit's configuration: one settings dict per protected API, read at request time.

Example (``settings.py``)::

    TIMESHEETS_RESOURCE_SERVER = {
        "ISSUER": "https://auth.example.com/t/demo/",   # exact "iss" (RFC 7519 section 4.1.1)
        "AUDIENCE": "https://timesheets.example.com",   # this API's identifier, in "aud" (4.1.3)
        "ALGORITHMS": ["RS256", "ES256"],                # accepted JWS "alg" values (RFC 8725 section 3.1)
        # Optional:
        # "HS256_SECRET": "...",   # only for an API whose tokens are HS256 (then list "HS256" above)
        # "JWKS_URI": "...",       # default: <ISSUER>.well-known/jwks.json
        # "REALM": "...",          # WWW-Authenticate realm (RFC 6750 section 3); default: AUDIENCE
        # "LEEWAY": 30,            # seconds of clock skew tolerated on exp/nbf/iat
        # "JWKS_TIMEOUT": 3,       # seconds for the JWKS HTTP request
        # "JWKS_LIFESPAN": 300,    # seconds a fetched JWK Set is trusted before refetching
        # "DENY_LIST": False,      # poll the issuer's deny list and refuse revoked tokens (README.md)
        # "DENY_LIST_URI": "...",  # default: <ISSUER>oauth/deny-list?audience=<AUDIENCE, url-encoded>
        # "DENY_LIST_REFRESH": 30, # seconds between polls: how long a revoked token may still pass
        # "DENY_LIST_FAIL_CLOSED": True,  # refuse tokens until the first successful poll
    }

The dict is read on every request (a few dict lookups) rather than at import time, so
``override_settings`` / pytest-django's ``settings`` fixture take effect immediately.
A wrong configuration raises ``ImproperlyConfigured``: failing loudly beats accepting
tokens the operator did not mean to accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Asymmetric JWS algorithms (RFC 7518 section 3.1, RFC 8037): verified with a public key from the JWKS.
ASYMMETRIC_ALGORITHMS: frozenset[str] = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
# The one symmetric algorithm the kit supports, verified with HS256_SECRET and never with a JWKS key.
HMAC_ALGORITHM = "HS256"
SUPPORTED_ALGORITHMS: frozenset[str] = ASYMMETRIC_ALGORITHMS | {HMAC_ALGORITHM}

DEFAULT_LEEWAY = 30.0
DEFAULT_JWKS_TIMEOUT = 3.0
DEFAULT_JWKS_LIFESPAN = 300.0
JWKS_PATH = ".well-known/jwks.json"
DEFAULT_DENY_LIST_REFRESH = 30.0
# Polling faster than this buys little (the issuer's own caches sync in seconds) and turns every
# API process into steady load on the issuer.
MIN_DENY_LIST_REFRESH = 1.0
DENY_LIST_PATH = "oauth/deny-list"


@dataclass(frozen=True, slots=True)
class ResourceServerConfig:
    """What one API trusts: a single issuer, its own audience, and a fixed set of algorithms."""

    issuer: str
    audience: str
    algorithms: frozenset[str]
    jwks_uri: str
    realm: str
    leeway: float = DEFAULT_LEEWAY
    jwks_timeout: float = DEFAULT_JWKS_TIMEOUT
    jwks_lifespan: float = DEFAULT_JWKS_LIFESPAN
    hs256_secret: bytes | None = None
    # The deny list (README.md, "Revocation"): off unless asked for, so existing configurations
    # keep verifying offline with no extra request to the issuer.
    deny_list: bool = False
    deny_list_uri: str = ""
    deny_list_refresh: float = DEFAULT_DENY_LIST_REFRESH
    deny_list_fail_closed: bool = True


def _under_issuer(issuer: str, path: str) -> str:
    return issuer + path if issuer.endswith("/") else f"{issuer}/{path}"


def jwks_uri_for_issuer(issuer: str) -> str:
    """``<issuer>.well-known/jwks.json``: where Portcullis (and Auth0) publish keys (RFC 7517 section 5)."""
    return _under_issuer(issuer, JWKS_PATH)


def deny_list_uri_for(issuer: str, audience: str) -> str:
    """``<issuer>oauth/deny-list?audience=<audience>``: Portcullis's feed of revoked ``jti`` for one API."""
    return f"{_under_issuer(issuer, DENY_LIST_PATH)}?{urlencode({'audience': audience})}"


def load_config(settings_name: str) -> ResourceServerConfig:
    """Read and validate ``settings.<settings_name>``; raises ``ImproperlyConfigured`` when unusable."""
    raw = getattr(settings, settings_name, None)
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured(
            f"settings.{settings_name} must be a dict (see the resource kit's README.md)."
        )
    return parse_config(raw, settings_name=settings_name)


def parse_config(raw: Mapping[str, Any], *, settings_name: str = "RESOURCE_SERVER") -> ResourceServerConfig:
    def fail(problem: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(f"settings.{settings_name}: {problem}")

    issuer = raw.get("ISSUER")
    audience = raw.get("AUDIENCE")
    if not isinstance(issuer, str) or not issuer:
        raise fail("ISSUER must be the issuer URL, exactly as it appears in the tokens' iss claim.")
    if not isinstance(audience, str) or not audience:
        raise fail("AUDIENCE must be this API's identifier, as it appears in the tokens' aud claim.")

    algorithms = raw.get("ALGORITHMS")
    if isinstance(algorithms, str) or not algorithms:
        raise fail('ALGORITHMS must be a non-empty list, e.g. ["RS256", "ES256"].')
    algorithms = frozenset(algorithms)
    # "none" can never be configured: an unsigned token proves nothing (RFC 8725 section 3.1).
    unsupported = algorithms - SUPPORTED_ALGORITHMS
    if unsupported:
        raise fail(
            f"unsupported ALGORITHMS {sorted(unsupported)}; choose from {sorted(SUPPORTED_ALGORITHMS)}."
        )

    secret = raw.get("HS256_SECRET")
    if secret is not None and not isinstance(secret, str | bytes):
        raise fail("HS256_SECRET must be a string.")
    if HMAC_ALGORITHM in algorithms and not secret:
        raise fail("ALGORITHMS lists HS256, so HS256_SECRET (the API's shared secret) is required.")
    if secret and HMAC_ALGORITHM not in algorithms:
        raise fail("HS256_SECRET is set but ALGORITHMS does not list HS256.")

    jwks_uri = raw.get("JWKS_URI") or jwks_uri_for_issuer(issuer)
    if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
        raise fail("JWKS_URI must be an http(s) URL.")

    try:
        leeway = float(raw.get("LEEWAY", DEFAULT_LEEWAY))
        timeout = float(raw.get("JWKS_TIMEOUT", DEFAULT_JWKS_TIMEOUT))
        lifespan = float(raw.get("JWKS_LIFESPAN", DEFAULT_JWKS_LIFESPAN))
    except (TypeError, ValueError):
        raise fail("LEEWAY, JWKS_TIMEOUT and JWKS_LIFESPAN must be numbers of seconds.") from None
    if leeway < 0 or timeout <= 0 or lifespan <= 0:
        raise fail("LEEWAY must be >= 0; JWKS_TIMEOUT and JWKS_LIFESPAN must be > 0.")

    deny_list = raw.get("DENY_LIST", False)
    fail_closed = raw.get("DENY_LIST_FAIL_CLOSED", True)
    # Booleans only: the string "false" is truthy, and a security switch must not flip on a typo.
    if not isinstance(deny_list, bool) or not isinstance(fail_closed, bool):
        raise fail("DENY_LIST and DENY_LIST_FAIL_CLOSED must be True or False.")
    deny_list_uri = raw.get("DENY_LIST_URI") or deny_list_uri_for(issuer, audience)
    if not isinstance(deny_list_uri, str) or not deny_list_uri.startswith(("https://", "http://")):
        raise fail("DENY_LIST_URI must be an http(s) URL.")
    refresh = raw.get("DENY_LIST_REFRESH", DEFAULT_DENY_LIST_REFRESH)
    if isinstance(refresh, bool) or not isinstance(refresh, int | float):
        raise fail("DENY_LIST_REFRESH must be a number of seconds.")
    if not MIN_DENY_LIST_REFRESH <= refresh < float("inf"):
        raise fail(f"DENY_LIST_REFRESH must be at least {MIN_DENY_LIST_REFRESH:g} second(s).")

    return ResourceServerConfig(
        issuer=issuer,
        audience=audience,
        algorithms=algorithms,
        jwks_uri=jwks_uri,
        realm=str(raw.get("REALM") or audience),
        leeway=leeway,
        jwks_timeout=timeout,
        jwks_lifespan=lifespan,
        hs256_secret=secret.encode() if isinstance(secret, str) else secret,
        deny_list=deny_list,
        deny_list_uri=deny_list_uri,
        deny_list_refresh=float(refresh),
        deny_list_fail_closed=fail_closed,
    )
