"""Per-environment CAs (SPEC §7): `environments:` limits where a CA exists, `overrides:`
changes it in one environment. Part of manifest loading.

A CA's variant for an environment is the CA as written with that environment's override
deep-merged onto it (mappings merge key by key; lists and scalars replace; null removes a
key), validated as a whole CA; its problems are located at the override's lines when the
override wrote the field, else at the CA's own. Which environment names exist is known
only from `reconciler.yaml`, so the names a CA mentions are checked across files
(`environment_issues`), as is the ownership scope (`scope_issues`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

from pydantic import ConfigDict, TypeAdapter, ValidationError

from reconciler.environments import environment_names, layered
from reconciler.errors import DataPath, Issue, format_path, quoted
from reconciler.manifest.diagnostics import explain, suggest
from reconciler.manifest.document import SAME_FIELD, Document, Position
from reconciler.models import CalculatedAttribute, Problem
from reconciler.settings import EnvironmentName, SettingsFile

OVERRIDES = "overrides"
ENVIRONMENTS = "environments"
_DEFER_RULES = {"defer_rules": True}
_ENVIRONMENT: TypeAdapter[str] = TypeAdapter(EnvironmentName, config=ConfigDict(strict=True))


def _field(mapping: dict[str, Any], key: str) -> str:
    """The key `mapping` writes the field `key` names under: `data_point` for an override's
    `datapoint` when the CA wrote that spelling (one field, two spellings)."""
    other = SAME_FIELD.get(key)
    return other if key not in mapping and other is not None and other in mapping else key


def merge(base: Any, patch: Any) -> Any:
    """`patch` deep-merged onto `base`: mappings key by key (a field by either spelling),
    null removes, else replace."""
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return patch
    merged = dict(base)
    for key, value in patch.items():
        field = _field(base, key)
        if value is None:
            merged.pop(field, None)
        else:
            merged[field] = merge(base.get(field), value)
    return merged


def variant_data(item: dict[str, Any], environment: str) -> dict[str, Any]:
    """The data of a CA in `environment`: its override merged onto it (no `overrides`)."""
    base = {key: value for key, value in item.items() if key != OVERRIDES}
    patch = (item.get(OVERRIDES) or {}).get(environment) or {}
    merged: dict[str, Any] = merge(base, patch)
    return merged


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
    overridden: Iterable[str],
) -> list[Mention]:
    """Where a CA names environments (its `environments` and the keys of its overrides),
    for the checks against `reconciler.yaml`."""
    return [
        _mention(document, base, name, (ENVIRONMENTS, index))
        for index, name in enumerate(environments)
    ] + [_mention(document, base, name, (OVERRIDES, name), key=True) for name in overridden]


def _written_in_override(patch: Any, path: Sequence[str | int]) -> bool:
    """Whether the override wrote the field at `path` (or a mapping or value above it)."""
    current = patch
    for part in path:
        if not isinstance(current, dict):
            return True  # the override replaced this whole value
        key = _field(current, part) if isinstance(part, str) else part
        if key not in current:
            return False
        current = current[key]
    return True


@dataclass(frozen=True)
class _Where:
    """Locates a variant's problems: in the override when it wrote the field."""

    document: Document
    base: tuple[Any, ...]
    item: dict[str, Any]
    environment: str

    def issue(
        self, path: Sequence[str | int], message: str, severity: str, *, key: bool = False
    ) -> Issue:
        patch = (self.item.get(OVERRIDES) or {}).get(self.environment) or {}
        origin = (OVERRIDES, self.environment) if _written_in_override(patch, path) else ()
        located = self.document.issue((*self.base, *origin, *path), message, key=key)
        return Issue(
            located.file,
            located.line,
            located.column,
            format_path((*origin, *path)),
            f"{message} (CA {quoted(self.item.get('name'))} in environment {self.environment})",
            severity,
        )


#: What a CA as written says already, by (path, message), and the paths it speaks of:
#: a variant's problem among them is not said again for each environment.
Known = tuple[set[tuple[DataPath, str]], set[DataPath]]


