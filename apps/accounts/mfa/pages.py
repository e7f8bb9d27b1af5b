"""End-user MFA pages: the account page (``account/mfa``) and the login page's second step (``login/mfa``).

Thin: enrolment, codes and removal are ``apps.accounts.mfa.services``; the pending second step
is ``apps.accounts.mfa.login``. A secret is shown only while its authenticator is unconfirmed
(the enrolment in progress); recovery codes are shown once, on the response that confirms the
user's first authenticator, and exist afterwards only as hashes.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from apps.accounts.errors import SignInRefused
from apps.accounts.forms import MfaCodeForm
from apps.accounts.mfa.login import mfa_login_complete, mfa_login_pending
from apps.accounts.mfa.qr import qr_svg
from apps.accounts.mfa.selectors import (
    MfaPolicy,
    authenticator_list,
    mfa_enrolled,
    mfa_needed,
    mfa_policy,
    pending_enrolment,
)
from apps.accounts.mfa.services import (
    MfaUnavailable,
    mfa_remove_by_user,
    otp_verify,
    recovery_code_use,
    recovery_codes_issue,
    totp_associate,
)
from apps.accounts.redirects import (
    account_mfa_path,
    default_after_login_path,
    login_path,
    mfa_login_path,
    requested_next_path,
    tenant_path,
)
from apps.accounts.sessions import end_user_for_request
from apps.core.client_ip import client_ip

MSG_MFA_OFF_FOR_TENANT = "Multi-factor authentication is not used by {tenant}."
MSG_REMOVED = "Multi-factor authentication is off. You sign in with your password alone."
MSG_STEP_EXPIRED = "Your sign-in took too long. Please sign in again."
ACTION_SETUP, ACTION_CONFIRM, ACTION_REMOVE = "setup", "confirm", "remove"


def _enrolment_context(request: HttpRequest, user) -> dict:
    """The QR code and secret of the user's enrolment in progress (an unconfirmed authenticator)."""
    enrolment = pending_enrolment(tenant=request.tenant, user=user)
    if enrolment is None:
        return {}
    return {
        "qr": mark_safe(qr_svg(enrolment.barcode_uri)),  # noqa: S308 - generated SVG, no user markup
        "secret": enrolment.secret,
        "barcode_uri": enrolment.barcode_uri,
    }


def _recovery_codes_page(request: HttpRequest, *, codes: list[str], continue_url: str) -> HttpResponse:
    return render(
        request,
        "accounts/mfa_recovery_codes.html",
        {"tenant": request.tenant, "codes": codes, "continue_url": continue_url},
    )


# --- Account page --------------------------------------------------------------------------------


@sensitive_post_parameters("code")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def account_mfa_view(request: HttpRequest) -> HttpResponse:
    """Whether MFA is on; set up an authenticator (QR + confirm), then see recovery codes once; remove."""
    tenant = request.tenant
    user = end_user_for_request(request)
    if user is None:
        return HttpResponseRedirect(login_path(tenant, next_path=account_mfa_path(tenant)))
    policy = mfa_policy(tenant=tenant)
    if policy == MfaPolicy.NEVER:
        return render(
            request,
            "accounts/mfa_account.html",
            {
                "tenant": tenant,
                "user": user,
                "unavailable": MSG_MFA_OFF_FOR_TENANT.format(tenant=tenant.name),
            },
            status=404,
        )
    form = MfaCodeForm(request.POST if request.method == "POST" and "code" in request.POST else None)
    if request.method == "POST":
        action = request.POST.get("action")
        ip = client_ip(request)
        try:
            if action == ACTION_SETUP:
                totp_associate(tenant=tenant, user=user)
                return HttpResponseRedirect(account_mfa_path(tenant))
            if action == ACTION_CONFIRM and form.is_valid():
                first = not mfa_enrolled(user=user)
                otp_verify(tenant=tenant, user=user, code=form.cleaned_data["code"], ip=ip)
                if first:
                    codes = recovery_codes_issue(tenant=tenant, user=user)
                    return _recovery_codes_page(request, codes=codes, continue_url=account_mfa_path(tenant))
                return HttpResponseRedirect(account_mfa_path(tenant))
            if action == ACTION_REMOVE and form.is_valid():
                mfa_remove_by_user(tenant=tenant, user=user, code=form.cleaned_data["code"], ip=ip)
                messages.success(request, MSG_REMOVED)
                return HttpResponseRedirect(account_mfa_path(tenant))
        except (SignInRefused, MfaUnavailable) as refusal:
            form.add_error(None, refusal.message)
    enrolled = mfa_enrolled(user=user)
    context = {
        "tenant": tenant,
        "user": user,
        "policy": policy,
        "enrolled": enrolled,
        "authenticators": authenticator_list(tenant=tenant, user=user, confirmed_only=True),
        "may_remove": enrolled and policy != MfaPolicy.ALWAYS,
        "form": form,
        "action": account_mfa_path(tenant),
        "applications_url": tenant_path(tenant, "account/applications"),
        **({} if enrolled else _enrolment_context(request, user)),
    }
    return render(request, "accounts/mfa_account.html", context)


# --- Login page, second step ---------------------------------------------------------------------


@sensitive_post_parameters("code")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_mfa_view(request: HttpRequest) -> HttpResponse:
    """The code step after a right password; for a user the policy makes enrol, enrolment first."""
    tenant = request.tenant
    next_path = requested_next_path(request)
    after = next_path or default_after_login_path(tenant)
    pending = mfa_login_pending(request)
    if pending is None:
        messages.error(request, MSG_STEP_EXPIRED)
        return HttpResponseRedirect(login_path(tenant, next_path=next_path))
    user, username = pending
    if not mfa_needed(tenant=tenant, user=user):  # the policy changed, or an admin reset the user's MFA
        mfa_login_complete(request, user=user, username=username)
        return HttpResponseRedirect(after)
    enrolled = mfa_enrolled(user=user)
    if not enrolled and pending_enrolment(tenant=tenant, user=user) is None:
        totp_associate(tenant=tenant, user=user)  # policy ALWAYS: the user enrols now
    form = MfaCodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        code = "".join(form.cleaned_data["code"].split())
        ip = client_ip(request)
        try:
            if enrolled and not code.isdigit():
                recovery_code_use(tenant=tenant, user=user, code=code, ip=ip)
            else:
                otp_verify(tenant=tenant, user=user, code=code, ip=ip)
        except SignInRefused as refusal:
            form.add_error(None, refusal.message)
        else:
            mfa_login_complete(request, user=user, username=username)
            if not enrolled:
                codes = recovery_codes_issue(tenant=tenant, user=user)
                return _recovery_codes_page(request, codes=codes, continue_url=after)
            return HttpResponseRedirect(after)
    context = {
        "tenant": tenant,
        "form": form,
        "next": next_path or "",
        "action": mfa_login_path(tenant),
        "enrolled": enrolled,
        "restart_url": login_path(tenant, next_path=next_path),
        **({} if enrolled else _enrolment_context(request, user)),
    }
    return render(request, "accounts/login_mfa.html", context)
