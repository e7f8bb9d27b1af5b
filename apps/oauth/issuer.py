"""The issuer identifier of a tenant: ``http(s)://<host>/t/<slug>/`` (trailing slash, like Auth0)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def issuer_for_request(request: HttpRequest) -> str:
    """As seen by the client making this request (honours BEHIND_PROXY's forwarded headers)."""
    return f"{request.scheme}://{request.get_host()}/t/{request.tenant.slug}/"


def issuer_for_tenant(tenant) -> str:
    """Outside a request (commands, stored audiences): from ``settings.PUBLIC_URL``."""
    return f"{settings.PUBLIC_URL}/t/{tenant.slug}/"


def issuer_for_host(request: HttpRequest, tenant) -> str:
    """``tenant``'s issuer on the host ``request`` came to, from pages outside the tenant's URLs
    (the portal's snippets and test tokens): the same origin a client on that host would use."""
    return f"{request.scheme}://{request.get_host()}/t/{tenant.slug}/"
