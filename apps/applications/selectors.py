"""Reads of applications."""

from __future__ import annotations

from apps.applications.models import Application
from apps.core import ttlcache


def client_cache_key(tenant_id: int, client_id: str) -> tuple:
    """The config-cache key of a client; services invalidate exactly what selectors memoise."""
    return ("client", tenant_id, client_id)


def application_get_for_token(*, tenant_id: int, client_id: str) -> Application | None:
    """The tenant's client with this id, as the token endpoint sees it (briefly memoised).

    Scoped by tenant: a client id from another tenant is simply unknown here.
    """

    def load() -> Application | None:
        if "\x00" in client_id or len(client_id) > 100:
            return None
        return Application.objects.for_tenant(tenant_id).filter(client_id=client_id).first()

    return ttlcache.get_or_load(client_cache_key(tenant_id, client_id), load)
