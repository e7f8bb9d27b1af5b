"""What an import does, change by change, and how ``import_tenant`` shows it (its ``--dry-run`` output)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from apps.management.config_code.schema import LIST_KINDS, TENANT

CREATE = "create"
UPDATE = "update"
DELETE = "delete"
_SIGNS = {CREATE: "+", UPDATE: "~", DELETE: "-"}
NO_CHANGES = "No changes."


@dataclass(frozen=True, slots=True)
class Change:
    """One object created, changed or deleted; ``fields`` maps a field to ``(before, after)``
    (``before`` is None for a creation, ``after`` None for a deletion)."""

    kind: str
    key: str
    verb: str
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class Plan:
    changes: list[Change] = field(default_factory=list)

    def add(self, change: Change) -> None:
        self.changes.append(change)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def count(self, verb: str) -> int:
        return sum(1 for change in self.changes if change.verb == verb)

    def of(self, kind: str) -> list[Change]:
        return [change for change in self.changes if change.kind == kind]

    def find(self, kind: str, key: str) -> Change | None:
        return next((c for c in self.changes if c.kind == kind and c.key == key), None)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=isinstance(value, dict))


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _show_change(before: Any, after: Any) -> str:
    """``before -> after``; for lists of strings that gained or lost items, only those: ``+[..] -[..]``."""
    if _is_str_list(before) and _is_str_list(after):
        added = [item for item in after if item not in before]
        removed = [item for item in before if item not in after]
        if added or removed:
            parts = ([f"+{_show(added)}"] if added else []) + ([f"-{_show(removed)}"] if removed else [])
            return " ".join(parts)
    return f"{_show(before)} -> {_show(after)}"


def plan_render(plan: Plan) -> str:
    """The plan as text, grouped by kind: ``+`` create, ``~`` change, ``-`` delete, field by field."""
    if not plan:
        return NO_CHANGES + "\n"
    lines: list[str] = []
    for kind in (TENANT, *LIST_KINDS):
        changes = plan.of(kind)
        if not changes:
            continue
        lines.append(f"{kind}:")
        for change in changes:
            lines.append(f"  {_SIGNS[change.verb]} {change.verb} {change.key}")
            for name, (before, after) in change.fields.items():
                if change.verb == CREATE:
                    lines.append(f"      {name}: {_show(after)}")
                elif change.verb == UPDATE:
                    lines.append(f"      {name}: {_show_change(before, after)}")
    lines.append(
        f"{plan.count(CREATE)} to create, {plan.count(UPDATE)} to change, {plan.count(DELETE)} to delete."
    )
    return "\n".join(lines) + "\n"