def _variant(
    located: _Where, known: Known, partial: Callable[[Any], list[Problem]]
) -> tuple[CalculatedAttribute | None, list[Issue]]:
    """The CA in `located.environment` (None if it has errors there), and the problems its
    override makes."""
    environment = located.environment
    data = variant_data(located.item, environment)
    patch = (located.item.get(OVERRIDES) or {}).get(environment) or {}
    said, spoken = known

    def new(path: DataPath, message: str) -> bool:
        # A problem of the CA as written is the override's only where the override wrote
        # the field; a field of the override the CA's own problems speak of (an operand
        # YAML read as something else than written) is not spoken of twice.
        return ((path, message) not in said or _written_in_override(patch, path)) and (
            OVERRIDES,
            environment,
            *path,
        ) not in spoken

    try:
        variant = CalculatedAttribute.model_validate(data, context=_DEFER_RULES)
    except ValidationError as exc:
        errors = explain(exc, CalculatedAttribute, data)
        invalid = {path for path, _, _ in errors}  # a rule over them would say it again
        issues = [
            located.issue(path, message, "error", key=is_key)
            for path, message, is_key in errors
            if new(path, message)
        ]
        issues += [
            located.issue(p.path, p.message, p.severity)
            for p in partial(data)
            if p.path not in invalid and new(p.path, p.message)
        ]
        return None, issues
    problems = [problem for problem in variant.problems() if new(problem.path, problem.message)]
    issues = [located.issue(p.path, p.message, p.severity) for p in problems]
    if any(problem.severity == "error" for problem in problems):
        return None, issues
    return variant, issues


def variants(
    document: Document,
    base: tuple[Any, ...],
    item: dict[str, Any],
    ca: CalculatedAttribute,
    ca_problems: Sequence[Problem],
    partial: Callable[[Any], list[Problem]],
) -> tuple[dict[str, CalculatedAttribute], list[Issue]]:
    """The CA in each environment it overrides, and the problems of those variants (a
    problem the CA as written has already, `ca_problems`, is not repeated). `partial`
    finds the rules broken by the valid parts of an invalid CA, so that all its problems
    show at once."""
    found: dict[str, CalculatedAttribute] = {}
    issues: list[Issue] = []
    if not ca.overrides:
        return found, issues
    known = ({(p.path, p.message) for p in ca_problems}, {p.path for p in ca_problems})
    for environment in ca.overrides:
        variant, said = _variant(_Where(document, base, item, environment), known, partial)
        issues += said
        if variant is not None:
            found[environment] = variant
    return found, issues


def unbuilt_variant_issues(
    document: Document,
    base: tuple[Any, ...],
    item: Any,
    known: Known,
    partial: Callable[[Any], list[Problem]],
) -> list[Issue]:
    """The problems each override makes in a CA that is not valid as written (`known`:
    what its own problems say, each said once, not once per environment). Only overrides
    that are mappings under a valid environment name are merged: the CA's own problems
    say what is wrong with the others."""
    issues: list[Issue] = []
    for environment in _overridden(item):
        issues += _variant(_Where(document, base, item, environment), known, partial)[1]
    return issues


def _environment(value: Any) -> str | None:
    """`value` if it is a valid environment name, else None."""
    try:
        return _ENVIRONMENT.validate_python(value)
    except ValidationError:
        return None


def _overridden(item: Any, *, merged: bool = True) -> list[str]:
    """The environments a CA not valid as written overrides under a valid name: with a
    mapping (`merged`), or at all."""
    written = item.get(OVERRIDES) if isinstance(item, dict) else None
    if not isinstance(written, dict):
        return []
    return [
        environment
        for environment, patch in written.items()
        if (isinstance(patch, dict) or not merged) and _environment(environment) is not None
    ]


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
    #: Whether where it exists is known (its `environments` valid, or not written), and
    #: its name not blank: only then is its scope checked.
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
    named = [_environment(value) for value in listed]
    valid = isinstance(written, list) and None not in named
    mentioned = [
        _mention(document, base, value, (ENVIRONMENTS, index))
        for index, value in enumerate(named)
        if value is not None
    ]
    mentioned += mentions(document, base, (), _overridden(item, merged=False))
    renamed_from = item.get("renamed_from")
    return Unbuilt(
        name,
        document.file,
        where.line if where else None,
        where.column if where else None,
        renamed_from if isinstance(renamed_from, str) and renamed_from.strip() else None,
        tuple(value for value in named if value is not None) if valid else None,
        tuple(mentioned),
        (valid or ENVIRONMENTS not in item) and bool(name.strip()),
    )


class Placement(Protocol):
    """What the checks against `reconciler.yaml` read of one CA (a loaded `DesiredCA`)."""

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
    override must be for an environment where the CA exists."""
    names = environment_names(settings)
    issues: list[Issue] = []
    for ca in cas:
        for mention in ca.mentions:
            message = _mention_problem(ca, mention, names)
            if message is not None:
                issues.append(
                    Issue(
                        ca.file,
                        mention.line,
                        mention.column,
                        mention.path,
                        f"{message} (CA {quoted(ca.name)})",
                    )
                )
    return issues


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
