"""The Timesheets API's scopes, as defined for it in Portcullis (``bootstrap_demo``)."""

from __future__ import annotations

from enum import StrEnum


class TimesheetScope(StrEnum):
    READ = "read:timesheets"
    CREATE = "create:timesheets"
    DELETE = "delete:timesheets"
    APPROVE = "approve:timesheets"
