"""``/t/<tenant>/oidc/logout``: OpenID Connect RP-Initiated Logout 1.0.

Ends the user's session at this tenant, then returns to ``post_logout_redirect_uri`` only
when it is one of the client's registered logout URLs (the client is named by
``client_id`` or by the ``id_token_hint`` we issued), with ``state``. Without a valid
``id_token_hint`` the user confirms first (section 2: the OP SHOULD ask), so a third
party cannot sign people out by linking here.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from apps.accounts.redirects import login_path
from apps.accounts.sessions import end_user_for_request, end_user_logout
from apps.applications.selectors import application_get_for_token
from apps.oauth.claims import user_subject
from apps.oauth.tokens import verify_own_jwt

PARAMS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")
MSG_UNREGISTERED = "The application asked to return to an address it has not registered as a logout URL."
MSG_CLIENT_MISMATCH = "The id_token_hint was not issued to this client_id."


@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    source = request.GET if request.method == "GET" else request.POST
    params = {name: source.get(name, "") for name in PARAMS}
    tenant = request.tenant
    hint = (
        verify_own_jwt(params["id_token_hint"], tenant=tenant, verify_exp=False)
        if params["id_token_hint"]
        else None
    )
    client_id = params["client_id"]
    if hint is not None:
        audience = hint.get("aud")
        hinted_client = audience[0] if isinstance(audience, list) else str(audience or "")
        if client_id and client_id != hinted_client:
            return _error(request, MSG_CLIENT_MISMATCH)
        client_id = hinted_client
    redirect_to = params["post_logout_redirect_uri"]
    if redirect_to:
        application = (
            application_get_for_token(tenant_id=tenant.pk, client_id=client_id) if client_id else None
        )
        if application is None or redirect_to not in application.post_logout_redirect_uris.split():
            return _error(request, MSG_UNREGISTERED)
    user = end_user_for_request(request)
    confirmed = request.method == "POST" and request.POST.get("confirm") == "yes"
    hint_matches = hint is not None and user is not None and hint.get("sub") == user_subject(user)
    if user is not None and not (confirmed or hint_matches):
        return render(
            request, "oauth/logout_confirm.html", {"tenant": tenant, "params": params, "user": user}
        )
    end_user_logout(request)
    if redirect_to:
        query = urlencode({"state": params["state"]}) if params["state"] else ""
        separator = "&" if "?" in redirect_to else "?"
        return HttpResponseRedirect(f"{redirect_to}{separator}{query}" if query else redirect_to)
    return render(request, "accounts/signed_out.html", {"tenant": tenant, "login_url": login_path(tenant)})


def _error(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "oauth/error.html", {"tenant": request.tenant, "message": message}, status=400)
