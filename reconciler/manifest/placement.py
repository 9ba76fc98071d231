"""Where each CA exists and the environment names it mentions, checked against
`reconciler.yaml` (SPEC §7, §8). Part of manifest loading.

`environments:` limits where a CA exists. Which environment names exist is known only
from `reconciler.yaml`, so the names a CA mentions are checked across files
(`environment_issues`), as is the ownership scope (`scope_issues`): for every CA, and for
a CA not valid as written as far as its fields are valid (`unbuilt`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

from reconciler.environments import environment_names, layered
from reconciler.errors import DataPath, Issue, format_path, quoted
from reconciler.manifest.diagnostics import suggest
from reconciler.manifest.document import Document, Position
from reconciler.manifest.overrides import OVERRIDES, environment_name, overridden
from reconciler.settings import SettingsFile

ENVIRONMENTS = "environments"


@dataclass(frozen=True)
class Mention:
    """An environment name as a CA writes it (in `environments:` or as an override key)."""

    environment: str
    path: str
    line: int | None
    column: int | None


def _mention(
    document: Document, base: tuple[Any, ...], name: str, at: DataPath, *, key: bool = False
) -> Mention:
    where = document.position((*base, *at), key=key)
    return Mention(
        name, format_path(at), where.line if where else None, where.column if where else None
    )


def mentions(
    document: Document,
    base: tuple[Any, ...],
    environments: Iterable[str],
    override_keys: Iterable[str],
) -> list[Mention]:
    """Where a CA names environments (its `environments` and the keys of its overrides),
    for the checks against `reconciler.yaml`."""
    return [
        _mention(document, base, name, (ENVIRONMENTS, index))
        for index, name in enumerate(environments)
    ] + [_mention(document, base, name, (OVERRIDES, name), key=True) for name in override_keys]


@dataclass(frozen=True)
class Unbuilt:
    """What the checks against `reconciler.yaml` read of a CA that is not valid as written
    (no model is built of it), as far as its fields are valid: so that its environment
    names are checked in the same run as its other problems."""

    name: str
    file: str
    line: int | None
    column: int | None
    renamed_from: str | None
    environments: tuple[str, ...] | None
    mentions: tuple[Mention, ...]
    #: Whether where it exists is known (its `environments` valid, or none), and its name
    #: not blank: only then is its scope checked.
    scoped: bool


def unbuilt(
    document: Document, base: tuple[Any, ...], item: Any, where: Position | None
) -> Unbuilt | None:
    """What the environment checks read of an invalid CA; None without a name to say."""
    name = item.get("name") if isinstance(item, dict) else None
    if not isinstance(item, dict) or not isinstance(name, str):
        return None
    written = item.get(ENVIRONMENTS)
    listed = written if isinstance(written, list) else []
    named = [environment_name(value) for value in listed]
    valid = isinstance(written, list) and None not in named
    mentioned = [
        _mention(document, base, value, (ENVIRONMENTS, index))
        for index, value in enumerate(named)
        if value is not None
    ]
    mentioned += mentions(document, base, (), overridden(item, merged=False))
    renamed_from = item.get("renamed_from")
    return Unbuilt(
        name,
        document.file,
        where.line if where else None,
        where.column if where else None,
        renamed_from if isinstance(renamed_from, str) and renamed_from.strip() else None,
        tuple(value for value in named if value is not None) if valid else None,
        tuple(mentioned),
        (valid or written is None) and bool(name.strip()),
    )


class Placement(Protocol):
    """What the checks against `reconciler.yaml` read of one CA (a loaded `DesiredCA`, or
    an `Unbuilt`)."""

    @property
    def name(self) -> str: ...
    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int | None: ...
    @property
    def column(self) -> int | None: ...
    @property
    def renamed_from(self) -> str | None: ...
    @property
    def environments(self) -> tuple[str, ...] | None: ...
    @property
    def mentions(self) -> tuple[Mention, ...]: ...


def _mention_problem(ca: Placement, mention: Mention, names: list[str]) -> str | None:
    if not names:
        return (
            f"environment `{mention.environment}`: reconciler.yaml defines no environments "
            "(add `environments:` to it)"
        )
    if mention.environment not in names:
        hint = suggest(mention.environment, names)
        advice = f"did you mean `{hint}`? " if hint else ""
        return (
            f"unknown environment `{mention.environment}`; {advice}reconciler.yaml defines "
            f"{', '.join(names)}"
        )
    outside = ca.environments is not None and mention.environment not in ca.environments
    if outside and mention.path.startswith(OVERRIDES):
        return (
            f"override for `{mention.environment}`, but the CA exists only in "
            f"{', '.join(ca.environments or ())}; add it to `environments` or remove the override"
        )
    return None


def environment_issues(cas: Iterable[Placement], settings: SettingsFile) -> list[Issue]:
    """Every environment name a CA mentions must be defined (with did-you-mean), and an
    override must be for an environment where the CA exists; a name its `environments`
    lists twice is a warning."""
    names = environment_names(settings)
    issues: list[Issue] = []
    for ca in cas:
        listed: set[str] = set()
        for mention in ca.mentions:
            message = _mention_problem(ca, mention, names)
            severity = "error"
            if message is None and _listed_again(mention, listed):
                message = (
                    f"`{mention.environment}` is listed twice in `environments`: once is enough"
                )
                severity = "warning"
            if message is not None:
                issues.append(
                    Issue(
                        ca.file,
                        mention.line,
                        mention.column,
                        mention.path,
                        f"{message} (CA {quoted(ca.name)})",
                        severity,
                    )
                )
    return issues


def _listed_again(mention: Mention, listed: set[str]) -> bool:
    """Whether `mention`, an item of `environments`, names one of those before it
    (`listed`, which it joins)."""
    if not mention.path.startswith(ENVIRONMENTS):
        return False
    again = mention.environment in listed
    listed.add(mention.environment)
    return again


def in_scope(name: str, scope: Sequence[str] | None) -> bool:
    """Whether a CA name is owned by a scope (fnmatch globs, case-sensitive; none = all)."""
    return scope is None or any(fnmatchcase(name, pattern) for pattern in scope)


def _outside(
    name: str, environments: Sequence[str | None], scopes: dict[str | None, list[str] | None]
) -> str | None:
    """`the scope of prod (Growth *, LTV)`: the scopes of `environments` that do not own
    `name`, with their patterns; None when every one owns it."""
    outside = [env for env in environments if not in_scope(name, scopes[env])]
    if not outside:
        return None
    where = "the scope" if outside == [None] else f"the scope of {', '.join(map(str, outside))}"
    patterns = sorted({pattern for env in outside for pattern in scopes[env] or ()})
    return f"{where} ({', '.join(patterns)})"


def scope_issues(cas: Iterable[Placement], settings: SettingsFile) -> list[Issue]:
    """A CA outside the ownership scope of an environment where it exists is an error, and
    so is a `renamed_from` outside it: the plan cannot see that live CA, and would create
    the new name beside it."""
    environments: list[str | None] = list(environment_names(settings)) or [None]
    scopes = {name: layered(settings, name).scope for name in environments}
    issues: list[Issue] = []
    for ca in cas:
        exists = [env for env in environments if ca.environments is None or env in ca.environments]
        where = _outside(ca.name, exists, scopes)
        if where is not None:
            message = (
                f"CA {quoted(ca.name)} is outside {where}: add a pattern that matches it to "
                "`scope`, or limit the CA with `environments:`"
            )
            issues.append(Issue(ca.file, ca.line, ca.column, "name", message))
        old = ca.renamed_from
        where = _outside(old, exists, scopes) if old is not None else None
        if where is not None:
            message = (
                f"CA {quoted(ca.name)} is renamed from {quoted(old)}, which is outside {where}: "
                f"the plan cannot see it, so it would create {quoted(ca.name)} and leave "
                f"{quoted(old)} behind; add a pattern that matches {quoted(old)} to `scope`, or "
                "remove renamed_from"
            )
            issues.append(Issue(ca.file, ca.line, ca.column, "renamed_from", message))
    return issues
