"""The apply report: what became of each action of a Plan (done, failed, not started), and
of each CA (drafted, seeded with how many users, activated, or not started).

A value like the Plan itself: the applier fills it, the renderers and the JSON report read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, Literal

from reconciler.plan.value import Action, ActionKind

#: The version of the JSON report (`apply --format json`): a script reading it checks it.
REPORT_FORMAT_VERSION = 1

Status = Literal["done", "failed", "not_started"]
STATUSES: tuple[Status, ...] = ("done", "failed", "not_started")
#: Why a create adopted the CA of its name (`ActionOutcome.adopted_because`).
Adoption = Literal["lost_answer", "name_taken"]
ADOPTIONS: tuple[Adoption, ...] = ("lost_answer", "name_taken")


@dataclass
class ActionOutcome:
    """One action and what became of it; `id` is the CA's id once known (after a create)."""

    action: Action
    status: Status = "not_started"
    message: str = ""
    id: int | None = None
    adopted: bool = False
    #: An adopted CA's name was found taken ("must be unique") with no answer of ours lost:
    #: by another run or a user, or by a retry (a 504 a proxy gave after the server acted).
    taken: bool = False
    #: An adopted CA's fields the models do not know that writing the create's draft over
    #: it dropped (the plan, made before the CA existed, could not warn of them).
    dropped: list[str] = field(default_factory=list)
    #: A `seed` action: users whose seeds for the CA landed.
    users: int | None = None

    @property
    def ca_id(self) -> int | None:
        return self.id if self.id is not None else self.action.id

    def to_json(self) -> dict[str, Any]:
        found = {
            "action": self.action.action,
            "name": self.action.name,
            "id": self.ca_id,
            "status": self.status,
            "message": self.message,
        }
        if self.action.action == "seed":
            found["users"] = self.users
        if self.action.action == "create":
            found["adopted"] = self.adopted_because
        return found

    @property
    def adopted_because(self) -> Adoption | None:
        """Why a create took over the CA of its name instead of making one (None: it made
        it, or it did not run): its own answer was lost, or the name was taken since."""
        if not self.adopted:
            return None
        return "name_taken" if self.taken else "lost_answer"


#: What a done action made of its CA, in the words of the per-CA report.
REACHED: dict[ActionKind, str] = {
    "create": "drafted",
    "update": "drafted",
    "discard_draft": "draft discarded",
    "seed": "seeded",
    "activate": "activated",
    "delete": "deleted",
}


@dataclass(frozen=True)
class CaProgress:
    """How far one CA got: what it reached (in order, each once), how many users' seeds
    landed, the action that failed (with its message) and the actions not started."""

    name: str
    id: int | None
    reached: tuple[str, ...]
    users: int | None
    failed: Action | None
    message: str
    not_started: tuple[ActionKind, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "reached": list(self.reached),
            "users_seeded": self.users,
            "failed": self.failed.action if self.failed is not None else None,
            "message": self.message,
            "not_started": list(self.not_started),
        }


def _progress(outcomes: list[ActionOutcome]) -> CaProgress:
    done = [o for o in outcomes if o.status == "done"]
    failed = next((o for o in outcomes if o.status == "failed"), None)
    seeded = [o.users for o in outcomes if o.action.action == "seed" and o.users is not None]
    ids = [o.ca_id for o in outcomes if o.ca_id is not None]
    return CaProgress(
        name=outcomes[0].action.name,
        id=ids[0] if ids else None,
        reached=tuple(dict.fromkeys(REACHED[o.action.action] for o in done)),
        users=seeded[0] if seeded else None,
        failed=failed.action if failed is not None else None,
        message=failed.message if failed is not None else "",
        not_started=tuple(o.action.action for o in outcomes if o.status == "not_started"),
    )


@dataclass
class ApplyReport:
    """Every action's outcome, in plan order."""

    outcomes: list[ActionOutcome] = field(default_factory=list)
    #: Stopped on a signal (Ctrl-C, SIGTERM) part-way: the steps or the seeding.
    interrupted: bool = False

    def count(self, status: Status) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    def adopted(self) -> dict[Adoption, int]:
        """How many done creates adopted the CA of their name instead of making it, by why
        (every reason, 0 too): what their steps said one by one, summed up."""
        reasons = [o.adopted_because for o in self.outcomes if o.status == "done"]
        return {why: reasons.count(why) for why in ADOPTIONS}

    @property
    def ok(self) -> bool:
        return all(outcome.status == "done" for outcome in self.outcomes)

    @property
    def seeded(self) -> bool:
        """The plan had seeds to send."""
        return any(outcome.action.action == "seed" for outcome in self.outcomes)

    def cas(self) -> list[CaProgress]:
        """Each CA's progress, in plan order."""
        return [
            _progress(list(group))
            for _, group in groupby(self.outcomes, key=lambda o: (o.action.name, o.action.id))
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": REPORT_FORMAT_VERSION,
            "status": "ok" if self.ok else "failed",
            "summary": {s: self.count(s) for s in STATUSES},
            "actions": [outcome.to_json() for outcome in self.outcomes],
            "cas": [progress.to_json() for progress in self.cas()],
            "adopted": self.adopted(),
            "interrupted": self.interrupted,
        }
