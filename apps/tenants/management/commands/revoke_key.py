"""``manage.py revoke_key <tenant> <kid>``: withdraw a compromised signing key at once."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.tenants.management.commands.rotate_keys import tenant_or_error
from apps.tenants.services import signing_key_revoke


class Command(BaseCommand):
    help = (
        "Revoke a signing key (e.g. compromised): it leaves the JWKS at once and tokens it signed stop "
        "verifying. Revoking the current key promotes the published next key first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant", help="The tenant's slug (/t/<slug>/)")
        parser.add_argument("kid", help="The key's kid, as in the JWKS or the admin")

    def handle(self, *args, tenant: str, kid: str, **options) -> None:
        tenant_obj = tenant_or_error(tenant)
        try:
            revocation = signing_key_revoke(tenant=tenant_obj, kid=kid)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        line = f"{tenant} {revocation.algorithm}: revoked {kid} (was {revocation.state_before})"
        if revocation.promoted:
            line += f"; {revocation.promoted} now signs"
        if revocation.generated_next:
            line += f"; new next key {revocation.generated_next}"
        self.stdout.write(line)
