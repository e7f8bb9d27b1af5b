"""Fixtures for the admin tests: two tenants with one of everything, a portal admin of the first."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import LoginBlock, Role, User
from apps.accounts.services import portal_admin_create
from apps.apis.models import Api
from apps.applications.models import Application
from apps.audit.models import AuditEvent, TokenEvent
from apps.grants.models import ClientGrant, DeniedToken, UserGrant
from apps.grants.services import token_deny
from apps.tenants.models import SigningKey, Tenant
from apps.token_rules.models import TokenRule
from tests.factories import (
    ApiFactory,
    ApplicationFactory,
    ClientGrantFactory,
    LoginBlockFactory,
    RoleFactory,
    TenantFactory,
    TokenRuleFactory,
    UserFactory,
    UserGrantFactory,
)

PORTAL_PASSWORD = "portal admin's long passphrase"


@dataclass
class TenantWorld:
    """A tenant and one row of each kind the admin shows."""

    tenant: Tenant
    api: Api
    application: Application
    grant: ClientGrant
    end_user: User
    signing_key: SigningKey
    audit_event: AuditEvent
    token_event: TokenEvent
    user_grant: UserGrant
    denied_token: DeniedToken
    token_rule: TokenRule
    login_block: LoginBlock
    role: Role


def make_world(slug: str) -> TenantWorld:
    tenant = TenantFactory(slug=slug)
    api = ApiFactory(tenant=tenant)
    application = ApplicationFactory(tenant=tenant)
    end_user = UserFactory(tenant=tenant, username=f"end-user@{slug}.example")
    return TenantWorld(
        tenant=tenant,
        api=api,
        application=application,
        grant=ClientGrantFactory(application=application, api=api),
        end_user=end_user,
        signing_key=SigningKey.objects.for_tenant(tenant).first(),
        audit_event=AuditEvent.objects.filter(tenant=tenant).order_by("created_at").first(),
        token_event=TokenEvent.objects.create(
            tenant=tenant,
            type=TokenEvent.Type.SUCCESS_CLIENT_CREDENTIALS,
            client_id=application.client_id,
            audience=api.identifier,
            created_at=timezone.now(),
        ),
        user_grant=UserGrantFactory(user=end_user, api=api),
        denied_token=token_deny(tenant=tenant, jti=f"jti-of-{slug}", audience=api.identifier),
        token_rule=TokenRuleFactory(tenant=tenant, application=application, api=api),
        login_block=LoginBlockFactory(user=end_user),
        role=RoleFactory(tenant=tenant, name=f"Approver of {slug}", permissions=list(api.scopes.all()[:1])),
    )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Portal passwords use PBKDF2 (~0.6 s a hash here); these tests are about the admin, not hashing.

    The client secret hasher stays registered: secrets are still checked with ``check_password``.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


@pytest.fixture
def alpha(db) -> TenantWorld:
    return make_world("alpha-corp")


@pytest.fixture
def bravo(db) -> TenantWorld:
    return make_world("bravo-corp")


@pytest.fixture
def portal_admin(alpha) -> User:
    """A portal admin of ``alpha`` only."""
    return portal_admin_create(username="pat", password=PORTAL_PASSWORD, tenants=[alpha.tenant])


@pytest.fixture
def portal_client(portal_admin) -> Client:
    client = Client()
    client.force_login(portal_admin)
    return client


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser(username="root", email="root@example.com", password=PORTAL_PASSWORD)


@pytest.fixture
def superuser_client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def admin_url(url_name: str, *args: object) -> str:
    return reverse(f"admin:{url_name}", args=args)


def shown_secret(html: str) -> str:
    """The secret on a one-time secret page."""
    match = re.search(r'<code id="client-secret"[^>]*>([^<]+)</code>', html)
    assert match, "no secret on the page"
    return match.group(1)


def select_values(html: str, name: str) -> set[str]:
    """The option values of the ``<select name=...>`` on a page."""
    match = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no <select name={name!r}> on the page"
    return set(re.findall(r'value="([^"]+)"', match.group(1)))


def attack_protection_form(tenant: Tenant) -> dict:
    """The tenant change form's attack-protection fields as the browser posts them, unchanged."""
    from apps.tenants.selectors import tenant_attack_protection

    protection = tenant_attack_protection(tenant=tenant)
    data: dict = {}
    for prefix, policy in (
        ("brute_force", protection.brute_force),
        ("suspicious_ip", protection.suspicious_ip),
    ):
        for name in policy.__slots__:
            value = getattr(policy, name)
            if name == "enabled":
                if value:
                    data[f"{prefix}_enabled"] = "on"
            else:
                data[f"{prefix}_{name}"] = "\n".join(value) if name == "allowlist" else str(value)
    return data


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def member_of(db):
    """``member_of(tenant, ..., role=...)``: a new portal admin with ``role`` in each tenant, signed in.

    The client's ``.user`` is the member. Without a switch they work in their first tenant by slug.
    """
    from apps.tenants.models import TenantMembership
    from tests.factories import MembershipFactory, PortalAdminFactory

    def make(*tenants: Tenant, role: str = TenantMembership.Role.ADMIN) -> Client:
        user = PortalAdminFactory()
        for tenant in tenants:
            MembershipFactory(tenant=tenant, user=user, role=role)
        client = signed_in(user)
        client.user = user
        return client

    return make
