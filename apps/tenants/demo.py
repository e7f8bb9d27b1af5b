"""The demo tenant of ``make run``: converge to a known state, idempotently.

Secrets are generated, never hard-coded. Plaintext secrets exist only in
``var/demo.json``: when a stored hash still matches the secret in that file it is
kept; otherwise (first run, or the file was lost) the secret is rotated and the new
one written, so the printed credentials always work.
"""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.accounts.rbac.services import role_create
from apps.accounts.services import portal_admin_create, tenant_admin_group, user_create
from apps.apis.models import Api, Scope
from apps.apis.services import api_create, api_update
from apps.applications.models import Application
from apps.applications.services import (
    AppType,
    GrantType,
    application_create,
    application_secret_rotate,
    application_update,
)
from apps.grants.models import ClientGrant
from apps.grants.services import client_grant_create
from apps.management.services import management_api_provision, management_api_sync
from apps.oauth.claims import user_subject
from apps.oauth.issuer import issuer_for_tenant
from apps.tenants.models import Tenant, TenantMembership
from apps.tenants.services import membership_add, membership_update, tenant_create
from apps.timesheets.models import Timesheet
from apps.timesheets.services import timesheet_create

DEMO_SLUG = "demo"
TIMESHEETS_AUDIENCE = "https://timesheets.example.com"
TIMESHEETS_SCOPES = {
    "read:timesheets": "Read timesheets",
    "create:timesheets": "Create timesheets",
    "delete:timesheets": "Delete timesheets",
    "approve:timesheets": "Approve timesheets",
}
M2M_SCOPES = ["read:timesheets"]
# A role for trying RBAC: the demo API does not enforce RBAC until an admin turns it on (the
# sample app and the demo user keep every scope they ask for); the role is assigned to no one.
APPROVER_ROLE = "Timesheet approver"
APPROVER_SCOPES = ["read:timesheets", "approve:timesheets"]
SPA_CALLBACK = "http://127.0.0.1:3001/callback"
# Application settings the demo keeps converged on every run (old databases are repaired).
CONVERGED_URIS = {
    "callbacks": "redirect_uris",
    "allowed_origins": "allowed_origins",
    "logout_urls": "post_logout_redirect_uris",
}


def sample_urls() -> dict[str, str]:
    """Where the sample web app (``/sample/``, apps/timesheets/webapp) lives on this server."""
    sample_url = f"{settings.PUBLIC_URL}/sample/"
    return {
        "sample_url": sample_url,
        "web_callback": f"{sample_url}callback",
        "implicit_callback": f"{sample_url}implicit-callback",
    }


def demo_apps() -> dict[str, dict[str, Any]]:
    """The demo's applications by ``var/demo.json`` key; URLs follow ``settings.PUBLIC_URL``."""
    urls = sample_urls()
    return {
        "m2m": {"name": "Timesheets Sync (M2M)", "app_type": AppType.MACHINE_TO_MACHINE},
        "web": {
            "name": "Timesheets Web",
            "app_type": AppType.REGULAR_WEB,
            "callbacks": [urls["web_callback"]],
            "logout_urls": [urls["sample_url"]],
        },
        "spa": {
            "name": "Timesheets SPA",
            "app_type": AppType.SPA,
            "callbacks": [SPA_CALLBACK],
            "allowed_origins": ["http://127.0.0.1:3001"],
        },
        "implicit": {
            "name": "Timesheets Legacy (implicit)",
            "app_type": AppType.SPA,
            "grant_types": [GrantType.IMPLICIT],
            "callbacks": [urls["implicit_callback"]],
        },
        "native": {
            "name": "Timesheets Mobile",
            "app_type": AppType.NATIVE,
            "callbacks": ["http://127.0.0.1/callback"],
        },
        # A highly trusted first-party backend that signs users in with their password (Auth0's
        # "Calling APIs from highly trusted applications"), with MFA when the user has it.
        "backend": {
            "name": "Timesheets Backend (password grant)",
            "app_type": AppType.REGULAR_WEB,
            "grant_types": [
                GrantType.PASSWORD,
                GrantType.PASSWORD_REALM,
                GrantType.MFA_OTP,
                GrantType.MFA_RECOVERY_CODE,
                GrantType.REFRESH_TOKEN,
            ],
        },
        "third_party": {
            "name": "Partner Payroll (third party)",
            "app_type": AppType.REGULAR_WEB,
            "is_first_party": False,
            "callbacks": ["http://127.0.0.1:3002/callback"],
        },
    }


def _password() -> str:
    return secrets.token_urlsafe(12)


def _converge(application: Application, spec: dict[str, Any]) -> None:
    """Bring an existing application's URLs back to the spec (e.g. callbacks from an older demo)."""
    changes = {
        key: list(spec[key])
        for key, field in CONVERGED_URIS.items()
        if key in spec and getattr(application, field).split() != list(spec[key])
    }
    if changes:
        application_update(application=application, **changes)


def _client(tenant: Tenant, spec: dict[str, Any], known: dict[str, Any]) -> dict[str, str]:
    application = Application.objects.for_tenant(tenant).filter(name=spec["name"]).first()
    if application is None:
        created = application_create(tenant=tenant, **spec)
        return {"client_id": created.application.client_id, "client_secret": created.client_secret}
    _converge(application, spec)
    secret = known.get("client_secret", "") if known.get("client_id") == application.client_id else ""
    if not (secret and check_password(secret, application.client_secret)):
        secret = application_secret_rotate(application=application)
    return {"client_id": application.client_id, "client_secret": secret}


