"""The sample resource server's data: timesheets reported by callers of the Timesheets API."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models

MAX_HOURS_PER_DAY = Decimal(24)


def validate_hours(value: Decimal) -> None:
    """A day's entry: more than nothing, at most the whole day."""
    if not (0 < value <= MAX_HOURS_PER_DAY):
        raise ValidationError(
            f"Hours must be more than 0 and at most {MAX_HOURS_PER_DAY}.", code="hours_range"
        )


class Timesheet(models.Model):
    """Hours someone worked on a project on one day, owned by the access token's ``sub``.

    This is an *external* API's data, standing in for what a customer's own service would
    store: the API knows its callers only through the tokens Portcullis issued them (``sub``
    and scopes), never through Portcullis's tables. So there is no tenant foreign key and
    no link to users or applications; the owner is the opaque subject string.
    """

    owner_sub = models.CharField(max_length=255, db_index=True, help_text="The token's sub claim.")
    date = models.DateField()
    hours = models.DecimalField(max_digits=4, decimal_places=2, validators=[validate_hours])
    project = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    approved = models.BooleanField(default=False)
    approved_by = models.CharField(max_length=255, blank=True, help_text="sub of the approver's token.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hours__gt=0) & models.Q(hours__lte=MAX_HOURS_PER_DAY),
                name="timesheet_hours_within_a_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.owner_sub} {self.date} {self.hours}h {self.project}"


class SampleWebSession(models.Model):
    """One browser's state in the sample web app (``apps/timesheets/webapp``), keyed by its own cookie.

    The sample web app is a relying party that stands in for an application on another host,
    so it keeps its own state rather than Django's session (which the authorization server's
    login and logout pages on this host rotate and flush): pending sign-ins (state, nonce, PKCE
    verifier) and, once signed in, the tokens and the user's claims. ``data`` is encrypted with
    a key that only the browser's cookie holds, so this table alone reveals no token.
    """

    sid = models.CharField(max_length=64, unique=True)
    data = models.BinaryField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"sample web session (expires {self.expires_at:%Y-%m-%d %H:%M})"
