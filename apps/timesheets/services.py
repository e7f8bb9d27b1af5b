"""Changes to timesheets. The views call these; the rules live here."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction

from apps.timesheets.models import Timesheet


def timesheet_create(
    *, owner_sub: str, date: datetime.date, hours: Decimal, project: str, notes: str = ""
) -> Timesheet:
    """Record a day's hours for ``owner_sub`` (the token's subject, never a field the caller sends)."""
    timesheet = Timesheet(owner_sub=owner_sub, date=date, hours=hours, project=project, notes=notes)
    timesheet.full_clean()
    timesheet.save()
    return timesheet


def timesheet_delete(*, timesheet: Timesheet) -> None:
    timesheet.delete()


@transaction.atomic
def timesheet_approve(*, timesheet: Timesheet, approver_sub: str) -> Timesheet:
    """Mark approved by ``approver_sub``; approving twice keeps the first approver."""
    timesheet = Timesheet.objects.select_for_update().get(pk=timesheet.pk)
    if not timesheet.approved:
        timesheet.approved = True
        timesheet.approved_by = approver_sub
        timesheet.save(update_fields=["approved", "approved_by"])
    return timesheet
