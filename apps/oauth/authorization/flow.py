"""The authorization endpoint's flow: validate, sign in, consent, respond (RFC 6749 4.1/4.2, OIDC Core 3).

A valid request is kept in the user's session as a *pending authorization* under a random
id; the login and consent pages carry only that id (and CSRF), so their POSTs are bound to
the request the user saw. Each step re-validates the original request with oauthlib (the
client may have been disabled, its callbacks changed), then decides:

- sign-in needed (no end user of this tenant, ``prompt=login`` not yet satisfied, ``max_age``
  exceeded): the login page, or ``login_required`` with ``prompt=none``;
- consent needed (Auth0's rules, ``consent_needed``): the consent page, or
  ``consent_required`` with ``prompt=none``;
- otherwise the approval is stored as a user grant and oauthlib issues the code or tokens,
  returned by ``response_mode`` (query, fragment, form_post) with ``state`` and RFC 9207 ``iss``.

Fatal errors (unknown client, unregistered redirect URI) get an error page, never a redirect.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749 import errors as oauthlib_errors

from apps.accounts.redirects import login_path, tenant_path
from apps.accounts.sessions import auth_time_of, end_user_for_request
from apps.apis.models import Api
from apps.apis.selectors import api_get, scope_descriptions
from apps.applications.selectors import application_get_for_token
from apps.core.oidc import OPENID
from apps.grants.selectors import user_grant_covering
from apps.grants.services import user_grant_record
from apps.oauth import errors
from apps.oauth.authorization.rules import ResponseMode, default_response_mode
from apps.oauth.backends import context_for
from apps.oauth.context import OAuthContext

SESSION_KEY = "portcullis_authorizations"
MAX_PENDING = 10  # per session: old ones are dropped
PENDING_TTL_SECONDS = 3600

MSG_UNKNOWN_REQUEST = (
    "This sign-in request has expired or is unknown. Go back to the application and try again."
)
MSG_FATAL = "The application's request cannot be processed: {reason}."


@dataclass
class Pending:
    """A validated authorization request waiting for the user (stored as a dict in the session)."""

    id: str
    params: list[tuple[str, str]]
    created_at: int
    consented: bool = False
    # prompt=login: the session that must be replaced by a new sign-in (Django cycles the key on login).
    stale_session: str = ""

    def get(self, name: str, default: str = "") -> str:
        return next((value for key, value in self.params if key == name), default)

    @property
    def prompt(self) -> set[str]:
        return set(self.get("prompt").split())


class AuthorizationFailed(Exception):
    """An error sent back to the client's redirect URI (RFC 6749 4.1.2.1, OIDC Core 3.1.2.6)."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(description or error)
        self.error, self.description = error, description


# --- Entry points (views call these) ----------------------------------------------------------
def authorization_start(request: HttpRequest, params: list[tuple[str, str]]) -> HttpResponse:
    """``/authorize``: validate the request; remember it; go on as far as the user allows."""
    pending = Pending(id=secrets.token_urlsafe(16), params=params, created_at=int(time.time()))
    return _advance(request, pending, new=True)


def authorization_resume(
    request: HttpRequest, pending_id: str, *, decision: str | None = None
) -> HttpResponse:
    """The consent page (GET), or its Allow / Deny (POST)."""
    pending = _load(request, pending_id)
    if pending is None:
        return _error_page(request, MSG_UNKNOWN_REQUEST, status=400)
    return _advance(request, pending, decision=decision)


