"""The reference evaluator: mParticle's documented CA semantics, run offline.

`evaluate(definition, events, seed, as_of)` gives the value a CA holds for one user: the
definition is the API's JSON (`active_definition`/`draft_definition`, or the planner's
canonical form), the events are Events API event objects, the seed is the Seeding API's
seed object for this CA, and the value is a string as mParticle stores it. For many CAs or
users, compile once (`Calculation`) and prepare each user's events once (`Timeline`).

It imports nothing else of the reconciler (the emulator uses it). The rules and their
sources are in docs/semantics.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from reconciler.evaluator.calculation import Calculation
from reconciler.evaluator.conditions import DefinitionError
from reconciler.evaluator.events import Timeline, event_time
from reconciler.evaluator.values import LAST_MILLIS, NO_VALUE, instant_millis, parse_list

__all__ = [
    "NO_VALUE",
    "Calculation",
    "DefinitionError",
    "Timeline",
    "as_of_millis",
    "evaluate",
    "event_time",
    "parse_list",
]


def as_of_millis(as_of: datetime | date | int | str) -> int:
    """An evaluation time (an aware or UTC datetime, a date, ISO text or epoch ms) in
    epoch ms, at the latest in the year 9999 (a later one could not write the timestamps
    of the events it counts)."""
    millis = instant_millis(as_of)
    if millis is None:
        raise ValueError(f"as_of {as_of!r} is not an instant")
    if millis > LAST_MILLIS:
        raise ValueError(f"as_of {as_of!r} is after the year 9999")
    return millis


def evaluate(
    definition: Mapping[str, Any],
    events: Iterable[Mapping[str, Any]],
    seed: Mapping[str, Any] | None,
    as_of: datetime | date | int | str,
) -> str:
    """The value of the CA `definition` for a user with `events` and `seed`, as of `as_of`."""
    return Calculation(definition).evaluate(Timeline(events), seed, as_of_millis(as_of))
