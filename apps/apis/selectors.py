"""Reads of APIs. The token path reads an immutable snapshot through the TTL cache."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count

from apps.apis.models import Api, Scope
from apps.core import ttlcache
from apps.core.oidc import OIDC_SCOPE_DESCRIPTIONS
from apps.tenants import crypto


@dataclass(frozen=True, slots=True)
class ApiSnapshot:
    """What the token endpoint needs to know about an API, without touching the database."""

    id: int
    tenant_id: int
    identifier: str
    name: str
    signing_alg: str
    token_lifetime: int
    scopes: frozenset[str]
    rbac_enabled: bool
    add_permissions_in_token: bool
    signing_secret: bytes | None = field(repr=False)
    allow_offline_access: bool = False
    skip_consent_for_first_party: bool = True


def api_cache_key(tenant_id: int, identifier: str) -> tuple:
    """The config-cache key of an API; services invalidate exactly what selectors memoise."""
    return ("api", tenant_id, identifier)


def api_get_by_identifier(*, tenant_id: int, identifier: str) -> ApiSnapshot | None:
    def load() -> ApiSnapshot | None:
        api = Api.objects.for_tenant(tenant_id).filter(identifier=identifier).first()
        if api is None:
            return None
        secret = crypto.decrypt(api.signing_secret_encrypted) if api.signing_secret_encrypted else None
        return ApiSnapshot(
            id=api.pk,
            tenant_id=api.tenant_id,
            identifier=api.identifier,
            name=api.name,
            signing_alg=api.signing_alg,
            token_lifetime=api.token_lifetime,
            scopes=frozenset(api.scopes.values_list("value", flat=True)),
            rbac_enabled=api.rbac_enabled,
            add_permissions_in_token=api.add_permissions_in_token,
            signing_secret=secret,
            allow_offline_access=api.allow_offline_access,
            skip_consent_for_first_party=api.skip_consent_for_first_party,
        )

    return ttlcache.get_or_load(api_cache_key(tenant_id, identifier), load)


def scope_descriptions(*, tenant_id: int, api_ids) -> dict[str, str]:
    """``{scope: description}`` as people see them (consent, authorized applications): these APIs'
    own descriptions, and OpenID Connect's for its scopes. A scope missing here is shown as is."""
    return OIDC_SCOPE_DESCRIPTIONS | dict(
        Scope.objects.for_tenant(tenant_id)
        .filter(api_id__in=list(api_ids))
        .exclude(description="")
        .values_list("value", "description")
    )


def api_get(*, tenant_id: int, api_id: int) -> Api | None:
    return Api.objects.for_tenant(tenant_id).filter(pk=api_id).first()


@dataclass(frozen=True, slots=True)
class GrantLoss:
    """An application whose client grant for the API loses ``scopes``."""

    application_name: str
    client_id: str
    scopes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ScopeRemovalImpact:
    """What removing some of an API's scopes takes with it (the portal asks before it does).

    ``client_grants``: applications whose grant names a removed scope; ``roles``: ``{role name:
    removed scopes it holds}``; ``direct_users``: ``{scope: number of users holding it directly}``.
    """

    scopes: tuple[str, ...]
    client_grants: tuple[GrantLoss, ...]
    roles: dict[str, tuple[str, ...]]
    direct_users: dict[str, int]

    @property
    def in_use(self) -> bool:
        return bool(self.client_grants or self.roles or self.direct_users)

    @property
    def direct_user_total(self) -> int:
        return sum(self.direct_users.values())


def api_scope_removal_impact(*, api: Api, values) -> ScopeRemovalImpact:
    """Who holds the API's scopes ``values`` now: client grants, roles, users' direct permissions.

    Three queries whatever the numbers. Grants keep scopes as a JSON list, filtered here rather
    than in SQL so that the same code runs on SQLite (``make run``'s default database).
    """
    removed = sorted(set(values))
    wanted = set(removed)
    grants = []
    for name, client_id, scopes in api.client_grants.order_by("application__name").values_list(
        "application__name", "application__client_id", "scopes"
    ):
        lost = tuple(scope for scope in scopes if scope in wanted)
        if lost:
            grants.append(GrantLoss(application_name=name, client_id=client_id, scopes=lost))
    roles: dict[str, list[str]] = {}
    gone = Scope.objects.filter(api=api, value__in=removed)
    for role, value in (
        gone.filter(roles__isnull=False).order_by("roles__name", "value").values_list("roles__name", "value")
    ):
        roles.setdefault(role, []).append(value)
    direct = dict(
        gone.filter(user_permissions__isnull=False)
        .values("value")
        .annotate(users=Count("user_permissions__user", distinct=True))
        .order_by("value")
        .values_list("value", "users")
    )
    return ScopeRemovalImpact(
        scopes=tuple(removed),
        client_grants=tuple(grants),
        roles={role: tuple(scopes) for role, scopes in roles.items()},
        direct_users=direct,
    )
