"""``/t/<tenant>/account/applications``: the end user's authorized applications, with Revoke."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.mfa.selectors import MfaPolicy, mfa_policy
from apps.accounts.redirects import login_path, tenant_path
from apps.accounts.sessions import end_user_for_request
from apps.apis.selectors import scope_descriptions
from apps.grants.selectors import user_grant_get_for_user, user_grant_list_for_user
from apps.grants.services import user_grant_revoke

MSG_REVOKED = "Access for {application} was revoked. It will have to ask you again."
MSG_NOT_FOUND = "That authorization no longer exists."
PAGE = "account/applications"


def _login_redirect(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(login_path(request.tenant, next_path=tenant_path(request.tenant, PAGE)))


@never_cache
@require_http_methods(["GET"])
def authorized_applications_view(request: HttpRequest) -> HttpResponse:
    user = end_user_for_request(request)
    if user is None:
        return _login_redirect(request)
    grants = list(user_grant_list_for_user(tenant=request.tenant, user=user))
    descriptions = scope_descriptions(
        tenant_id=request.tenant.pk, api_ids={grant.api_id for grant in grants if grant.api_id}
    )
    rows = [
        {
            "grant": grant,
            "permissions": [(scope, descriptions.get(scope, scope)) for scope in grant.scopes],
        }
        for grant in grants
    ]
    return render(
        request,
        "grants/authorized_applications.html",
        {
            "tenant": request.tenant,
            "user": user,
            "rows": rows,
            "mfa_available": mfa_policy(tenant=request.tenant) != MfaPolicy.NEVER,
        },
    )


@require_POST
def revoke_view(request: HttpRequest, grant_id: int) -> HttpResponse:
    user = end_user_for_request(request)
    if user is None:
        return _login_redirect(request)
    grant = user_grant_get_for_user(tenant=request.tenant, user=user, grant_id=grant_id)
    if grant is None:
        messages.error(request, MSG_NOT_FOUND)
    else:
        name = grant.application.name
        user_grant_revoke(grant=grant, actor=user)
        messages.success(request, MSG_REVOKED.format(application=name))
    return HttpResponseRedirect(tenant_path(request.tenant, PAGE))
