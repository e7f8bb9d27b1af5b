"""Reads about a tenant's Management API."""

from __future__ import annotations

from apps.apis.models import Api
from apps.core import ttlcache
from apps.management.services import MANAGEMENT_API_PATH


def management_api_cache_key(tenant_id: int) -> tuple:
    return ("management_api_identifier", tenant_id)


def management_api_identifier(*, tenant_id: int) -> str | None:
    """The audience of the tenant's Management API as it was provisioned (``<issuer>api/v2/`` with
    the issuer of ``PUBLIC_URL`` then), or None for a tenant without one. Tokens name it in ``aud``
    whatever host the caller reaches the server by. Memoised like other configuration."""

    def load() -> str | None:
        return (
            Api.objects.for_tenant(tenant_id)
            .filter(is_system=True, identifier__endswith=f"/{MANAGEMENT_API_PATH}")
            .values_list("identifier", flat=True)
            .first()
        )

    return ttlcache.get_or_load(management_api_cache_key(tenant_id), load)
