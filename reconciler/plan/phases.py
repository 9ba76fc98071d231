"""The order apply runs a plan in, as phases (pure: read by the applier).

Each CA's actions (its chain) run in plan order; independent CAs run concurrently within a
phase, and a phase starts when the one before has ended. Without seeds there are two:
renames and deletes (they free names and active-CA slots), then every other CA.

With seeds (SPEC §9, `apply --seeds`) each `seed` action is sent in a group with others,
each group one run of the seeding pipeline, at its moment:

  1. renames and deletes (their own writes, up to a seed);
  2. seeds of the CAs the plan does not write first (no wait: the Seeding API knows them);
  3. the writes: creates, updates, draft discards, and every CA the file does not seed;
  4. seeds of the CAs just written (the Seeding API needs up to 5 minutes to learn them);
  5. the activations of the seeded CAs, once their seeds are confirmed;
  6. seeds of the CAs whose new calculation type or cutoff is in use only once active.

One group at a time, and nothing that moves a CA between groups (a write, an activation)
while a group is sending: after a stop at any point a re-run finds the unfinished group
again as one group, and resumes its checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import Literal

from reconciler.plan.value import Action, Plan

FIRST, UNWRITTEN, WRITES, WRITTEN, ACTIVATIONS, ACTIVATED = range(6)
#: The phases that send seeds, and what their group is called in messages.
SEED_GROUPS = {
    UNWRITTEN: "CAs the plan does not write first",
    WRITTEN: "CAs the plan writes",
    ACTIVATED: "CAs seeded once active",
}


@dataclass
class Phase:
    """What one phase runs: per chain (by its number), the positions of its actions in the
    plan. A seeding phase holds one `seed` action per chain."""

    number: int
    segments: dict[int, list[int]] = field(default_factory=dict)

    @property
    def kind(self) -> Literal["steps", "seeds"]:
        return "seeds" if self.number in SEED_GROUPS else "steps"


def chains(plan: Plan) -> list[list[int]]:
    """The positions of each CA's actions, in plan order (a CA's actions are together)."""
    found: list[list[int]] = []
    numbered = list(enumerate(plan.actions))
    for _, group in groupby(numbered, key=lambda item: (item[1].name, item[1].id)):
        found.append([index for index, _ in group])
    return found


def _first(actions: list[Action]) -> bool:
    return any(a.renames or a.action == "delete" for a in actions)


def _placed(actions: list[Action], first: bool) -> list[int]:
    """The phase of each action of one chain."""
    writes = FIRST if first else WRITES
    kinds = [a.action for a in actions]
    if "seed" not in kinds:
        return [writes] * len(actions)
    at = kinds.index("seed")
    before = kinds[:at]
    if not before:
        group = UNWRITTEN
    elif before[-1] == "activate":
        group = ACTIVATED
    else:
        group = WRITTEN
    placed = []
    for index, kind in enumerate(kinds):
        if index == at:
            placed.append(group)
        elif index > at or kind == "activate":
            placed.append(ACTIVATIONS)
        else:
            placed.append(writes)
    return placed


def phases(plan: Plan) -> list[Phase]:
    """The plan's phases in the order they run (empty phases left out)."""
    found = {number: Phase(number) for number in range(6)}
    for number, positions in enumerate(chains(plan)):
        actions = [plan.actions[position] for position in positions]
        for position, phase in zip(positions, _placed(actions, _first(actions)), strict=True):
            found[phase].segments.setdefault(number, []).append(position)
    return [phase for phase in found.values() if phase.segments]
