"""A desired CA as a manifest writes it: the CA, where it is written, and what it is in each
environment. Made by manifest loading (`files`), read by every command after it."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.manifest.cached import CachedCA
from reconciler.manifest.placement import Mention
from reconciler.models import CalculatedAttribute


@dataclass(slots=True)
class DesiredCA:
    """A CA from a manifest, with where it is written; with environments, also where it
    exists and what it is in each environment that overrides it."""

    ca: CalculatedAttribute | CachedCA
    file: str
    line: int | None
    column: int | None = None
    environments: tuple[str, ...] | None = None
    variants: dict[str, CalculatedAttribute | CachedCA] = field(default_factory=dict)
    mentions: tuple[Mention, ...] = ()

    @property
    def name(self) -> str:
        return self.ca.name

    @property
    def renamed_from(self) -> str | None:
        return self.ca.renamed_from

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def in_environment(self, environment: str | None) -> DesiredCA | None:
        """This CA as `environment` has it (its override applied), or None where it does
        not exist. The unnamed environment (no `environments:`) has every CA as written."""
        if environment is None:
            return self
        if self.environments is not None and environment not in self.environments:
            return None
        variant = self.variants.get(environment)
        if variant is None:
            return self
        return DesiredCA(variant, self.file, self.line, self.column, self.environments)
