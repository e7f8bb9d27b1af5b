"""``manage.py rollups_rebuild [--since DATE]``: recount the dashboard's hourly roll-ups from the raw logs."""

from __future__ import annotations

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.audit.rollups import hourly_rollups_rebuild

MSG_BAD_SINCE = "--since takes an ISO date or date-time (2026-01-31, 2026-01-31T14:00:00Z), not {value!r}."


def parse_since(value: str) -> datetime:
    """An ISO date-time (naive ones in the current time zone), or a date (its midnight)."""
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = datetime.combine(day, time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(MSG_BAD_SINCE.format(value=value))
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = (
        "Recount the dashboard's hourly roll-ups from the token log and the audit trail. Idempotent. "
        "Hours before --since keep their counts, so history whose raw rows were pruned stays on the "
        "charts. Default: from each log's oldest event's hour (the hour after it if roll-ups already "
        "count that hour, which log retention may have pruned in part)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", help="Recount from this date or date-time's hour on (ISO 8601)")

    def handle(self, *args, since: str | None, **options) -> None:
        results = hourly_rollups_rebuild(since=parse_since(since) if since else None)
        for result in results:
            if result.since is None:
                self.stdout.write(f"{result.log}: no events, nothing to recount")
            else:
                self.stdout.write(
                    f"{result.log}: {result.events} events since {result.since:%Y-%m-%d %H:00} UTC "
                    f"in {result.rows} hourly rows"
                )
