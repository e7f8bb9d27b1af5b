"""What our Django-side code resolved for a token request, handed to oauthlib's side.

oauthlib builds its own request object from (uri, method, body, headers); the
tenant, its issuer and the repeated ``resource`` values (which oauthlib collapses into
one) travel in the headers under ``CONTEXT_HEADER``. Clients cannot spoof it: real
HTTP headers reach oauthlib only as ``HTTP_*`` keys.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTEXT_HEADER = "portcullis.context"


@dataclass(slots=True)
class TokenRequestContext:
    tenant: object  # apps.tenants.models.Tenant (cached instance: read-only)
    issuer: str
    resources: tuple[str, ...]
    # Filled in as the request is processed, for the token log.
    client_id: str = ""
    audience: str = ""
    scope: str = ""
    jti: str = ""


def context_of(oauthlib_request) -> TokenRequestContext:
    return oauthlib_request.headers[CONTEXT_HEADER]
