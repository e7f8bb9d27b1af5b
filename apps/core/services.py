"""Helpers shared by the apps' services."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


def assign_changes(
    instance: models.Model, changes: Mapping[str, Any], *, allowed: Iterable[str], what: str
) -> None:
    """Set ``changes`` on ``instance``; refuse, before touching anything, a field not in ``allowed``.

    The caller validates (``full_clean``), saves and records the audit event.
    """
    refused = sorted(set(changes) - set(allowed))
    if refused:
        raise ValidationError(f"Cannot change {', '.join(refused)} of {what}.")
    for field, value in changes.items():
        setattr(instance, field, value)
