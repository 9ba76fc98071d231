"""The active-CA budget (SPEC §9): how many CAs are active once a plan has run, against the
account's limit (rule `active-limit` in `safety`, the summary's `Active after apply`).

Pure counting over the plan and the live list. The limit is the account's, so every
active CA the workspace's list shows counts, scope and selection notwithstanding; CAs of
the account's other workspaces are not in the list (set `active_limit` to what is left
for this one). An activation counts when its CA is not active now (a create, or a draft
never activated or deactivated); re-activating a new definition of an active CA does not.
A delete of an active CA frees a slot; CAs kept as drafts (`active: false`) take none.
Only a plan that takes a slot can break the limit (a workspace already over it may still
be tidied).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reconciler.errors import first_few, quoted
from reconciler.models import LiveCA
from reconciler.plan.value import Action, Plan

#: How many activations a refusal names before it says "and N more".
SHOWN = 10


def count_active(live: Iterable[LiveCA]) -> int:
    """Active CAs in a live list."""
    return sum(1 for ca in live if ca.active_definition is not None)


@dataclass(frozen=True)
class Budget:
    """What the count reads besides the plan: the active CAs of the whole live list, and
    the account's limit (None: unknown, nothing is refused)."""

    active_now: int
    limit: int | None = None

    def activations(self, plan: Plan, live: Sequence[LiveCA]) -> list[Action]:
        """The plan's activations that take a slot: of CAs not active now."""
        active = {ca.id for ca in live if ca.active_definition is not None}
        return [a for a in plan.actions if a.action == "activate" and a.id not in active]

    def freed(self, plan: Plan, live: Sequence[LiveCA]) -> list[Action]:
        """The plan's deletes of active CAs."""
        active = {ca.id for ca in live if ca.active_definition is not None}
        return [a for a in plan.actions if a.action == "delete" and a.id in active]

    def after(self, plan: Plan, live: Sequence[LiveCA]) -> int:
        """Active CAs once the plan has run (`live`: at least the CAs the plan touches)."""
        taken = len(self.activations(plan, live))
        return max(0, self.active_now + taken - len(self.freed(plan, live)))

    def refusal(self, plan: Plan, live: Sequence[LiveCA]) -> str | None:
        """Why the plan breaks the limit, naming how many over and which activations.

        Only an activation that takes a slot can be refused by mParticle, so only a plan
        with one is refused: a plan that takes none (no changes, a description, a prune)
        never is, even in a workspace already over the limit; the summary still shows the
        count. One that takes a slot and ends past the limit is, deletes or not: once they
        are done, its activations still find the account full."""
        after = self.after(plan, live)
        taken = self.activations(plan, live)
        if self.limit is None or after <= self.limit or not taken:
            return None
        names = [quoted(a.name) for a in taken]
        shown = first_few(names, ", ", " ", SHOWN)
        freed = len(self.freed(plan, live))
        frees = f", deletes {freed} active" if freed else ""
        return (
            f"the plan would leave {after} CAs active, {after - self.limit} over the account's "
            f"limit of {self.limit} (active_limit): {self.active_now} are active now{frees}, "
            f"and it activates {len(names)} more ({shown}). mParticle would refuse the "
            "activations past the limit halfway through the apply; keep some CAs as drafts "
            "(active: false), delete unused ones (prune), or ask mParticle for a higher limit"
        )
