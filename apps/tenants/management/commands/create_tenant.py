"""``manage.py create_tenant <slug>``: a tenant, its keys, its Management API and client, as JSON."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.management.services import management_api_provision, management_api_sync
from apps.oauth.issuer import issuer_for_tenant
from apps.tenants.models import Tenant
from apps.tenants.services import tenant_create

MSG_TENANT_EXISTS = (
    "Tenant {slug!r} already exists. Its Management API now has every scope of this version{added}. "
    "Its management client's secret is not shown again (only its hash is stored): rotate it with "
    "POST /t/{slug}/api/v2/clients/<client_id>/rotate-secret or in the admin."
)


class Command(BaseCommand):
    help = "Create a tenant with signing keys, a Management API and a management M2M client; print JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="URL name of the tenant: /t/<slug>/")
        parser.add_argument("--name", default="", help="Display name (defaults to the slug)")

    def handle(self, *args, slug: str, name: str, **options) -> None:
        existing = Tenant.objects.filter(slug=slug).first()
        if existing is not None:
            # An upgrade path: a tenant made by an earlier version gets the new Management API scopes.
            sync = management_api_sync(tenant=existing)
            added = sorted(set(sync.api_scopes_added) | set(sync.grant_scopes_added))
            raise CommandError(
                MSG_TENANT_EXISTS.format(slug=slug, added=f" (added: {', '.join(added)})" if added else "")
            )
        try:
            with transaction.atomic():
                tenant = tenant_create(slug=slug, name=name)
                credentials = management_api_provision(tenant=tenant)
        except ValidationError as exc:
            messages = "; ".join(f"{field}: {' '.join(errs)}" for field, errs in exc.message_dict.items())
            raise CommandError(f"Cannot create tenant {slug!r}: {messages}") from exc
        self.stdout.write(
            json.dumps(
                {
                    "issuer": issuer_for_tenant(tenant),
                    "client_id": credentials.client_id,
                    "client_secret": credentials.client_secret,
                    "audience": credentials.audience,
                },
                indent=2,
            )
        )
