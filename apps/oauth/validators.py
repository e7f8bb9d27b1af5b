"""Our oauthlib request validator: DOT's, made tenant-aware. A thin dispatcher.

Each override delegates to the module that owns the rule: client lookup to
``applications.selectors``, client authentication to ``oauth.client_auth``,
audience/grant/scope rules to ``oauth.grants.<grant>``.
"""

from __future__ import annotations

from oauth2_provider.oauth2_validators import OAuth2Validator

from apps.applications.selectors import application_get_for_token
from apps.oauth import client_auth, errors
from apps.oauth.constants import AuthMethod, GrantType
from apps.oauth.context import context_of
from apps.oauth.grants import client_credentials


class PortcullisValidator(OAuth2Validator):
    def _load_application(self, client_id, request):
        """Only the resolved tenant's clients exist for this request (no cross-tenant lookup)."""
        if not client_id:
            return None
        context = context_of(request)
        context.client_id = client_id
        client = application_get_for_token(tenant_id=context.tenant.pk, client_id=client_id)
        if client is None or not client.is_usable(request):
            return None
        request.client = client
        return client

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        method = client_auth.used_method(request)
        if method == AuthMethod.CLIENT_SECRET_BASIC:
            authenticated = self._authenticate_basic_auth(request)
        else:
            authenticated = self._authenticate_request_body(request)
        if not authenticated:
            raise errors.InvalidClient(errors.MSG_CLIENT_AUTH_FAILED, request=request)
        client_auth.check_registered_method(request, method)
        return True

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs) -> bool:
        if grant_type not in client.grant_types:
            raise errors.UnauthorizedClient(
                errors.MSG_GRANT_TYPE_NOT_ALLOWED.format(grant_type=grant_type), request=request
            )
        return True

    def get_default_scopes(self, client_id, request, *args, **kwargs) -> list[str]:
        if request.grant_type == GrantType.CLIENT_CREDENTIALS:
            return client_credentials.default_scopes(request)
        return []

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        if request.grant_type == GrantType.CLIENT_CREDENTIALS:
            client_credentials.check_scopes(request, scopes)
            return True
        return False

    def save_bearer_token(self, token, request, *args, **kwargs) -> None:
        """M2M access tokens are self-contained JWTs: no row per token (revocation is by ``jti``)."""
        if request.grant_type == GrantType.CLIENT_CREDENTIALS:
            return None
        return super().save_bearer_token(token, request, *args, **kwargs)
