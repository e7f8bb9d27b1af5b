"""Auth0's ``blacklists/tokens``: the deny list of access tokens, named by ``jti`` (and ``aud``).

https://auth0.com/docs/api/management/v2/blacklists . Scope ``blacklist:tokens`` for both
methods. Auth0's entries never expire; ours are kept as long as any access token of the tenant
can live (the longest ``token_lifetime`` of its APIs, at least the default; ``token_deny``), after
which a token with that ``jti`` has expired anyway. ``aud`` is the API identifier the token is for
(Auth0 describes it as "the JWT's aud claim"); it may be omitted: every endpoint and the
resource kit refuse a denied ``jti`` whatever its audience.
"""

from __future__ import annotations

from http import HTTPStatus

from rest_framework.response import Response

from apps.grants.selectors import denied_token_list
from apps.grants.services import token_deny
from apps.management.api.base import ManagementView
from apps.management.api.payload import StrictCharField, StrictSerializer, validated

DENY_REASON = "Management API"


class TokenBody(StrictSerializer):
    jti = StrictCharField(max_length=64)
    aud = StrictCharField(max_length=600, required=False, allow_blank=True)


class BlacklistTokensView(ManagementView):
    """``GET`` (``[{"aud", "jti"}]``, filter ``aud``) and ``POST {"jti", "aud"}`` (201)."""

    required_scopes = {"GET": "blacklist:tokens", "POST": "blacklist:tokens"}

    def get(self, request, **kwargs) -> Response:
        rows = denied_token_list(tenant=request.tenant, audience=request.query_params.get("aud"))
        return Response([{"aud": row.audience, "jti": row.jti} for row in rows])

    def post(self, request, **kwargs) -> Response:
        body = validated(TokenBody, request.data)
        token_deny(
            tenant=request.tenant,
            jti=body["jti"],
            audience=body.get("aud", ""),
            reason=DENY_REASON,
            actor=request.user,
        )
        return Response(status=HTTPStatus.CREATED)
