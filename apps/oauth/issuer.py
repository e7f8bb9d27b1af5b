"""The issuer identifier of a tenant: ``http(s)://<host>/t/<slug>/`` (trailing slash, like Auth0)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def issuer_for_request(request: HttpRequest) -> str:
    """As seen by the client making this request (honours BEHIND_PROXY's forwarded headers)."""
    return issuer_seen_from(request, request.tenant)


def issuer_seen_from(request: HttpRequest, tenant) -> str:
    """``tenant``'s issuer on the host this request came to: for pages about a tenant served
    outside its ``/t/<slug>/`` (the portal's quickstart snippets)."""
    return f"{request.scheme}://{request.get_host()}/t/{tenant.slug}/"


def issuer_for_tenant(tenant) -> str:
    """Outside a request (commands, stored audiences): from ``settings.PUBLIC_URL``."""
    return f"{settings.PUBLIC_URL}/t/{tenant.slug}/"
