"""The OAuth 2.0 / OpenID Connect client side of the sample web app, on Authlib and plain HTTP.

Every call goes over HTTP to the issuer's host, with a timeout, exactly as from another
machine: discovery (OIDC Discovery 1.0), the authorization request with PKCE (RFC 7636,
S256), the code exchange and refresh at the token endpoint (RFC 6749 4.1.3, 6), ID token
validation against the JWKS (OIDC Core 3.1.3.7), userinfo (OIDC Core 5.3), RP-initiated
logout (OIDC RP-Initiated Logout 1.0) and the Timesheets API (RFC 6750 bearer token).
"""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.requests_client import OAuthError as AuthlibOAuthError
from authlib.oidc.core import CodeIDToken, IDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from . import errors
from .config import RelyingPartyConfig

TIMEOUT_SECONDS = 5
# Only asymmetric signatures: the ID token is verified with the issuer's published keys.
ID_TOKEN_ALGORITHMS = ("RS256", "ES256")
CLOCK_LEEWAY_SECONDS = 60


def _get_json(url: str, **kwargs: Any) -> Any:
    try:
        response = requests.get(url, timeout=TIMEOUT_SECONDS, **kwargs)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise errors.ServerUnavailable(errors.MSG_UNREACHABLE.format(url=url, reason=exc)) from exc


def fetch_metadata(issuer: str) -> dict[str, Any]:
    """The issuer's discovery document, whose ``issuer`` must be exactly ours (Discovery 1.0, 4.3)."""
    metadata = _get_json(f"{issuer}.well-known/openid-configuration")
    if not isinstance(metadata, dict) or metadata.get("issuer") != issuer:
        got = metadata.get("issuer") if isinstance(metadata, dict) else None
        raise errors.RelyingPartyError(
            errors.MSG_DISCOVERY_ISSUER.format(got=got, expected=issuer),
            title="Unexpected discovery document",
        )
    return metadata


def endpoint(metadata: dict[str, Any], name: str) -> str:
    """A required endpoint of the discovery document, or a page saying it is not there yet."""
    url = metadata.get(name)
    if not url:
        raise errors.ServerUnavailable(
            errors.MSG_NO_ENDPOINT.format(issuer=metadata.get("issuer"), what=name),
            title="The authorization server cannot do this yet",
        )
    return url


def _session(config: RelyingPartyConfig, *, scope: str | None = None) -> OAuth2Session:
    return OAuth2Session(
        client_id=config.client_id,
        client_secret=config.client_secret,
        token_endpoint_auth_method=config.token_endpoint_auth_method,
        redirect_uri=config.redirect_uri,
        scope=scope,
        code_challenge_method="S256",
        default_timeout=TIMEOUT_SECONDS,
    )


def authorization_request(config: RelyingPartyConfig, metadata: dict[str, Any]) -> dict[str, str]:
    """A fresh authorization request: its URL, and the state, nonce and PKCE verifier to remember."""
    code_verifier = generate_token(64)  # RFC 7636 4.1: 43-128 unreserved characters
    nonce = generate_token(32)
    with _session(config, scope=config.scope) as session:
        url, state = session.create_authorization_url(
            endpoint(metadata, "authorization_endpoint"),
            state=generate_token(32),
            code_verifier=code_verifier,
            nonce=nonce,
            audience=config.audience,
        )
    return {"url": url, "state": state, "nonce": nonce, "code_verifier": code_verifier}


