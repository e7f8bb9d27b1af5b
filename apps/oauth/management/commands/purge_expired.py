"""``manage.py purge_expired``: delete every expired code, token row and deny-list row now."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.audit.retention import LOG_KINDS, log_rows_prune
from apps.oauth.cleanup import KINDS, expired_rows_purge


class Command(BaseCommand):
    help = (
        "Delete expired authorization codes, access, ID and refresh token rows, deny-list rows and "
        "counters, and token-log rows and audit events past LOG_RETENTION_DAYS, in batches, until "
        "none is left; print how many of each. Server processes also do this on their own, a little "
        "at a time (CLEANUP_SWEEP_SECONDS): no cron is needed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--batch", type=int, default=1000, help="Rows per table per DELETE statement (default 1000)"
        )

    def handle(self, *args, batch: int, **options) -> None:
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        deleted = expired_rows_purge(batch=batch)
        deleted.update(log_rows_prune(batch=max(batch, 1000)))
        kinds = (*KINDS, *LOG_KINDS)
        width = max(len(kind) for kind in kinds)
        for kind in kinds:
            self.stdout.write(f"{kind:<{width}}  {deleted[kind]}")
        self.stdout.write(f"{'total':<{width}}  {sum(deleted.values())}")
