"""``/t/<tenant>/authorize`` and ``/t/<tenant>/consent``: thin views over ``oauth.authorization.flow``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.oauth.authorization.flow import authorization_resume, authorization_start

DECISIONS = frozenset({"allow", "deny"})


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def authorize_view(request: HttpRequest) -> HttpResponse:
    """OIDC Core 3.1.2.1: the authorization endpoint accepts GET and form POST. No CSRF here:
    the request comes from another site by design; nothing changes until the user acts on our pages."""
    source = request.GET if request.method == "GET" else request.POST
    params = [(name, value) for name, values in source.lists() for value in values]
    return authorization_start(request, params)


@never_cache
@require_http_methods(["GET", "POST"])
def consent_view(request: HttpRequest) -> HttpResponse:
    """The consent page (GET) and the user's decision (POST, CSRF-protected, bound to ``req``)."""
    if request.method == "GET":
        return authorization_resume(request, request.GET.get("req", ""))
    decision = request.POST.get("decision", "")
    return authorization_resume(
        request, request.POST.get("req", ""), decision=decision if decision in DECISIONS else "deny"
    )
