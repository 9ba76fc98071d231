"""Which actions bring one live CA to its manifest: a decision table over five facts.

SPEC §4.2, as rows: the first row that fits the facts gives the steps, in the order the
applier runs them. `None` in a row means "either way". A row is read left to right:

    wants active | active is desired | draft is desired | has a draft | needs an update

"Needs an update" is a rename or a new description: the API sets both with the draft
(PUT name, description, draft_definition). A draft equal to the active definition counts
as no draft, so "draft is desired" implies "has a draft" and "active is not desired".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from reconciler.plan.value import ActionKind


class Facts(NamedTuple):
    """What the planner knows about one CA matched to its live counterpart."""

    wants_active: bool
    active_is_desired: bool
    draft_is_desired: bool
    has_draft: bool
    needs_update: bool


@dataclass(frozen=True)
class Row:
    """One rule of the table: the facts it fits (None: either way) and the steps it gives."""

    wants_active: bool | None
    active_is_desired: bool | None
    draft_is_desired: bool | None
    has_draft: bool | None
    needs_update: bool | None
    steps: tuple[ActionKind, ...]
    why: str

    def fits(self, facts: Facts) -> bool:
        return all(
            want is None or want == have
            for want, have in (
                (self.wants_active, facts.wants_active),
                (self.active_is_desired, facts.active_is_desired),
                (self.draft_is_desired, facts.draft_is_desired),
                (self.has_draft, facts.has_draft),
                (self.needs_update, facts.needs_update),
            )
        )


ANY = None
#: The rules, first fit wins. Columns: wants active, active is desired, draft is desired,
#: has a draft, needs an update; then the steps and why.
TABLE: tuple[Row, ...] = (
    # active: true
    Row(True, True, ANY, False, False, (), "in use as desired, nothing pending"),
    Row(True, True, ANY, True, False, ("discard_draft",), "a stray draft (a UI edit) goes"),
    Row(True, True, ANY, ANY, True, ("update",), "a new name or description only"),
    Row(True, False, True, ANY, False, ("activate",), "the desired draft is staged"),
    Row(True, False, ANY, ANY, ANY, ("update", "activate"), "write the draft, activate it"),
    # active: false: the desired definition is kept as the draft, never activated
    Row(False, ANY, True, True, False, (), "the desired draft is staged"),
    Row(False, True, ANY, False, False, (), "no draft; the definition is as desired"),
    Row(False, True, False, True, False, ("discard_draft",), "a stray draft over it goes"),
    Row(False, ANY, ANY, ANY, ANY, ("update",), "write the desired draft"),
)


def rule_for(facts: Facts) -> Row:
    """The first row of TABLE that fits (the last rows fit every case they cover)."""
    return next(row for row in TABLE if row.fits(facts))


@cache
def steps(facts: Facts) -> tuple[ActionKind, ...]:
    """The actions, in order, that bring the CA to its manifest; empty when it matches.
    (Five facts make 32 cases: each is looked up in the table once per process.)"""
    return rule_for(facts).steps
