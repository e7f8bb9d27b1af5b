"""DOT's bridge between Django and oauthlib, fed by our parsed, tenant-aware request."""

from __future__ import annotations

from django.http import HttpRequest
from oauth2_provider.oauth2_backends import OAuthLibCore

from apps.oauth.constants import FORM_CONTENT_TYPE, PARAM_RESOURCE
from apps.oauth.context import CONTEXT_HEADER, TokenRequestContext
from apps.oauth.issuer import issuer_for_request

_FORWARDED_META = ("HTTP_AUTHORIZATION", "HTTP_ORIGIN")


class PortcullisOAuthLibCore(OAuthLibCore):
    """Hands oauthlib the parameters parsed by ``request_parsing`` and a ``TokenRequestContext``.

    Only the headers the protocol needs are forwarded (DOT copies all of ``META``, which
    the token path pays for on every request).
    """

    def _extract_params(self, request: HttpRequest):
        params = getattr(request, "oauth_params", None)
        if params is None:
            return super()._extract_params(request)
        # oauthlib accepts a list of 2-tuples as the body: no re-encoding and re-parsing.
        return request.path, request.method, params, self.extract_headers(request)

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
        params = getattr(request, "oauth_params", None) or []
        headers[CONTEXT_HEADER] = request.token_context = TokenRequestContext(
            tenant=request.tenant,
            issuer=issuer_for_request(request),
            resources=tuple(value for name, value in params if name == PARAM_RESOURCE),
        )
        return headers