def _token_request(call, *args: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        token = call(*args, **kwargs)
    except AuthlibOAuthError as exc:
        description = f" — {exc.description}" if exc.description else ""
        raise errors.RelyingPartyError(
            errors.MSG_TOKEN_REFUSED.format(error=exc.error, description=description),
            title="The authorization server refused the tokens",
        ) from exc
    except (requests.RequestException, ValueError) as exc:
        raise errors.ServerUnavailable(
            errors.MSG_UNREACHABLE.format(url=args[0] if args else "the token endpoint", reason=exc)
        ) from exc
    token = dict(token)
    if "expires_in" in token and "expires_at" not in token:
        token["expires_at"] = int(time.time()) + int(token["expires_in"])
    return token


def exchange_code(
    config: RelyingPartyConfig, metadata: dict[str, Any], *, code: str, code_verifier: str
) -> dict[str, Any]:
    """RFC 6749 4.1.3 with RFC 7636 4.5: the code, our redirect URI, the verifier, our secret."""
    with _session(config) as session:  # closed at once: no pooled connection outlives the request
        return _token_request(
            session.fetch_token,
            endpoint(metadata, "token_endpoint"),
            grant_type="authorization_code",
            code=code,
            code_verifier=code_verifier,
            redirect_uri=config.redirect_uri,
        )


def refresh(config: RelyingPartyConfig, metadata: dict[str, Any], *, refresh_token: str) -> dict[str, Any]:
    """RFC 6749 6; no ``scope``, so the new tokens keep what was granted. The server may rotate it."""
    with _session(config) as session:
        token = _token_request(
            session.refresh_token, endpoint(metadata, "token_endpoint"), refresh_token=refresh_token
        )
    token.setdefault("refresh_token", refresh_token)  # not rotated: the old one stays valid
    return token


def validate_id_token(
    config: RelyingPartyConfig,
    metadata: dict[str, Any],
    *,
    id_token: str,
    nonce: str | None,
    access_token: str | None = None,
) -> dict[str, Any]:
    """OIDC Core 3.1.3.7: signature (JWKS), ``iss``, ``aud``, ``azp``, ``exp``, ``iat``, ``nonce``, ``at_hash``.

    ``nonce`` is None for an ID token from a refresh, which carries none (OIDC Core 12.2).
    """
    keys = _get_json(endpoint(metadata, "jwks_uri"))
    advertised = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in ID_TOKEN_ALGORITHMS if alg in advertised]
    claims_cls = CodeIDToken if nonce is not None else IDToken
    try:
        decoded = jwt.decode(id_token, KeySet.import_key_set(keys), algorithms=algorithms)
        claims = claims_cls(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": config.issuer},
                "aud": {"essential": True, "value": config.client_id},
            },
            {"nonce": nonce, "client_id": config.client_id, "access_token": access_token},
        )
        claims.validate(leeway=CLOCK_LEEWAY_SECONDS)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise errors.RelyingPartyError(errors.MSG_BAD_ID_TOKEN.format(reason=exc)) from exc
    return dict(claims)


def fetch_userinfo(metadata: dict[str, Any], *, access_token: str, subject: str) -> dict[str, Any]:
    """The userinfo claims, when the server has the endpoint and they are about the same ``sub``.

    OIDC Core 5.3.2: claims for another subject must not be used. Userinfo only adds to the
    ID token's claims, so a missing endpoint or a failed call leaves them as they are.
    """
    url = metadata.get("userinfo_endpoint")
    if not url:
        return {}
    try:
        response = requests.get(
            url, headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT_SECONDS
        )
        claims = response.json() if response.status_code == HTTPStatus.OK else {}
    except (requests.RequestException, ValueError):
        return {}
    return claims if isinstance(claims, dict) and claims.get("sub") == subject else {}


def fetch_timesheets(config: RelyingPartyConfig, *, access_token: str) -> tuple[list[dict], str]:
    """The signed-in user's timesheets from the Timesheets API, or why there are none to show."""
    try:
        response = requests.get(
            config.api_url, headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT_SECONDS
        )
    except requests.RequestException as exc:
        return [], f"The Timesheets API at {config.api_url} did not answer: {exc}"
    if response.status_code != HTTPStatus.OK:
        challenge = response.headers.get("WWW-Authenticate", "")
        return [], f"The Timesheets API answered {response.status_code}. {challenge}".strip()
    try:
        rows = response.json()
    except ValueError:
        return [], "The Timesheets API answered with something other than JSON."
    return (rows, "") if isinstance(rows, list) else ([], "The Timesheets API answered an unexpected shape.")


def logout_url(
    config: RelyingPartyConfig, metadata: dict[str, Any], *, id_token: str, state: str
) -> str | None:
    """OIDC RP-Initiated Logout 1.0, 2: where to send the browser, or None without an end-session endpoint."""
    url = metadata.get("end_session_endpoint")
    if not url:
        return None
    params = [
        ("client_id", config.client_id),
        ("post_logout_redirect_uri", config.post_logout_redirect_uri),
        ("state", state),
    ]
    if id_token:
        params.insert(0, ("id_token_hint", id_token))
    return add_params_to_uri(url, params)
