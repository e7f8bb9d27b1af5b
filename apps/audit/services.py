"""Recording audit events. Callers are services, inside the transaction of their change."""

from __future__ import annotations

from typing import Any

from apps.audit.models import AuditEvent
from apps.audit.rollups import audit_metric, hour_of, hourly_rollups_add


def audit_record(
    *, tenant, type: AuditEvent.Type, actor=None, target: object = "", data: dict[str, Any] | None = None
) -> AuditEvent:
    """Write one audit event. ``actor`` is a user, or None for automation (commands, bootstrap).

    A tenant's event also counts in the dashboard's hourly roll-ups (one upsert, in the caller's
    transaction, so a change rolled back is not counted); portal-level events (no tenant) do not.
    """
    user = actor if getattr(actor, "pk", None) else None
    event = AuditEvent.objects.create(
        tenant=tenant,
        type=type,
        actor=user,
        actor_label=str(actor) if actor is not None else "system",
        target=str(target)[:200],
        data=data or {},
    )
    if event.tenant_id is not None:
        hourly_rollups_add({(event.tenant_id, hour_of(event.created_at), audit_metric(type), str(type)): 1})
    return event
