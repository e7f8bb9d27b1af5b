"""DOT's bridge between Django and oauthlib, fed by our parsed, tenant-aware request.

Every call into oauthlib runs with the request's ``OAuthContext`` bound (``context.bound``).
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from oauth2_provider.oauth2_backends import OAuthLibCore

from apps.oauth.constants import FORM_CONTENT_TYPE, PARAM_GRANT_TYPE
from apps.oauth.context import OAuthContext, bound
from apps.oauth.grants.registry import rules_for
from apps.oauth.issuer import issuer_for_request

_FORWARDED_META = ("HTTP_AUTHORIZATION", "HTTP_ORIGIN")


def context_for(request: HttpRequest, params=None) -> OAuthContext:
    """The request's context, created once and kept on the Django request as ``request.oauth``."""
    context = getattr(request, "oauth", None)
    if context is None:
        context = request.oauth = OAuthContext(
            tenant=request.tenant,
            issuer=issuer_for_request(request),
            params=list(params or ()),
            http_request=request,
        )
    return context


class PortcullisOAuthLibCore(OAuthLibCore):
    """Hands oauthlib the parameters parsed by ``request_parsing`` and binds the request's context.

    Only the headers the protocol needs are forwarded (DOT copies all of ``META``, which
    the token path pays for on every request).
    """

    def _extract_params(self, request: HttpRequest):
        context = getattr(request, "oauth", None)
        if context is None or request.method == "GET":
            return super()._extract_params(request)
        # oauthlib accepts a list of 2-tuples as the body: no re-encoding and re-parsing.
        return request.path, request.method, context.params, self.extract_headers(request)

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
        return headers

    def create_token_response(self, request: HttpRequest):
        """Grants that need it (``GrantRules.needs_transaction``) run in one transaction: a code is
        locked while it is exchanged, and a refusal after the rows were written leaves nothing."""
        context = context_for(request)
        grant_type = next((value for name, value in context.params if name == PARAM_GRANT_TYPE), "")
        rules = rules_for(grant_type)
        with bound(context):
            if rules is None or not rules.needs_transaction:
                return super().create_token_response(request)
            with transaction.atomic():
                uri, headers, body, status = super().create_token_response(request)
                if status != 200 and not context.keep_writes:
                    transaction.set_rollback(True)  # a refused request leaves no rows behind
                return uri, headers, body, status

    def create_revocation_response(self, request: HttpRequest):
        with bound(context_for(request)):
            return super().create_revocation_response(request)

    def create_introspect_response(self, request: HttpRequest):
        """RFC 7662 (DOT's core has no wrapper for oauthlib's introspection endpoint)."""
        uri, http_method, body, headers = self._extract_params(request)
        with bound(context_for(request)):
            headers, body, status = self.server.create_introspect_response(uri, http_method, body, headers)
        return uri, headers, body, status

    def create_userinfo_response(self, request: HttpRequest):
        with bound(context_for(request)):
            return super().create_userinfo_response(request)

    # --- The authorization endpoint: the request is the original ``/authorize`` URL, which the
    # flow keeps while the user signs in and consents (the browser is elsewhere by then).
    def authorization_validate(self, request: HttpRequest, *, uri: str):
        """oauthlib's validation of an authorization request; raises oauthlib's errors."""
        with bound(context_for(request)):
            return self.server.validate_authorization_request(uri, http_method="GET", headers={})

    def authorization_issue(
        self, request: HttpRequest, *, uri: str, scopes: list[str], credentials: dict
    ) -> str:
        """The redirect URI carrying the code or tokens (or an error oauthlib found)."""
        with bound(context_for(request)):
            headers, _, _ = self.server.create_authorization_response(
                uri=uri, http_method="GET", headers={}, scopes=scopes, credentials=credentials
            )
        return headers["Location"]
