"""What a plan looks at: filters on the planner's inputs, applied before it runs.

Ownership scope (SPEC §8): live CAs outside the environment's `scope` globs are invisible
(never unmanaged, pruned, exported or counted by the safety threshold). Selection
(`--only` / `--exclude`): the plan covers only the CAs the globs select; the others are
counted as not selected. Globs are fnmatch patterns, matched case-sensitively against CA
names (by `plan`, `apply` and `reconciler test`). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from reconciler.errors import printable
from reconciler.models import DeclaredCA, LiveCA
from reconciler.plan.planner import match


def matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def in_scope(live: Sequence[LiveCA], scope: Sequence[str] | None) -> list[LiveCA]:
    """The live CAs a scope owns (all of them without a scope)."""
    if scope is None:
        return list(live)
    return [ca for ca in live if matches(ca.name, scope)]


@dataclass(frozen=True)
class Chooser:
    """`--only` / `--exclude`: with no `only`, everything not excluded is selected."""

    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.only or self.exclude)

    def selects(self, name: str) -> bool:
        if self.only and not matches(name, self.only):
            return False
        return not matches(name, self.exclude)


def unmatched(chooser: Chooser, names: Iterable[str]) -> list[str]:
    """The `--only`/`--exclude` flags (as written) whose glob matches none of `names`: most
    likely a typo, and an `--only` one silently makes the plan smaller (or empty)."""
    every = set(names)
    flags = [("--only", p) for p in chooser.only] + [("--exclude", p) for p in chooser.exclude]
    return [f"{flag} {p}" for flag, p in flags if not any(matches(n, [p]) for n in every)]


def unmatched_note(
    chooser: Chooser, names: Iterable[str], among: str, hint: str = ""
) -> str | None:
    """A warning for the globs that match none of `names` (the CAs `among`, such as "in the
    manifests"), or None; `hint` ends it."""
    unused = unmatched(chooser, names)
    if not unused:
        return None
    return (
        f"{printable(', '.join(unused))} matches no CA {among} (globs are case-sensitive): "
        f"check the pattern{hint}"
    )


@dataclass(frozen=True)
class Selected:
    """The planner's inputs once a selection is applied."""

    desired: list[DeclaredCA]
    live: list[LiveCA]
    not_selected: int


def select(desired: Sequence[DeclaredCA], live: Sequence[LiveCA], chooser: Chooser) -> Selected:
    """The selected manifest CAs with the live CAs they claim (by name or renamed_from),
    plus the live CAs no manifest claims whose names are selected (unmanaged, or deleted
    with prune). A CA is selected by its manifest name; a live CA no manifest names, by
    its own."""
    if not chooser.active:
        return Selected(list(desired), list(live), 0)
    pairs, unclaimed, _ = match(desired, live)
    chosen = [(ca, found) for ca, found in pairs if chooser.selects(ca.name)]
    loose = [ca for ca in unclaimed if chooser.selects(ca.name)]
    claimed = [found for _, found in chosen if found is not None]
    left_out = (len(pairs) - len(chosen)) + (len(unclaimed) - len(loose))
    return Selected([ca for ca, _ in chosen], claimed + loose, left_out)
