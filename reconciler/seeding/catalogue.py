"""Seeding, step 0: what the manifests say each CA accepts as seeds.

Maps CA names to their calculation type, cutoff date and time period; says which CAs
should not be seeded as declared (rolling windows) so the command can warn, and which cannot
be seeded at all (no cutoff) so it can refuse them once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import orjson

from reconciler.errors import quoted
from reconciler.manifest.diagnostics import suggest
from reconciler.manifest.loader import Manifests


@dataclass(frozen=True)
class SeedTarget:
    """One CA of the manifests, as far as seeding is concerned."""

    name: str
    calculation_type: str
    cutoff: date | None
    rolling: bool
    where: str
    #: The cutoff as the Seeding API spells it: `yyyy-MM-dd`.
    cutoff_text: str | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        text = self.cutoff.isoformat() if self.cutoff is not None else None
        object.__setattr__(self, "cutoff_text", text)

    def warning(self) -> str | None:
        """Why seeds for this CA will probably not take, if they will not."""
        if self.rolling:
            return (
                f"CA {quoted(self.name)} ({self.where}) has a rolling `within` time period: "
                'mParticle calls seeding it "not supported": it takes the seeds, but seeded '
                "values never leave the window, so this CA will overstate for as long as it exists"
            )
        return None

    @property
    def unseedable(self) -> str | None:
        """Why no seed for this CA can land whatever a seed file says, or None. A CA
        without a cutoff in its manifest has none in the workspace once applied, and
        mParticle takes seeds only for a CA defined with one: a file seeding it is refused
        once for the CA, not once per user."""
        if self.cutoff is not None:
            return None
        return (
            f"its manifest ({self.where}) has no seeding.cutoff_date, and mParticle takes "
            "seeds only for a CA defined with one: add seeding.cutoff_date to it and apply "
            "(`reconciler apply`), then seed"
        )


class Catalogue:
    """The seed targets of a workspace by name."""

    def __init__(self, targets: Iterable[SeedTarget]) -> None:
        self._by_name = {target.name: target for target in targets}
        self._names = sorted(self._by_name)

    @classmethod
    def from_manifests(cls, manifests: Manifests, environment: str | None = None) -> Catalogue:
        """The CAs of one environment (as its overrides make them); all without one."""
        targets = []
        for desired in manifests.for_environment(environment):
            definition = desired.ca.definition
            seeding = definition.seeding
            targets.append(
                SeedTarget(
                    name=desired.name,
                    calculation_type=definition.calculation_type,
                    cutoff=seeding.cutoff_date.date() if seeding is not None else None,
                    rolling=definition.time_period.type == "within",
                    where=desired.where,
                )
            )
        return cls(targets)

    def get(self, name: str) -> SeedTarget | None:
        return self._by_name.get(name)

    @property
    def names(self) -> list[str]:
        return self._names

    def suggest(self, name: str) -> str | None:
        """The CA name closest to a misspelt one."""
        return suggest(name, self._names)

    def fingerprint(self, names: Iterable[str] | None = None) -> str:
        """Changes when anything that shapes the sent users changes (type or cutoff); of
        the CAs `names` only, when given (a run that sends only their seeds)."""
        chosen = self._names if names is None else sorted(set(names) & self._by_name.keys())
        rows = [
            [t.name, t.calculation_type, t.cutoff_text]
            for t in (self._by_name[name] for name in chosen)
        ]
        return hashlib.sha256(orjson.dumps(rows)).hexdigest()
