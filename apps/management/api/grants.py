"""Auth0's ``grants`` endpoints: end users' consents (user grants), listed and withdrawn.

https://auth0.com/docs/api/management/v2/grants . A grant is ``{"id", "clientID", "user_id",
"audience", "scope"}``. Deleting one (``user_grant_revoke``) deletes every token issued under it:
its refresh tokens are refused from then on and its access tokens are deny-listed.
"""

from __future__ import annotations

from http import HTTPStatus

from rest_framework.response import Response

from apps.grants.models import UserGrant
from apps.grants.selectors import user_grant_list
from apps.grants.services import user_grant_revoke, user_grants_revoke_for_user
from apps.management.api.base import ManagementView
from apps.management.api.errors import bad_request, not_found
from apps.management.api.pagination import paginated
from apps.management.api.user_shapes import user_or_404
from apps.oauth.claims import user_id_from_subject

MSG_USER_ID_REQUIRED = "Query validation error: 'user_id' is required (the user whose grants to delete)."


def render_grant(grant: UserGrant) -> dict:
    return {
        "id": str(grant.pk),
        "clientID": grant.application.client_id,
        "user_id": f"auth0|{grant.user_id}",
        "audience": grant.audience,
        "scope": list(grant.scopes),
    }


class GrantsView(ManagementView):
    """``GET /grants`` (paged; ``user_id``, ``client_id``, ``audience`` filters) and
    ``DELETE /grants?user_id=…`` (every grant of that user)."""

    required_scopes = {"GET": "read:grants", "DELETE": "delete:grants"}

    def get(self, request, **kwargs) -> Response:
        params = request.query_params
        user_id = None
        if "user_id" in params:
            raw = params["user_id"]
            user_id = (user_id_from_subject(raw) if len(raw) < 30 else None) or -1  # names no one: nothing
        rows = user_grant_list(
            tenant=request.tenant,
            user_id=user_id,
            client_id=params.get("client_id"),
            audience=params.get("audience"),
        )
        return paginated(request, rows, key="grants", render=render_grant)

    def delete(self, request, **kwargs) -> Response:
        raw = request.query_params.get("user_id", "")
        if not raw:
            raise bad_request(MSG_USER_ID_REQUIRED, error_code="invalid_query_string")
        user = user_or_404(tenant=request.tenant, user_id=raw)
        user_grants_revoke_for_user(tenant=request.tenant, user=user, actor=request.user)
        return Response(status=HTTPStatus.NO_CONTENT)


class GrantView(ManagementView):
    """``DELETE /grants/{id}``."""

    required_scopes = {"DELETE": "delete:grants"}

    def delete(self, request, id: str, **kwargs) -> Response:
        grant = (
            user_grant_list(tenant=request.tenant).filter(pk=int(id)).select_related("tenant").first()
            if id.isascii() and id.isdigit() and len(id) < 19
            else None
        )
        if grant is None:
            raise not_found("grant")
        user_grant_revoke(grant=grant, actor=request.user)
        return Response(status=HTTPStatus.NO_CONTENT)