# --- The steps -------------------------------------------------------------------------------
def _advance(request: HttpRequest, pending: Pending, *, new: bool = False, decision: str | None = None):
    context = context_for(request, pending.params)
    uri = _authorize_uri(context, pending)
    core = _core()
    try:
        scopes, credentials = core.authorization_validate(request, uri=uri)
    except oauthlib_errors.FatalClientError as error:
        reason = (error.description or error.error).rstrip(".")  # oauthlib's end with a period
        return _error_page(request, MSG_FATAL.format(reason=reason), status=400)
    except oauthlib_errors.OAuth2Error as error:
        _forget(request, pending)
        if error.redirect_uri and not pending.get("redirect_uri"):
            pending.params.append(("redirect_uri", error.redirect_uri))
        return _respond(request, pending, error_params(error.error, error.description, pending))
    if not pending.get("redirect_uri"):  # oauthlib took the client's only registered one
        pending.params.append(("redirect_uri", credentials["redirect_uri"]))
    application = application_get_for_token(tenant_id=context.tenant.pk, client_id=credentials["client_id"])
    try:
        _check_extra_rules(pending)
        user = end_user_for_request(request)
        if _login_needed(request, pending, user, new=new):
            if "none" in pending.prompt:
                raise AuthorizationFailed("login_required", "The user is not signed in.")
            _save(request, pending)
            return _to_login(request, pending)
        if decision == "deny":
            raise AuthorizationFailed("access_denied", "The user denied access to the application.")
        if decision == "allow":
            pending.consented = True
        if consent_needed(
            pending=pending,
            context=context,
            application=application,
            user=user,
            scopes=scopes,
            redirect_uri=credentials["redirect_uri"],
        ):
            if "none" in pending.prompt:
                raise AuthorizationFailed(
                    "consent_required", "The user has not consented to this application."
                )
            _save(request, pending)
            if new:
                return _to_consent(request, pending)
            return _consent_page(request, pending, context=context, application=application, scopes=scopes)
    except AuthorizationFailed as failure:
        _forget(request, pending)
        return _respond(request, pending, error_params(failure.error, failure.description, pending))

    grant = user_grant_record(
        tenant=context.tenant, user=user, application=application, api=_api_row(context), scopes=scopes
    )
    context.user_grant_id = grant.pk
    credentials = {key: value for key, value in credentials.items() if key != "request"}
    credentials["user"] = user
    location = core.authorization_issue(request, uri=uri, scopes=scopes, credentials=credentials)
    _forget(request, pending)
    return _respond(request, pending, _params_of(location) | {"iss": context.issuer})


def _check_extra_rules(pending: Pending) -> None:
    """What oauthlib lets through but we refuse (RFC 9700 2.1.1; OAuth 2.0 Form Post Response Mode)."""
    method = pending.get("code_challenge_method")
    if pending.get("code_challenge") and method != "S256":
        raise AuthorizationFailed("invalid_request", errors.MSG_PKCE_METHOD)
    if pending.get("response_mode") and pending.get("response_mode") not in ResponseMode.values:
        raise AuthorizationFailed(
            "invalid_request", f"Unsupported response_mode: {pending.get('response_mode')[:50]}"
        )
    max_age = pending.get("max_age")
    if max_age and not max_age.isdigit():
        raise AuthorizationFailed("invalid_request", "max_age must be a non-negative integer.")


def _login_needed(request: HttpRequest, pending: Pending, user, *, new: bool) -> bool:
    if user is None:
        return True
    if "login" in pending.prompt:
        if new:
            if not request.session.session_key:
                request.session.save()
            pending.stale_session = request.session.session_key
            return True
        if request.session.session_key == pending.stale_session:
            return True
    auth_time = auth_time_of(request) or 0
    max_age = pending.get("max_age")
    if not max_age or auth_time >= pending.created_at:  # signed in for this very request
        return False
    return time.time() - auth_time > int(max_age)


def consent_needed(
    *, pending: Pending, context: OAuthContext, application, user, scopes, redirect_uri: str
) -> bool:
    """Auth0's consent rules ("User consent and third-party applications").

    Asked again with ``prompt=consent``; otherwise not when an earlier approval covers the
    request; a first-party application skips it when the API allows skipping, except for a
    redirect URI on localhost (anyone can register one, so consent protects the user there);
    third-party applications always ask.
    """
    if pending.consented:
        return False
    if "consent" in pending.prompt:
        return True
    if user_grant_covering(
        tenant_id=context.tenant.pk,
        user_id=user.pk,
        application_id=application.pk,
        audience=context.audience,
        scopes=scopes,
    ):
        return False
    skippable = context.api.skip_consent_for_first_party if context.api is not None else True
    return not (application.is_first_party and skippable and not _is_localhost(redirect_uri))


