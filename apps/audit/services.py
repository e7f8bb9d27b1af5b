"""Recording audit events. Callers are services, inside the transaction of their change."""

from __future__ import annotations

from typing import Any

from apps.audit.models import AuditEvent


def audit_record(
    *, tenant, type: AuditEvent.Type, actor=None, target: object = "", data: dict[str, Any] | None = None
) -> AuditEvent:
    """Write one audit event. ``actor`` is a user, or None for automation (commands, bootstrap)."""
    user = actor if getattr(actor, "pk", None) else None
    return AuditEvent.objects.create(
        tenant=tenant,
        type=type,
        actor=user,
        actor_label=str(actor) if actor is not None else "system",
        target=str(target)[:200],
        data=data or {},
    )
