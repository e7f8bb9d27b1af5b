"""``manage.py export_tenant <slug>``: the tenant's configuration as YAML (or JSON), without secrets."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.management.config_code.export import FORMATS, config_dump, format_for_path, tenant_config_export
from apps.management.config_code.schema import ConfigError
from apps.tenants.models import Tenant

HEADER = """Portcullis configuration of tenant {slug!r} (manage.py export_tenant {slug}).
Apply with: manage.py import_tenant <file> --tenant <slug> [--dry-run] [--no-delete]
No secrets: a client secret is generated when an import creates the application, and printed once.
client_id is for reference only. The Management API and its management client are not listed;
##MANAGEMENT_API## names the Management API of the tenant the file is imported into."""


class Command(BaseCommand):
    help = "Write a tenant's configuration (settings, APIs, applications, grants, roles, token rules) as YAML or JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="The tenant: /t/<slug>/")
        parser.add_argument(
            "--format", choices=FORMATS, help="yaml (default) or json (default for a .json --output)"
        )
        parser.add_argument("-o", "--output", help="Write to this file instead of standard output")

    def handle(self, *args, slug: str, format: str | None, output: str | None, **options) -> None:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        try:
            data = tenant_config_export(tenant=tenant)
        except ConfigError as exc:
            raise CommandError(f"Cannot export tenant {slug!r}:\n{exc}") from None
        text = config_dump(data, fmt=format or format_for_path(output), header=HEADER.format(slug=slug))
        if output:
            with open(output, "w", encoding="utf-8") as file:
                file.write(text)
            self.stderr.write(f"Wrote {output}.")
        else:
            self.stdout.write(text, ending="")
