"""The sample web app's pages: home, sign in, the OAuth callback, refresh and sign out.

Each page does what a careful relying party on another host would; every failure is a
readable page (``errors.RelyingPartyError``), never a 500. State lives in ``store``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from authlib.common.security import generate_token
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from . import client, errors
from .config import RelyingPartyConfig, load_config
from .store import BrowserState, state_load, state_save

PENDING_TTL_SECONDS = 600  # a sign-in not completed within 10 minutes is forgotten
PENDING_MAX = 5  # sign-ins started in other tabs and never finished


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = HTTPStatus.OK):
    response = render(request, f"sample/{template}", context, status=status)
    response["Cache-Control"] = "no-store"
    # Codes and tokens stay out of Referer headers sent to other sites; not "no-referrer": under it
    # Chromium posts this app's own forms with "Origin: null", which Django's CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    return response


def readable_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Runs the view with its configuration; turns any refusal into a readable page."""

    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        config = load_config()
        if config is None:
            return _render(request, "not_configured.html", {}, status=HTTPStatus.SERVICE_UNAVAILABLE)
        try:
            return view(request, config)
        except errors.RelyingPartyError as exc:
            context = {"title": exc.title, "detail": exc.detail, "config": config}
            return _render(request, "error.html", context, status=exc.status)

    return wrapper


