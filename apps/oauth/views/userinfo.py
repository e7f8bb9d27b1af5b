"""``/t/<tenant>/userinfo`` (OIDC Core 5.3): the signed-in user's claims, by the token's scopes."""

from __future__ import annotations

from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.views.oidc import UserInfoView

from apps.oauth.backends import context_for


@method_decorator(csrf_exempt, name="dispatch")
class TenantUserInfoView(UserInfoView):
    """DOT's view; our validator finds the access token among this tenant's rows only."""

    def dispatch(self, request, *args, **kwargs):
        context_for(request, list(request.POST.items()) if request.method == "POST" else [])
        response = super().dispatch(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Access-Control-Allow-Origin"] = "*"
        return response


userinfo_view = TenantUserInfoView.as_view()
