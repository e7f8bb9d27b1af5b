"""Auth0's rules for machine-to-machine tokens: audience, client grant and scopes.

- The API is named by ``audience`` or RFC 8707 ``resource`` (one API per token), or
  falls back to the tenant's default audience.
- The client needs a client grant for that API (403 ``access_denied`` otherwise).
- No ``scope`` requested: the token carries every granted scope. Requested scopes must
  all be granted; any that is not is refused, by name.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from apps.apis.selectors import ApiSnapshot, api_get_by_identifier
from apps.core.validators import SCOPE_TOKEN_RE
from apps.grants.selectors import client_grant_scopes
from apps.oauth import errors
from apps.oauth.constants import PARAM_AUDIENCE
from apps.oauth.context import context_of


def requested_audience(request) -> str:
    """The API identifier asked for, reconciling ``audience`` and ``resource`` (RFC 8707)."""
    audience = getattr(request, PARAM_AUDIENCE, None) or ""
    context = context_of(request)
    resources = context.resources  # RFC 8707 allows several; oauthlib would keep only the last
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


def resolve(request) -> tuple[ApiSnapshot, frozenset[str]]:
    """The API and granted scopes for this request, computed once and kept on the request."""
    resolved = getattr(request, "portcullis_resolved", None)
    if resolved is not None:
        return resolved
    audience = requested_audience(request)
    if not audience:
        raise errors.AccessDenied(errors.MSG_NO_AUDIENCE, request=request)
    api = api_get_by_identifier(tenant_id=context_of(request).tenant.pk, identifier=audience)
    if api is None:
        raise errors.AccessDenied(errors.MSG_SERVICE_NOT_FOUND.format(audience=audience), request=request)
    granted = client_grant_scopes(application_id=request.client.pk, api_id=api.id)
    if granted is None:
        raise errors.AccessDenied(errors.MSG_NO_CLIENT_GRANT.format(audience=audience), request=request)
    # Scopes the API no longer defines are never issued, even if a grant still lists them.
    granted = granted & api.scopes
    request.api = api
    request.portcullis_resolved = (api, granted)
    return api, granted


def default_scopes(request) -> list[str]:
    _, granted = resolve(request)
    return sorted(granted)


def check_scopes(request, scopes: list[str]) -> None:
    _, granted = resolve(request)
    malformed = [scope for scope in scopes if not SCOPE_TOKEN_RE.match(scope)]
    if malformed:
        raise errors.InvalidScope(errors.MSG_MALFORMED_SCOPE, request=request)
    missing = [scope for scope in dict.fromkeys(scopes) if scope not in granted]
    if missing:
        raise errors.AccessDenied(
            errors.MSG_SCOPES_NOT_GRANTED.format(scopes=" ".join(missing)), request=request
        )
