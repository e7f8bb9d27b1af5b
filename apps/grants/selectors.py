"""Reads of client grants."""

from __future__ import annotations

from apps.core import ttlcache
from apps.grants.models import ClientGrant


def client_grant_cache_key(application_id: int, api_id: int) -> tuple:
    """The config-cache key of a client grant; services invalidate exactly what selectors memoise."""
    return ("client_grant", application_id, api_id)


def client_grant_scopes(*, application_id: int, api_id: int) -> frozenset[str] | None:
    """The scopes granted to this application for this API, or None without a grant (memoised)."""

    def load() -> frozenset[str] | None:
        scopes = (
            ClientGrant.objects.filter(application_id=application_id, api_id=api_id)
            .values_list("scopes", flat=True)
            .first()
        )
        return None if scopes is None else frozenset(scopes)

    return ttlcache.get_or_load(client_grant_cache_key(application_id, api_id), load)
