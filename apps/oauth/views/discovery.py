"""``/t/<tenant>/.well-known/openid-configuration`` and ``/t/<tenant>/.well-known/jwks.json``."""

from __future__ import annotations

import hashlib

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_safe

from apps.oauth.discovery import tenant_discovery_document
from apps.oauth.issuer import issuer_for_request
from apps.tenants.selectors import signing_key_jwks

PUBLIC_CACHE = "public, max-age=300"

# How long a verifier or HTTP cache may reuse the JWK Set (seconds). Rotation stays seamless
# because a key is published as ``next`` from the previous rotation on, i.e. for a whole
# rotation interval (days or weeks; at least this plus the verifiers' own cache lifetime,
# ~10 minutes with the kit's defaults) before it signs; and a previous key stays published
# for one more interval. Revocation is the case that wants this short: a revoked key leaves
# our JWKS at once, and leaves shared HTTP caches within this many seconds. Five minutes
# matches the resource kit's and PyJWT's default JWKS lifespan.
JWKS_MAX_AGE = 300
JWKS_CACHE = f"public, max-age={JWKS_MAX_AGE}"


def _public_json(data: dict, *, cache_control: str = PUBLIC_CACHE) -> JsonResponse:
    response = JsonResponse(data)
    response["Cache-Control"] = cache_control
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def openid_configuration(request: HttpRequest) -> JsonResponse:
    return _public_json(tenant_discovery_document(issuer=issuer_for_request(request), tenant=request.tenant))


@require_safe
def jwks(request: HttpRequest) -> HttpResponse:
    """The tenant's JWK Set (next, current, previous keys), with a strong ETag of its content.

    A verifier revalidating with ``If-None-Match`` gets ``304 Not Modified`` until a rotation
    or revocation changes the set (RFC 9110 section 13.1.2).
    """
    response = _public_json(signing_key_jwks(tenant=request.tenant), cache_control=JWKS_CACHE)
    response["ETag"] = f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
    conditional = get_conditional_response(request, etag=response["ETag"], response=response)
    if conditional is not response:
        # Django keeps ETag and Cache-Control on the 304 (RFC 9110 15.4.5); browsers need CORS too.
        conditional["Access-Control-Allow-Origin"] = "*"
    return conditional
