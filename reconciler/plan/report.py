"""The apply report: what became of each action of a Plan (done, failed, not started).

A value like the Plan itself: the applier fills it, the renderers and the JSON report read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.plan.value import Action

Status = Literal["done", "failed", "not_started"]
STATUSES: tuple[Status, ...] = ("done", "failed", "not_started")


@dataclass
class ActionOutcome:
    """One action and what became of it; `id` is the CA's id once known (after a create)."""

    action: Action
    status: Status = "not_started"
    message: str = ""
    id: int | None = None
    adopted: bool = False

    @property
    def ca_id(self) -> int | None:
        return self.id if self.id is not None else self.action.id

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.action,
            "name": self.action.name,
            "id": self.ca_id,
            "status": self.status,
            "message": self.message,
        }


@dataclass
class ApplyReport:
    """Every action's outcome, in plan order."""

    outcomes: list[ActionOutcome] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def ok(self) -> bool:
        return all(outcome.status == "done" for outcome in self.outcomes)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "failed",
            "summary": {s: self.count(s) for s in STATUSES},
            "actions": [outcome.to_json() for outcome in self.outcomes],
        }
