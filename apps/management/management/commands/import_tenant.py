"""``manage.py import_tenant <file>``: make a tenant's configuration what a config file says.

Prints the plan (``--dry-run``: and changes nothing). Objects of a kind the file lists that it does
not name are deleted unless ``--no-delete``. All or nothing: one transaction; a refused entry is
named (kind, key, field) and the command exits non-zero with nothing written. Secrets of created
applications go to standard error, once, after the commit.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from apps.management.config_code.apply import tenant_config_import
from apps.management.config_code.export import FORMATS, config_load, format_for_path
from apps.management.config_code.plan import plan_render
from apps.management.config_code.schema import ConfigError
from apps.tenants.models import Tenant


class Command(BaseCommand):
    help = "Apply a tenant configuration file (YAML, or JSON for .json); --dry-run prints the plan only."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The file export_tenant wrote (edited); '-' reads standard input")
        parser.add_argument(
            "--tenant", help="Tenant slug to import into (default: the file name without extension)"
        )
        parser.add_argument(
            "--format", choices=FORMATS, help="yaml or json (default: by the file's extension)"
        )
        parser.add_argument("--dry-run", action="store_true", help="Print what would change; change nothing")
        parser.add_argument(
            "--no-delete",
            action="store_true",
            help="Keep objects the file does not name (default: the file is the whole truth for the kinds it lists)",
        )

    def handle(
        self,
        *args,
        file: str,
        tenant: str | None,
        format: str | None,
        dry_run: bool,
        no_delete: bool,
        **options,
    ) -> None:
        slug = tenant or _slug_from_path(file)
        if not slug:
            raise CommandError("Name the tenant with --tenant <slug>.")
        target = Tenant.objects.filter(slug=slug).first()
        if target is None:
            raise CommandError(f"No tenant {slug!r} (create it with manage.py create_tenant {slug}).")
        text = _read(file)
        try:
            config = config_load(text, fmt=format or format_for_path(file))
            result = tenant_config_import(
                tenant=target, config=config, allow_delete=not no_delete, dry_run=dry_run
            )
        except ConfigError as exc:
            raise CommandError(f"Nothing was imported into tenant {slug!r}:\n{exc}") from None
        heading = (
            f"Plan for tenant {slug!r} (dry run: nothing was changed):" if dry_run else f"Tenant {slug!r}:"
        )
        self.stdout.write(heading if result.plan else f"Tenant {slug!r}:")
        self.stdout.write(plan_render(result.plan), ending="")
        for created in result.secrets:
            self.stderr.write(
                f"Created application {created.name!r}: client_id {created.client_id}, "
                f"client_secret {created.client_secret} (shown once: store it now)"
            )


def _slug_from_path(path: str) -> str:
    if path == "-":
        return ""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
