"""``manage.py rotate_keys <tenant> [--algorithm RS256|ES256]``: next -> current -> previous -> retired."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.tenants.models import SigningKey, Tenant
from apps.tenants.services import signing_key_rotate

MSG_TENANT_UNKNOWN = "Unknown tenant {slug!r}."


def tenant_or_error(slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise CommandError(MSG_TENANT_UNKNOWN.format(slug=slug))
    return tenant


class Command(BaseCommand):
    help = (
        "Rotate a tenant's signing keys: the published next key starts signing, the current key "
        "becomes previous (still published), the previous key is retired, a new next key is published."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant", help="The tenant's slug (/t/<slug>/)")
        parser.add_argument(
            "--algorithm",
            choices=SigningKey.Algorithm.values,
            help="Rotate only this algorithm's keys (default: every algorithm)",
        )

    def handle(self, *args, tenant: str, algorithm: str | None, **options) -> None:
        tenant_obj = tenant_or_error(tenant)
        try:
            rotations = signing_key_rotate(tenant=tenant_obj, algorithm=algorithm)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        for rotation in rotations:
            retired = ", ".join(rotation.retired) or "none"
            self.stdout.write(
                f"{tenant} {rotation.algorithm}: current {rotation.current}, previous "
                f"{rotation.previous or 'none'}, next {rotation.next}, retired {retired}"
            )
            if not rotation.next_was_published:
                self.stderr.write(
                    f"Warning: {tenant} had no published next {rotation.algorithm} key; the new current "
                    "key was never published before signing. Verifiers that cache the JWKS may refuse "
                    "new tokens until they refetch it."
                )
