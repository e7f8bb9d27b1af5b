"""Reads of client grants and user grants."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from apps.applications.models import Application
from apps.core import ttlcache
from apps.grants.models import ClientGrant, DeniedToken, UserGrant


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


def application_allows_client_credentials(application: Application) -> bool:
    """Whether the token endpoint would let ``application`` use the client credentials grant at all:
    the grant type is allowed, and it authenticates with a secret (a public client cannot)."""
    return (
        Application.GrantType.CLIENT_CREDENTIALS in application.grant_types
        and application.token_endpoint_auth_method != Application.AuthMethod.NONE
    )


def client_grant_candidates(*, api) -> list[Application]:
    """The applications an API's "Machine to Machine Applications" tab lists, by name.

    Every application of the API's tenant that may use client credentials, and any other that
    still holds a grant for the API (so that it can be withdrawn). Each carries ``api_grant``:
    its ``ClientGrant`` for this API, or None. Two queries, however many applications.
    Grant types are a JSON list, checked here rather than in SQL (SQLite runs ``make run``).
    """
    grants = Prefetch("client_grants", queryset=ClientGrant.objects.filter(api=api), to_attr="grants_for_api")
    applications = (
        Application.objects.for_tenant(api.tenant_id).prefetch_related(grants).order_by("name", "pk")
    )
    listed = []
    for application in applications:
        application.api_grant = application.grants_for_api[0] if application.grants_for_api else None
        if application.api_grant is not None or application_allows_client_credentials(application):
            listed.append(application)
    return listed


def user_grant_covering(
    *, tenant_id: int, user_id: int, application_id: int, audience: str, scopes
) -> UserGrant | None:
    """The user's grant to this application for this audience if it already covers ``scopes``."""
    grant = (
        UserGrant.objects.for_tenant(tenant_id)
        .filter(user_id=user_id, application_id=application_id, audience=audience)
        .first()
    )
    if grant is None or not set(scopes) <= set(grant.scopes):
        return None
    return grant


def user_grant_list_for_user(*, tenant, user) -> QuerySet[UserGrant]:
    """An end user's grants, newest first, with what the authorized-applications page shows."""
    return UserGrant.objects.for_tenant(tenant).filter(user=user).select_related("application", "api")


def user_grant_get_for_user(*, tenant, user, grant_id: int) -> UserGrant | None:
    return user_grant_list_for_user(tenant=tenant, user=user).filter(pk=grant_id).first()


# --- The deny list ------------------------------------------------------------------------------


def deny_list_cache_key(tenant_id: int) -> tuple:
    return ("deny_list", tenant_id)


@dataclass(frozen=True, slots=True)
class DenyListSnapshot:
    """A tenant's unexpired deny-list entries as read at one moment: ``(audience, jti, exp)``."""

    jtis: frozenset[str]
    entries: tuple[tuple[str, str, int], ...]


def deny_list_snapshot(*, tenant_id: int) -> DenyListSnapshot:
    """The tenant's deny list, memoised: read at most once per ``DENY_LIST_CACHE_SECONDS`` (1 s)
    per process, so checking a token is a set lookup, not a query, and the feed costs no query
    per poll either.

    Services that add rows invalidate it at once in this process, and with a shared cache in
    every process within ``CONFIG_SYNC_SECONDS``; without one, other processes see a revocation
    within ``DENY_LIST_CACHE_SECONDS``, shorter than other configuration's window because a
    revocation is a security decision. ``jti`` values are 128 random bits: one set per tenant,
    whatever the audience.
    """

    def load() -> DenyListSnapshot:
        rows = (
            DeniedToken.objects.for_tenant(tenant_id)
            .filter(expires_at__gt=timezone.now())
            .order_by("expires_at", "jti")
            .values_list("audience", "jti", "expires_at")
        )
        entries = tuple((audience, jti, int(expires_at.timestamp())) for audience, jti, expires_at in rows)
        return DenyListSnapshot(jtis=frozenset(jti for _, jti, _ in entries), entries=entries)

    return ttlcache.get_or_load(deny_list_cache_key(tenant_id), load, ttl=settings.DENY_LIST_CACHE_SECONDS)


def token_is_denied(*, tenant_id: int, jti: str) -> bool:
    return bool(jti) and jti in deny_list_snapshot(tenant_id=tenant_id).jtis


def deny_list_feed(*, tenant_id: int, audience: str) -> list[dict]:
    """What a resource server needs to refuse: ``[{"jti", "exp"}]`` of the unexpired entries for its API."""
    now = time.time()
    return [
        {"jti": jti, "exp": exp}
        for entry_audience, jti, exp in deny_list_snapshot(tenant_id=tenant_id).entries
        if entry_audience == audience and exp > now
    ]


def user_grant_list(
    *,
    tenant,
    user_id: int | None = None,
    client_id: str | None = None,
    audience: str | None = None,
) -> QuerySet[UserGrant]:
    """The tenant's user grants (consents), newest first, filtered by user, application and API
    identifier (Auth0's ``GET /api/v2/grants``)."""
    rows = UserGrant.objects.for_tenant(tenant).select_related("application")
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    if client_id is not None:
        rows = rows.filter(application__client_id=client_id)
    if audience is not None:
        rows = rows.filter(audience=audience)
    return rows.order_by("-updated_at", "-pk")


def denied_token_list(*, tenant, audience: str | None = None) -> QuerySet[DeniedToken]:
    """The tenant's deny-list entries that still matter (not expired), newest first."""
    rows = DeniedToken.objects.for_tenant(tenant).filter(expires_at__gt=timezone.now())
    return rows if audience is None else rows.filter(audience=audience)
