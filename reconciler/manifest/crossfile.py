"""The rules across manifest files: a CA name is declared once in a directory, and a
`renamed_from` names no CA still declared and is claimed by one CA only. Names that differ
only in case, Unicode form or whitespace around them (`LTV`, `ltv`, `ＬＴＶ`, `"LTV "`) are
warned about: mParticle keeps
them apart, a reader takes them for one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.errors import Issue, quoted
from reconciler.models.rules import folded

if TYPE_CHECKING:
    from reconciler.manifest.desired import DesiredCA


@dataclass(frozen=True)
class Declared:
    """A CA name as written, even when the CA itself is invalid (for duplicate checks)."""

    name: str
    file: str
    line: int | None
    column: int | None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


def _at(written: Declared | DesiredCA, path: str, message: str, severity: str = "error") -> Issue:
    return Issue(written.file, written.line, written.column, path, message, severity)


def look_alikes(declared: Sequence[Declared | DesiredCA]) -> list[Issue]:
    """A warning at each name that differs from an earlier one only in case, Unicode
    form or whitespace around it (models.rules.folded)."""
    issues: list[Issue] = []
    first: dict[str, Declared | DesiredCA] = {}
    for written in declared:
        earlier = first.setdefault(folded(written.name), written)
        if earlier.name != written.name:
            message = (
                f"{quoted(written.name)} differs from {quoted(earlier.name)} at {earlier.where} "
                "only in case, Unicode form or whitespace around it: mParticle keeps two CAs, a "
                "reader sees one; "
                "rename one"
            )
            issues.append(_at(written, "name", message, "warning"))
    return issues


def cross_file_issues(
    declared: Sequence[Declared | DesiredCA], cas: Sequence[DesiredCA]
) -> list[Issue]:
    """Every name declared twice, and every renamed_from still declared or claimed twice."""
    issues: list[Issue] = []
    first: dict[str, Declared | DesiredCA] = {}
    for written in declared:
        earlier = first.setdefault(written.name, written)
        if earlier is not written:
            message = (
                f"duplicate CA name {quoted(written.name)}: also defined at {earlier.where}; "
                "names are unique per workspace"
            )
            issues.append(_at(written, "name", message))
    renamed: dict[str, DesiredCA] = {}
    for desired in cas:
        old = desired.ca.renamed_from
        if old is None or old == desired.name:
            continue
        if old in first:
            # The way out is said: renaming a CA and giving its old name to a new one takes
            # two applies (the rename must land before the old name is free again).
            message = (
                f"{quoted(old)} is still declared at {first[old].where}; a CA cannot be renamed "
                "and kept: remove one. To give the old name to a new CA, apply the rename "
                f"first (without {quoted(old)}), then remove renamed_from and declare "
                f"{quoted(old)} again"
            )
            issues.append(_at(desired, "renamed_from", message))
        other = renamed.setdefault(old, desired)
        if other is not desired:
            message = (
                f"{quoted(old)} is also the renamed_from of {quoted(other.name)} at {other.where}"
            )
            issues.append(_at(desired, "renamed_from", message))
    return issues + look_alikes(declared)
