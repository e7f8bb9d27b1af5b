"""factory-boy factories. They create rows through our services, as the product does."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from apps.accounts.models import LoginBlock, Role, User
from apps.accounts.rbac.services import role_create
from apps.accounts.services import portal_admin_create, user_create
from apps.apis.models import Api
from apps.apis.services import api_create
from apps.applications.models import Application
from apps.applications.services import AppType, application_create
from apps.grants.models import ClientGrant, UserGrant
from apps.grants.services import client_grant_create, user_grant_record
from apps.tenants.models import Tenant, TenantMembership
from apps.tenants.services import membership_add, tenant_create
from apps.token_rules.models import TokenRule
from apps.token_rules.services import token_rule_create

DEFAULT_SCOPES = {
    "read:things": "Read things",
    "write:things": "Write things",
    "delete:things": "Delete things",
}


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Tenant:
        return tenant_create(slug=kwargs["slug"], name=kwargs["name"])


class ApiFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Api

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"API {n}")
    identifier = factory.Sequence(lambda n: f"https://api-{n}.example.com")
    scopes = factory.LazyFunction(lambda: dict(DEFAULT_SCOPES))

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Api:
        return api_create(**kwargs)


class ApplicationFactory(factory.django.DjangoModelFactory):
    """An application; ``.plaintext_secret`` holds the secret that was shown once."""

    class Meta:
        model = Application

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Application {n}")
    app_type = AppType.MACHINE_TO_MACHINE

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Application:
        created = application_create(**kwargs)
        created.application.plaintext_secret = created.client_secret
        return created.application


class ClientGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClientGrant

    application = factory.SubFactory(ApplicationFactory)
    api = factory.SubFactory(ApiFactory, tenant=factory.SelfAttribute("..application.tenant"))
    scopes = factory.LazyAttribute(lambda o: list(DEFAULT_SCOPES)[:2])

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> ClientGrant:
        return client_grant_create(tenant=kwargs["application"].tenant, **kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    """A tenant end user (``tenant=None`` for a portal user); password in ``.plaintext_password``."""

    class Meta:
        model = User

    tenant = factory.SubFactory(TenantFactory)
    username = factory.Sequence(lambda n: f"user{n}@example.com")
    password = "correct horse battery staple"

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> User:
        user = user_create(**kwargs)
        user.plaintext_password = kwargs["password"]
        return user


class UserGrantFactory(factory.django.DjangoModelFactory):
    """An end user's consent to an application for an API, through ``user_grant_record``."""

    class Meta:
        model = UserGrant

    user = factory.SubFactory(UserFactory)
    application = factory.SubFactory(
        ApplicationFactory, tenant=factory.SelfAttribute("..user.tenant"), app_type=AppType.REGULAR_WEB
    )
    api = factory.SubFactory(ApiFactory, tenant=factory.SelfAttribute("..user.tenant"))
    scopes = factory.LazyAttribute(lambda o: ["openid", *list(DEFAULT_SCOPES)[:1]])

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> UserGrant:
        return user_grant_record(tenant=kwargs["user"].tenant, **kwargs)


class TokenRuleFactory(factory.django.DjangoModelFactory):
    """A token rule, through ``token_rule_create``; by default it adds ``https://example.com/plan: gold``
    to every client-credentials token of its tenant (pass ``claims={}`` for other actions)."""

    class Meta:
        model = TokenRule

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    claims = factory.LazyFunction(lambda: {"https://example.com/plan": "gold"})

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> TokenRule:
        return token_rule_create(**kwargs)


class LoginBlockFactory(factory.django.DjangoModelFactory):
    """A brute-force block as ``credentials_check`` records it (for a known user unless ``user=None``)."""

    class Meta:
        model = LoginBlock

    user = factory.SubFactory(UserFactory)
    tenant = factory.SelfAttribute("user.tenant")
    username = factory.LazyAttribute(lambda o: o.user.username.casefold() if o.user else "nobody@example.com")
    ip = "203.0.113.7"
    blocked_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.blocked_at + timedelta(days=30))