def _redirect(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    return response


def _home_url(config: RelyingPartyConfig) -> str:
    return reverse("timesheets:sample-home")


def _save_and_redirect(request: HttpRequest, state: BrowserState, url: str) -> HttpResponse:
    response = _redirect(url)
    state_save(state, response, secure=request.is_secure())
    return response


def _granted_scopes(config: RelyingPartyConfig, token: dict[str, Any]) -> list[str]:
    # RFC 6749 5.1: a response without "scope" granted exactly what was requested.
    return (token.get("scope") or config.scope).split()


@require_GET
def stylesheet(request: HttpRequest) -> HttpResponse:
    """The app's CSS, served as a file of its own (the site's CSP forbids inline styles)."""
    response = render(request, "sample/sample.css", content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
@readable_errors
def home(request: HttpRequest, config: RelyingPartyConfig) -> HttpResponse:
    state = state_load(request)
    notice = state.data.pop("notice", "")
    logout_state = state.data.pop("logout_state", None)
    if logout_state and request.GET.get("state") == logout_state:
        notice = "You are signed out of Timesheets and of the authorization server."
    tokens = state.data.get("tokens")
    context: dict[str, Any] = {"config": config, "notice": notice, "signed_in": bool(tokens)}
    if tokens:
        expires_at = tokens.get("expires_at")
        timesheets, api_error = client.fetch_timesheets(config, access_token=tokens["access_token"])
        context |= {
            "user": state.data.get("user", {}),
            "scopes": _granted_scopes(config, tokens),
            "expires_at": expires_at,
            "expires_in": int(expires_at - time.time()) if expires_at else None,
            "has_refresh_token": bool(tokens.get("refresh_token")),
            "timesheets": timesheets,
            "api_error": api_error,
            "account_url": f"{config.issuer}account/applications",
        }
    response = _render(request, "home.html", context)
    if not state.is_new and (notice or logout_state):
        state_save(state)
    return response


@require_GET
@readable_errors
def login(request: HttpRequest, config: RelyingPartyConfig) -> HttpResponse:
    """Start a sign-in: remember state, nonce and PKCE verifier, send the browser to authorize."""
    if request.get_host() != urlsplit(config.redirect_uri).netloc:
        # Our cookie must live where the callback lands (127.0.0.1 and localhost differ).
        return _redirect(f"{config.origin}{request.path}")
    metadata = client.fetch_metadata(config.issuer)
    authorization = client.authorization_request(config, metadata)
    now = int(time.time())
    with transaction.atomic():
        state = state_load(request, for_update=True)
        pending = {
            key: value
            for key, value in state.data.get("pending", {}).items()
            if now - value["started_at"] < PENDING_TTL_SECONDS
        }
        pending[authorization["state"]] = {
            "nonce": authorization["nonce"],
            "code_verifier": authorization["code_verifier"],
            "started_at": now,
        }
        state.data["pending"] = dict(list(pending.items())[-PENDING_MAX:])
        return _save_and_redirect(request, state, authorization["url"])


def _consume_pending(request: HttpRequest) -> dict[str, Any]:
    """The sign-in this response answers, removed so it can answer only once (RFC 6749 10.12)."""
    received = request.GET.get("state", "")
    with transaction.atomic():
        state = state_load(request, for_update=True)
        pending = state.data.get("pending", {}).pop(received, None) if received else None
        if pending is None or time.time() - pending["started_at"] >= PENDING_TTL_SECONDS:
            raise errors.RelyingPartyError(errors.MSG_UNKNOWN_STATE, title="Unexpected sign-in response")
        state_save(state)
    return pending


def _check_issuer(request: HttpRequest, metadata: dict[str, Any]) -> None:
    """RFC 9207 2.4: ``iss``, when sent (or promised), must be the issuer we sent the user to."""
    received = request.GET.get("iss")
    if received is None:
        if metadata.get("authorization_response_iss_parameter_supported"):
            raise errors.RelyingPartyError(errors.MSG_ISSUER_MISSING)
        return
    if received != metadata["issuer"]:
        raise errors.RelyingPartyError(
            errors.MSG_ISSUER_MISMATCH.format(got=received, expected=metadata["issuer"])
        )


@require_GET
@readable_errors
def callback(request: HttpRequest, config: RelyingPartyConfig) -> HttpResponse:
    """The authorization response: check it, exchange the code, validate the ID token, sign in."""
    pending = _consume_pending(request)
    metadata = client.fetch_metadata(config.issuer)
    _check_issuer(request, metadata)
    if error := request.GET.get("error"):
        description = request.GET.get("error_description", "")
        title = "You did not allow access" if error == "access_denied" else "Sign-in failed"
        raise errors.RelyingPartyError(f"{error}: {description}" if description else error, title=title)
    code = request.GET.get("code")
    if not code:
        raise errors.RelyingPartyError(errors.MSG_NO_CODE)
    tokens = client.exchange_code(config, metadata, code=code, code_verifier=pending["code_verifier"])
    if not tokens.get("id_token"):
        raise errors.RelyingPartyError(errors.MSG_NO_ID_TOKEN)
    user = client.validate_id_token(
        config,
        metadata,
        id_token=tokens["id_token"],
        nonce=pending["nonce"],
        access_token=tokens.get("access_token"),
    )
    user |= client.fetch_userinfo(metadata, access_token=tokens["access_token"], subject=user["sub"])
    with transaction.atomic():
        state = state_load(request, for_update=True)
        state.data |= {"tokens": tokens, "user": user}
        return _save_and_redirect(request, state, _home_url(config))


@require_POST
@readable_errors
def refresh(request: HttpRequest, config: RelyingPartyConfig) -> HttpResponse:
    """Trade the refresh token for new tokens (the server rotates it) and show the new expiry."""
    state = state_load(request)
    tokens = state.data.get("tokens") or {}
    if not tokens.get("refresh_token"):
        state.data["notice"] = "There is no refresh token to use: sign in first."
        return _save_and_redirect(request, state, _home_url(config))
    metadata = client.fetch_metadata(config.issuer)
    try:
        new = client.refresh(config, metadata, refresh_token=tokens["refresh_token"])
    except errors.ServerUnavailable:
        raise
    except errors.RelyingPartyError as exc:
        # invalid_grant: revoked, expired or already used. These tokens are no good any more.
        state.data = {"notice": f"{exc.detail} You have been signed out here; sign in again."}
        return _save_and_redirect(request, state, _home_url(config))
    if new.get("id_token"):
        claims = client.validate_id_token(
            config, metadata, id_token=new["id_token"], nonce=None, access_token=new.get("access_token")
        )
        if claims["sub"] != state.data.get("user", {}).get("sub"):  # OIDC Core 12.2
            raise errors.RelyingPartyError(errors.MSG_BAD_ID_TOKEN.format(reason="another subject"))
    new.setdefault("id_token", tokens.get("id_token", ""))
    state.data["tokens"] = new
    expires = (
        time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(new["expires_at"]))
        if new.get("expires_at")
        else "?"
    )
    state.data["notice"] = f"Tokens refreshed. The new access token expires at {expires}."
    return _save_and_redirect(request, state, _home_url(config))


@require_POST
@readable_errors
def logout(request: HttpRequest, config: RelyingPartyConfig) -> HttpResponse:
    """Forget the tokens here, then ask the server to end its session too (RP-initiated logout)."""
    state = state_load(request)
    id_token = (state.data.get("tokens") or {}).get("id_token", "")
    logout_state = generate_token(24)
    state.data = {"logout_state": logout_state}
    try:
        url = client.logout_url(
            config, client.fetch_metadata(config.issuer), id_token=id_token, state=logout_state
        )
    except errors.RelyingPartyError:
        url = None
    if url is None:
        state.data = {"notice": "You are signed out of Timesheets (the server offers no sign-out to visit)."}
        url = _home_url(config)
    return _save_and_redirect(request, state, url)
