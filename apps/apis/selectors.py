"""Reads of APIs. The token path reads an immutable snapshot through the TTL cache."""

from __future__ import annotations

from dataclasses import dataclass, field

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