def _user(*, tenant: Tenant | None, username: str, known: dict[str, Any], create) -> dict[str, str]:
    user = User.objects.filter(tenant=tenant, username__iexact=username).first()
    password = known.get("password", "") if known.get("username") == username else ""
    if user is None:
        password = _password()
        create(username=username, password=password)
    elif not (password and user.check_password(password)):
        password = _password()
        user.set_password(password)
        user.save(update_fields=["password"])
    return {"username": username, "password": password}


DEMO_TIMESHEETS = [
    {"days_ago": 1, "hours": Decimal("7.5"), "project": "Portcullis", "notes": "Consent page"},
    {"days_ago": 2, "hours": Decimal("6"), "project": "Portcullis", "notes": "Refresh token rotation"},
]


def _demo_timesheets(user: User) -> None:
    """A few timesheets for the demo user, so the sample app has something to show (once)."""
    owner_sub = user_subject(user)
    if Timesheet.objects.filter(owner_sub=owner_sub).exists():
        return
    today = timezone.localdate()
    for entry in DEMO_TIMESHEETS:
        timesheet_create(
            owner_sub=owner_sub,
            date=today - datetime.timedelta(days=entry["days_ago"]),
            hours=entry["hours"],
            project=entry["project"],
            notes=entry["notes"],
        )


def _approver_role(tenant: Tenant, api: Api) -> None:
    """The "Timesheet approver" role, created once (an admin may change it afterwards)."""
    if Role.objects.for_tenant(tenant).filter(name__iexact=APPROVER_ROLE).exists():
        return
    role_create(
        tenant=tenant,
        name=APPROVER_ROLE,
        description="Reads and approves timesheets.",
        permissions=Scope.objects.filter(api=api, value__in=APPROVER_SCOPES),
    )


@transaction.atomic
def demo_bootstrap(*, known: dict[str, Any]) -> dict[str, Any]:
    """Create or repair the demo tenant; returns everything ``var/demo.json`` holds."""
    tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
    management: dict[str, Any] = dict(known.get("management") or {})
    if tenant is None:
        tenant = tenant_create(slug=DEMO_SLUG, name="Demo")
        credentials = management_api_provision(tenant=tenant)
        management = {
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "audience": credentials.audience,
        }
    else:
        # A demo tenant from an earlier version lacks the scopes of Management API endpoints added since.
        management_api_sync(tenant=tenant)
        system_client = Application.objects.for_tenant(tenant).filter(is_system=True).first()
        if system_client is not None:
            management |= _client(tenant, {"name": system_client.name}, management)
    api = Api.objects.for_tenant(tenant).filter(identifier=TIMESHEETS_AUDIENCE).first()
    if api is None:
        api = api_create(
            tenant=tenant,
            name="Timesheets API",
            identifier=TIMESHEETS_AUDIENCE,
            scopes=TIMESHEETS_SCOPES,
            allow_offline_access=True,
        )
    elif not api.allow_offline_access:  # the sample web app refreshes its tokens
        api_update(api=api, allow_offline_access=True)
    _approver_role(tenant, api)
    apps = demo_apps()
    clients = {key: _client(tenant, spec, known.get(key) or {}) for key, spec in apps.items()}
    m2m_app = Application.objects.get(client_id=clients["m2m"]["client_id"])
    if not ClientGrant.objects.filter(application=m2m_app, api=api).exists():
        client_grant_create(tenant=tenant, application=m2m_app, api=api, scopes=M2M_SCOPES)

    user = _user(
        tenant=tenant,
        username="jane@example.com",
        known=known.get("user") or {},
        create=lambda **kw: user_create(
            tenant=tenant, email=kw["username"], first_name="Jane", last_name="Doe", **kw
        ),
    )
    _demo_timesheets(User.objects.get(tenant=tenant, username__iexact="jane@example.com"))
    admin = _user(
        tenant=None,
        username="demo-admin",
        known=known.get("admin") or {},
        create=lambda **kw: portal_admin_create(tenants=[tenant], **kw),
    )
    # The demo's portal admin owns the demo tenant: they may also manage its members.
    membership = membership_add(
        tenant=tenant,
        user=User.objects.get(tenant=None, username__iexact="demo-admin"),
        role=TenantMembership.Role.OWNER,
    )
    if membership.role != TenantMembership.Role.OWNER:  # a demo database from before roles
        membership_update(membership=membership, role=TenantMembership.Role.OWNER)
    # A demo database from an earlier version lacks the permissions of models added since (the
    # deny list, token rules, key actions): re-sync the tenant admins' group on every bootstrap.
    tenant_admin_group()

    public_url = settings.PUBLIC_URL
    urls = sample_urls()
    return {
        "issuer": issuer_for_tenant(tenant),
        "admin": admin | {"url": f"{public_url}/admin/"},
        "user": user,
        "m2m": clients["m2m"] | {"audience": TIMESHEETS_AUDIENCE, "scopes": M2M_SCOPES},
        "web": clients["web"]
        | {"redirect_uri": urls["web_callback"], "post_logout_redirect_uri": urls["sample_url"]},
        "spa": clients["spa"] | {"redirect_uri": SPA_CALLBACK},
        "implicit": clients["implicit"] | {"redirect_uri": urls["implicit_callback"]},
        "native": clients["native"],
        "third_party": clients["third_party"],
        "backend": clients["backend"] | {"audience": TIMESHEETS_AUDIENCE},
        "management": management,
        "timesheets_url": f"{public_url}/sample/timesheets/",
        "sample_url": urls["sample_url"],
    }
