"""Reads of timesheets, scoped to what the caller's token lets it see."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.resource_kit.authentication import TokenUser
from apps.timesheets.models import Timesheet
from apps.timesheets.scopes import TimesheetScope


def timesheets_visible_to(*, user: TokenUser) -> QuerySet[Timesheet]:
    """A caller sees its own timesheets; an approver (``approve:timesheets``) sees everyone's."""
    if user.has_scopes(TimesheetScope.APPROVE):
        return Timesheet.objects.all()
    return Timesheet.objects.filter(owner_sub=user.sub)
