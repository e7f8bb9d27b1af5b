"""End-user sign-in and sign-out pages under ``/t/<tenant>/``. Thin: the rules are in
``apps.accounts.services`` (credentials, audit), ``sessions`` (session state) and ``redirects``
(where ``next`` may go)."""

from __future__ import annotations

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from apps.accounts.errors import SignInRefused
from apps.accounts.forms import LoginForm
from apps.accounts.redirects import (
    default_after_login_path,
    login_path,
    mfa_login_path,
    requested_next_path,
    tenant_path,
)
from apps.accounts.services import end_user_sign_in
from apps.accounts.sessions import end_user_for_request, end_user_logout


@sensitive_post_parameters("password")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    next_path = requested_next_path(request)
    form = LoginForm(request.POST if request.method == "POST" else None)
    refused: SignInRefused | None = None
    if form.is_valid():
        try:
            user = end_user_sign_in(
                request=request,
                tenant=tenant,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except SignInRefused as refusal:
            form.add_error(None, refusal.message)
            refused = refusal
        else:
            if user is None:  # right password, second factor due: not signed in yet
                return HttpResponseRedirect(mfa_login_path(tenant, next_path=next_path))
            return HttpResponseRedirect(next_path or default_after_login_path(tenant))
    context = {
        "tenant": tenant,
        "form": form,
        "next": next_path or "",
        "action": tenant_path(tenant, "login"),
    }
    response = render(request, "accounts/login.html", context)
    # A wrong password re-renders the form (200, as before); attack protection's refusals keep
    # their 429 and, for a throttled IP, say when to come back (RFC 6585 section 4).
    if refused is not None and refused.status == HTTPStatus.TOO_MANY_REQUESTS:
        response.status_code = refused.status
        if refused.retry_after is not None:
            response["Retry-After"] = str(refused.retry_after)
    return response


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation (a link or an image must not sign anyone out); POST signs out."""
    tenant = request.tenant
    next_path = requested_next_path(request)
    if request.method == "POST":
        end_user_logout(request)
        if next_path:
            return HttpResponseRedirect(next_path)
        return render(
            request, "accounts/signed_out.html", {"tenant": tenant, "login_url": login_path(tenant)}
        )
    context = {
        "tenant": tenant,
        "end_user": end_user_for_request(request),
        "next": next_path or "",
        "action": tenant_path(tenant, "logout"),
    }
    return render(request, "accounts/logout.html", context)
