"""Every tenant-scoped list costs the same queries for 2 rows as for 20: no query per row (N+1).

One probe for every admin built on ``TenantScopedAdmin``; a new admin without a row maker here
fails ``test_every_scoped_admin_is_probed``, so none escapes the probe.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.dashboard.admin_base import TenantScopedAdmin
from apps.dashboard.portal import SESSION_KEY
from apps.grants.services import token_deny
from apps.tenants.models import SigningKey, TenantMembership
from apps.tenants.services import signing_key_create
from tests.dashboard.conftest import TenantWorld, admin_url
from tests.factories import (
    AccessTokenFactory,
    ApiFactory,
    ApplicationFactory,
    AuditEventFactory,
    AuthorizationCodeFactory,
    ClientGrantFactory,
    IDTokenFactory,
    LoginBlockFactory,
    MembershipFactory,
    RefreshTokenFactory,
    RoleFactory,
    TenantFactory,
    TokenEventFactory,
    TokenRuleFactory,
    UserFactory,
    UserGrantFactory,
)

# The world fixtures hold one row of each kind per tenant (alpha and bravo): 2 rows across
# tenants. The probe adds this many more to one tenant.
MORE_ROWS = 18

Maker = Callable[[TenantWorld, int], object]


def _end_user(world: TenantWorld, index: int):
    return UserFactory(tenant=world.tenant, username=f"probe-{index}@{world.tenant.slug}.example")


# One more row of each kind in ``world``'s tenant (``index`` keeps values unique).
MAKERS: dict[str, Maker] = {
    "tenants.tenant": lambda world, index: TenantFactory(slug=f"probe-tenant-{index}"),
    "tenants.signingkey": lambda world, index: signing_key_create(
        tenant=world.tenant, algorithm=SigningKey.Algorithm.ES256, state=SigningKey.State.RETIRED
    ),
    "tenants.tenantmembership": lambda world, index: MembershipFactory(tenant=world.tenant),
    "apis.api": lambda world, index: ApiFactory(tenant=world.tenant),
    "applications.application": lambda world, index: ApplicationFactory(tenant=world.tenant),
    "grants.clientgrant": lambda world, index: ClientGrantFactory(
        application=ApplicationFactory(tenant=world.tenant), api=world.api
    ),
    "grants.usergrant": lambda world, index: UserGrantFactory(user=_end_user(world, index), api=world.api),
    "grants.deniedtoken": lambda world, index: token_deny(
        tenant=world.tenant, jti=f"probe-jti-{index}", audience=world.api.identifier
    ),
    "audit.auditevent": lambda world, index: AuditEventFactory(tenant=world.tenant),
    "audit.tokenevent": lambda world, index: TokenEventFactory(tenant=world.tenant),
    "accounts.user": _end_user,
    "accounts.loginblock": lambda world, index: LoginBlockFactory(user=_end_user(world, index)),
    "accounts.role": lambda world, index: RoleFactory(
        tenant=world.tenant, permissions=list(world.api.scopes.all()[:2])
    ),
    "token_rules.tokenrule": lambda world, index: TokenRuleFactory(
        tenant=world.tenant, application=world.application, api=world.api
    ),
    "oauth.accesstoken": lambda world, index: AccessTokenFactory(
        application=world.application, user=world.end_user
    ),
    "oauth.refreshtoken": lambda world, index: RefreshTokenFactory(
        application=world.application, user=world.end_user
    ),
    "oauth.grant": lambda world, index: AuthorizationCodeFactory(
        application=world.application, user=world.end_user
    ),
    "oauth.idtoken": lambda world, index: IDTokenFactory(application=world.application, user=world.end_user),
}
# What a tenant's admin lists in their tenant (superusers alone see tokens; a member's tenant list is one row).
MEMBER_LISTS = sorted(
    set(MAKERS) - {"tenants.tenant", *(label for label in MAKERS if label.startswith("oauth."))}
)


def _scoped_admins() -> dict[str, admin.ModelAdmin]:
    return {
        model._meta.label_lower: model_admin
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, TenantScopedAdmin)
    }


def _changelist_url(label: str) -> str:
    app_label, model_name = label.split(".")
    return admin_url(f"{app_label}_{model_name}_changelist")


def _list_queries(client: Client, label: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_changelist_url(label))
    assert response.status_code == HTTPStatus.OK
    return len(queries.captured_queries), response.content.decode()


def _assert_flat(client: Client, label: str, world: TenantWorld) -> None:
    # given the list with about 2 rows
    before, _ = _list_queries(client, label)
    # when about 18 more rows are added
    for index in range(MORE_ROWS):
        MAKERS[label](world, index)
    # then listing them costs the same queries
    after, html = _list_queries(client, label)
    assert after == before, f"{label}: {before} queries for the short list, {after} for the long one"
    assert "result_list" in html


def test_every_scoped_admin_is_probed():
    # given every registered tenant-scoped admin / then each has a row maker for the probe
    assert set(_scoped_admins()) == set(MAKERS)


@pytest.mark.parametrize("label", sorted(MAKERS))
def test_a_list_across_tenants_costs_the_same_queries_for_2_or_20_rows(
    superuser_client, alpha: TenantWorld, bravo: TenantWorld, label
):
    # Superusers in "All tenants": the widest list (every column, the tenant's included).
    MembershipFactory(tenant=alpha.tenant)
    MembershipFactory(tenant=bravo.tenant)
    _assert_flat(superuser_client, label, alpha)


@pytest.mark.parametrize("label", MEMBER_LISTS)
def test_a_members_list_costs_the_same_queries_for_2_or_20_rows(
    portal_client, portal_admin, alpha: TenantWorld, bravo: TenantWorld, label
):
    # A member of alpha working in alpha (their membership is alpha's first member row).
    session = portal_client.session
    session[SESSION_KEY] = alpha.tenant.pk
    session.save()
    TenantMembership.objects.filter(user=portal_admin).update(role=TenantMembership.Role.OWNER)
    MembershipFactory(tenant=alpha.tenant)
    _assert_flat(portal_client, label, alpha)
