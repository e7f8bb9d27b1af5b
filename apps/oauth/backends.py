"""DOT's bridge between Django and oauthlib, fed by our parsed, tenant-aware request."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest
from oauth2_provider.oauth2_backends import OAuthLibCore

from apps.oauth.constants import FORM_CONTENT_TYPE, ISSUER_HEADER, TENANT_HEADER
from apps.oauth.issuer import issuer_for_request

_FORWARDED_META = ("HTTP_AUTHORIZATION", "HTTP_ORIGIN")


class PortcullisOAuthLibCore(OAuthLibCore):
    """Hands oauthlib the parameters parsed by ``request_parsing`` and the resolved tenant.

    Only the headers the protocol needs are forwarded (DOT copies all of ``META``, which
    the token path pays for on every request).
    """

    def _extract_params(self, request: HttpRequest):
        params = getattr(request, "oauth_params", None)
        if params is None:
            return super()._extract_params(request)
        return request.path, request.method, urlencode(params), self.extract_headers(request)

    def extract_headers(self, request: HttpRequest) -> dict:
        meta = request.META
        headers: dict = {key: meta[key] for key in _FORWARDED_META if key in meta}
        if "HTTP_AUTHORIZATION" in headers:
            headers["Authorization"] = headers["HTTP_AUTHORIZATION"]
        # The body handed to oauthlib is always form-encoded, whatever the client sent.
        headers["Content-Type"] = FORM_CONTENT_TYPE
        if "HTTP_ORIGIN" in headers:
            headers["Origin"] = headers["HTTP_ORIGIN"]
        if request.is_secure():
            headers["X_DJANGO_OAUTH_TOOLKIT_SECURE"] = "1"
        headers[TENANT_HEADER] = request.tenant
        headers[ISSUER_HEADER] = issuer_for_request(request)
        return headers