class RoleFactory(factory.django.DjangoModelFactory):
    """A role, through ``role_create``; ``permissions`` are ``apis.Scope`` rows of its tenant."""

    class Meta:
        model = Role

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Role {n}")
    permissions = ()

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Role:
        return role_create(**kwargs)


class TokenEventFactory(factory.django.DjangoModelFactory):
    """A row of the token log (``apps.audit.token_log`` writes these in batches; tests write directly)."""

    class Meta:
        model = "audit.TokenEvent"

    tenant = factory.SubFactory(TenantFactory)
    type = "seccft"
    client_id = factory.Sequence(lambda n: f"client-{n}")
    audience = "https://api.example.com"
    scope = "read:things"
    ip = "198.51.100.7"
    created_at = factory.LazyFunction(timezone.now)


class AuditEventFactory(factory.django.DjangoModelFactory):
    """An audit event as ``audit_record`` writes it; ``created_at`` is set after the insert (it is
    ``auto_now_add``) so tests can place events in time."""

    class Meta:
        model = "audit.AuditEvent"

    tenant = factory.SubFactory(TenantFactory)
    type = "tenant.updated"
    actor_label = "system"
    target = "x"
    data = factory.LazyFunction(dict)

    @classmethod
    def _create(cls, model_class, *args, created_at=None, **kwargs):
        event = super()._create(model_class, *args, **kwargs)
        if created_at is not None:
            model_class.objects.filter(pk=event.pk).update(created_at=created_at)
            event.created_at = created_at
        return event


class PortalAdminFactory(factory.django.DjangoModelFactory):
    """A portal admin (staff, no tenant) through ``portal_admin_create``; a member (admin role) of ``tenants``."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"portal-admin-{n}")
    password = "portal admin's long passphrase"
    tenants = ()

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> User:
        user = portal_admin_create(**kwargs)
        user.plaintext_password = kwargs["password"]
        return user


class MembershipFactory(factory.django.DjangoModelFactory):
    """A portal admin's membership of a tenant with a role, as provisioning makes it (``membership_add``)."""

    class Meta:
        model = TenantMembership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(PortalAdminFactory)
    role = TenantMembership.Role.ADMIN

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> TenantMembership:
        return membership_add(**kwargs)


# Token rows are written by the OAuth flows (apps.oauth.token_rows); these stand in for a flow.
class AccessTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "oauth.AccessToken"

    application = factory.SubFactory(ApplicationFactory, app_type=AppType.REGULAR_WEB)
    tenant = factory.SelfAttribute("application.tenant")
    user = factory.SubFactory(UserFactory, tenant=factory.SelfAttribute("..application.tenant"))
    token = ""
    token_checksum = factory.Sequence(lambda n: f"{n:064x}")
    jti = factory.Sequence(lambda n: f"access-token-{n}")
    scope = "openid"
    expires = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))


class RefreshTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "oauth.RefreshToken"

    application = factory.SubFactory(ApplicationFactory, app_type=AppType.REGULAR_WEB)
    tenant = factory.SelfAttribute("application.tenant")
    user = factory.SubFactory(UserFactory, tenant=factory.SelfAttribute("..application.tenant"))
    token = ""
    token_checksum = factory.Sequence(lambda n: f"{n:064x}")
    scope = "openid offline_access"


class AuthorizationCodeFactory(factory.django.DjangoModelFactory):
    """An authorization code (DOT's ``Grant``); the code is stored hashed."""

    class Meta:
        model = "oauth.Grant"

    application = factory.SubFactory(ApplicationFactory, app_type=AppType.REGULAR_WEB)
    tenant = factory.SelfAttribute("application.tenant")
    user = factory.SubFactory(UserFactory, tenant=factory.SelfAttribute("..application.tenant"))
    code = factory.Sequence(lambda n: f"code-{n}")
    redirect_uri = "https://app.example.com/callback"
    scope = "openid"
    expires = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=1))


class IDTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "oauth.IDToken"

    application = factory.SubFactory(ApplicationFactory, app_type=AppType.REGULAR_WEB)
    tenant = factory.SelfAttribute("application.tenant")
    user = factory.SubFactory(UserFactory, tenant=factory.SelfAttribute("..application.tenant"))
    scope = "openid"
    expires = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
