"""The oauthlib server behind our endpoints, built from the grant registry.

DOT instantiates it (``OAUTH2_SERVER_CLASS`` and ``OIDC_SERVER_CLASS``) with our validator.
The token endpoint knows exactly the grant types in ``apps.oauth.grants.registry``; the
authorization endpoint the response types of ``apps.oauth.authorization.rules``; oauthlib
itself refuses anything else.
"""

from __future__ import annotations

from oauthlib.common import Request
from oauthlib.oauth2 import BearerToken
from oauthlib.oauth2.rfc6749 import errors as oauthlib_errors
from oauthlib.oauth2.rfc6749 import utils
from oauthlib.oauth2.rfc6749.endpoints import (
    AuthorizationEndpoint,
    IntrospectEndpoint,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.endpoints.base import catch_errors_and_unavailability
from oauthlib.openid.connect.core.endpoints.userinfo import UserInfoEndpoint

from apps.oauth import tokens
from apps.oauth.authorization.rules import DEFAULT_RESPONSE_TYPE, response_types
from apps.oauth.constants import GrantType
from apps.oauth.grants.registry import GRANT_RULES


class ParsedRequest(Request):
    """oauthlib's request for a token request whose body ``request_parsing`` already checked.

    That parsing refuses a query string and every repeated parameter but ``resource``
    (RFC 8707), and oauthlib knows no ``resource``: its scans for query parameters and for
    repeated parameters, which re-parse the URI on each access (three times a request), can
    find nothing. Everything else is oauthlib's.
    """

    @property
    def uri_query(self) -> str:
        return ""

    @property
    def uri_query_params(self) -> list:
        return []

    @property
    def duplicate_params(self) -> list:
        return []


class ConfidentialIntrospectEndpoint(IntrospectEndpoint):
    """oauthlib's RFC 7662 endpoint, for confidential clients only: a public client (``none``)
    cannot prove who is asking (section 2.1: the endpoint MUST require authorization)."""

    def _raise_on_invalid_client(self, request) -> None:
        if not self.request_validator.authenticate_client(request):
            raise oauthlib_errors.InvalidClientError(request=request)


class PortcullisServer(
    AuthorizationEndpoint,
    TokenEndpoint,
    ResourceEndpoint,
    RevocationEndpoint,
    ConfidentialIntrospectEndpoint,
    UserInfoEndpoint,
):
    def __init__(
        self,
        request_validator,
        token_expires_in=None,
        token_generator=None,
        refresh_token_generator=None,
        **kwargs,
    ) -> None:
        # Lifetimes are the API's (Auth0), never DOT's global ACCESS_TOKEN_EXPIRE_SECONDS.
        # Refresh tokens are opaque random strings (oauthlib would otherwise mint them with the
        # access token generator: a signed JWT, and a second jti overwriting the access token's).
        bearer = BearerToken(
            request_validator,
            token_generator,
            tokens.expires_in,
            refresh_token_generator or tokens.generate_refresh_token,
        )
        TokenEndpoint.__init__(
            self,
            default_grant_type=GrantType.CLIENT_CREDENTIALS.value,
            grant_types={
                grant_type: rules.oauthlib_grant(request_validator)
                for grant_type, rules in GRANT_RULES.items()
            },
            default_token_type=bearer,
        )
        AuthorizationEndpoint.__init__(
            self,
            default_response_type=DEFAULT_RESPONSE_TYPE,
            response_types=response_types(request_validator),
            default_token_type=bearer,
        )
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": bearer})
        RevocationEndpoint.__init__(self, request_validator)
        ConfidentialIntrospectEndpoint.__init__(self, request_validator)
        UserInfoEndpoint.__init__(self, request_validator)

    @catch_errors_and_unavailability
    def create_token_response(
        self,
        uri,
        http_method="POST",
        body=None,
        headers=None,
        credentials=None,
        grant_type_for_scope=None,
        claims=None,
    ):
        """oauthlib's ``TokenEndpoint.create_token_response``, step for step, with a ``ParsedRequest``
        when the body is the parameter list ``request_parsing`` produced (``PortcullisOAuthLibCore``
        passes it; anything else, e.g. a raw body, gets oauthlib's own ``Request`` and checks)."""
        request_class = ParsedRequest if isinstance(body, list) and "?" not in uri else Request
        request = request_class(uri, http_method=http_method, body=body, headers=headers)
        self.validate_token_request(request)
        request.scopes = utils.scope_to_list(request.scope)
        request.extra_credentials = credentials
        if grant_type_for_scope:
            request.grant_type = grant_type_for_scope
        if claims:
            request.claims = claims
        grant_type_handler = self.grant_types.get(request.grant_type, self.default_grant_type_handler)
        return grant_type_handler.create_token_response(request, self.default_token_type)
