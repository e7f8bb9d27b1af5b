"""``manage.py ensure_database``: create the PostgreSQL database named by DATABASE_URL if missing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from apps.core.database import DatabaseUnavailable, database_ensure


class Command(BaseCommand):
    help = (
        "Create the PostgreSQL database named by DATABASE_URL when it does not exist (make run calls "
        "this before migrate). Says in one line what to do when the server cannot be reached."
    )
    # It runs before the database exists: no system check may need it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--database", default="default", help="Database alias (default: default)")

    def handle(self, *args, database: str, **options) -> None:
        try:
            created = database_ensure(alias=database)
        except DatabaseUnavailable as error:
            raise CommandError(str(error)) from None
        if created:
            self.stdout.write(f"Created database {connections[database].settings_dict['NAME']}")
