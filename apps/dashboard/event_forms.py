"""The events page's filter form: type, application, user and time range, submitted by GET."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms

from apps.audit.models import AuditEvent, TokenEvent
from apps.dashboard.selectors import KIND_AUDIT, KIND_TOKEN, EventFilters

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def type_choices() -> list[Any]:
    """Every event type of both logs, grouped by log; a whole log can be chosen too."""
    return [
        ("", "All events"),
        ("Whole logs", [(KIND_TOKEN, "Every token request"), (KIND_AUDIT, "Every audit event")]),
        ("Token log", [(value, f"{label} ({value})") for value, label in TokenEvent.Type.choices]),
        ("Audit trail", [(value, f"{label} ({value})") for value, label in AuditEvent.Type.choices]),
    ]


class _DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format=DATETIME_LOCAL)


class EventFilterForm(forms.Form):
    """Filters of the events page; a field left empty filters nothing."""

    type = forms.ChoiceField(required=False, choices=type_choices, label="Type")
    client_id = forms.CharField(
        required=False,
        max_length=100,
        label="Application",
        help_text="Client ID: its token requests and the changes made to it.",
        widget=forms.TextInput(attrs={"list": "event-applications", "autocomplete": "off"}),
    )
    user = forms.CharField(
        required=False,
        max_length=200,
        label="User",
        help_text="Username: the user's sign-ins and the changes made to or by them.",
    )
    since = forms.DateTimeField(required=False, label="From", widget=_DateTimeLocalInput())
    until = forms.DateTimeField(
        required=False, label="To", help_text="Included, to the minute.", widget=_DateTimeLocalInput()
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", forms.ValidationError("“To” is before “From”.", code="range_reversed"))
        return cleaned

    def filters(self) -> EventFilters:
        """The selector's filters (call after ``is_valid()``)."""
        data = self.cleaned_data
        until = data.get("until")
        if until is not None and until.second == 0 and until.microsecond == 0:
            until += timedelta(minutes=1)  # "To 14:30" includes the events of 14:30:xx
        return EventFilters(
            type=data.get("type") or "",
            client_id=(data.get("client_id") or "").strip(),
            user=(data.get("user") or "").strip(),
            since=data.get("since"),
            until=until,
        )
