"""JSON shape of a timesheet. The owner and approval come from tokens, never from the body."""

from __future__ import annotations

from rest_framework import serializers

from apps.timesheets.models import Timesheet


class TimesheetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Timesheet
        fields = [
            "id",
            "owner_sub",
            "date",
            "hours",
            "project",
            "notes",
            "approved",
            "approved_by",
            "created_at",
        ]
        read_only_fields = ["id", "owner_sub", "approved", "approved_by", "created_at"]
