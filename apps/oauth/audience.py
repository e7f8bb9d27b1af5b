"""Which API a request names: ``audience`` (Auth0) or RFC 8707 ``resource``, else the tenant's default."""

from __future__ import annotations

from urllib.parse import urlsplit

from apps.apis.selectors import ApiSnapshot, api_get_by_identifier
from apps.oauth import errors
from apps.oauth.constants import PARAM_AUDIENCE
from apps.oauth.context import OAuthContext


def requested_audience(request, context: OAuthContext) -> str:
    """The API identifier the oauthlib ``request`` asks for, reconciling ``audience`` and the RFC 8707
    ``resource`` values (section 2) kept in ``context`` (oauthlib would keep only the last one)."""
    audience = getattr(request, PARAM_AUDIENCE, None) or ""
    resources = context.resources
    if len(resources) > 1:
        raise errors.InvalidTarget(errors.MSG_MULTIPLE_RESOURCES, request=request)
    if resources:
        resource = resources[0]
        parts = urlsplit(resource)
        if not parts.scheme or parts.fragment:
            raise errors.InvalidTarget(errors.MSG_INVALID_RESOURCE.format(resource=resource), request=request)
        if audience and audience != resource:
            raise errors.InvalidTarget(errors.MSG_AUDIENCE_RESOURCE_MISMATCH, request=request)
        return resource
    return audience or context.tenant.default_audience


def api_for_audience(*, audience: str, context: OAuthContext, request=None) -> ApiSnapshot:
    """The tenant's API with this identifier; Auth0's ``access_denied`` refusals otherwise."""
    if not audience:
        raise errors.AccessDenied(errors.MSG_NO_AUDIENCE, request=request)
    api = api_get_by_identifier(tenant_id=context.tenant.pk, identifier=audience)
    if api is None:
        raise errors.AccessDenied(errors.MSG_SERVICE_NOT_FOUND.format(audience=audience), request=request)
    return api