def _is_localhost(uri: str) -> bool:
    host = (urlsplit(uri).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- Responses -------------------------------------------------------------------------------
def error_params(error: str, description: str, pending: Pending) -> dict[str, str]:
    params = {"error": error}
    if description:
        params["error_description"] = description
    if pending.get("state"):
        params["state"] = pending.get("state")
    return params


def _respond(request: HttpRequest, pending: Pending, params: dict[str, str]) -> HttpResponse:
    """Deliver ``params`` to the client's redirect URI by the requested response mode."""
    context = request.oauth
    params.setdefault("iss", context.issuer)  # RFC 9207: on errors too
    redirect_uri = pending.get("redirect_uri")
    application = application_get_for_token(tenant_id=context.tenant.pk, client_id=pending.get("client_id"))
    mode = pending.get("response_mode") or default_response_mode(pending.get("response_type"))
    if mode == ResponseMode.FORM_POST:
        response = render(
            request,
            "oauth/form_post.html",
            {"tenant": context.tenant, "redirect_uri": redirect_uri, "params": sorted(params.items())},
        )
        response["Cache-Control"] = "no-store"
        return response
    separator = "#" if mode == ResponseMode.FRAGMENT else ("&" if "?" in redirect_uri else "?")
    location = f"{redirect_uri}{separator}{urlencode(params)}"
    schemes = application.get_allowed_schemes() if application else ["https", "http"]
    return OAuth2ResponseRedirect(location, schemes)


def _params_of(location: str) -> dict[str, str]:
    parts = urlsplit(location)
    return dict(parse_qsl(parts.fragment or parts.query, keep_blank_values=True))


def _error_page(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(request, "oauth/error.html", {"tenant": request.tenant, "message": message}, status=status)


def _consent_path(request: HttpRequest, pending: Pending) -> str:
    return tenant_path(request.tenant, f"consent?{urlencode({'req': pending.id})}")


def _to_login(request: HttpRequest, pending: Pending) -> HttpResponse:
    return HttpResponseRedirect(login_path(request.tenant, next_path=_consent_path(request, pending)))


def _to_consent(request: HttpRequest, pending: Pending) -> HttpResponse:
    return HttpResponseRedirect(_consent_path(request, pending))


def _consent_page(request, pending: Pending, *, context: OAuthContext, application, scopes) -> HttpResponse:
    api = context.api
    descriptions = scope_descriptions(tenant_id=context.tenant.pk, api_ids=[api.id] if api else [])
    permissions = [(scope, descriptions.get(scope, scope)) for scope in scopes if scope != OPENID]
    return render(
        request,
        "oauth/consent.html",
        {
            "tenant": context.tenant,
            "application": application,
            "api_name": api.name if api is not None else "",
            "audience": context.audience,
            "permissions": permissions,
            "pending_id": pending.id,
            "user": end_user_for_request(request),
        },
    )


def _api_row(context: OAuthContext) -> Api | None:
    return api_get(tenant_id=context.tenant.pk, api_id=context.api.id) if context.api is not None else None


# --- Session storage of pending requests -------------------------------------------------------
def _authorize_uri(context: OAuthContext, pending: Pending) -> str:
    return f"{context.issuer}authorize?{urlencode(pending.params)}"


def _core():
    return OAuthLibMixin.get_oauthlib_core()


def _save(request: HttpRequest, pending: Pending) -> None:
    store = dict(request.session.get(SESSION_KEY) or {})
    now = int(time.time())
    store = {key: value for key, value in store.items() if now - value["created_at"] < PENDING_TTL_SECONDS}
    store[pending.id] = {
        "params": pending.params,
        "created_at": pending.created_at,
        "consented": pending.consented,
        "stale_session": pending.stale_session,
        "tenant": request.tenant.pk,
    }
    if len(store) > MAX_PENDING:
        for key in sorted(store, key=lambda k: store[k]["created_at"])[: len(store) - MAX_PENDING]:
            del store[key]
    request.session[SESSION_KEY] = store


def _load(request: HttpRequest, pending_id: str) -> Pending | None:
    entry = (request.session.get(SESSION_KEY) or {}).get(pending_id)
    if entry is None or entry.get("tenant") != request.tenant.pk:
        return None
    if time.time() - entry["created_at"] >= PENDING_TTL_SECONDS:
        return None
    return Pending(
        id=pending_id,
        params=[tuple(pair) for pair in entry["params"]],
        created_at=entry["created_at"],
        consented=entry.get("consented", False),
        stale_session=entry.get("stale_session", ""),
    )


def _forget(request: HttpRequest, pending: Pending) -> None:
    store = request.session.get(SESSION_KEY) or {}
    if pending.id in store:
        store = dict(store)
        del store[pending.id]
        request.session[SESSION_KEY] = store
