"""Loading a manifest directory: YAML files -> settings and desired CAs, every problem located.

The first step of the flow. `reconciler.yaml` holds settings; every other `*.yaml`/`*.yml`
below the directory (hidden folders excepted, sorted by path) holds CAs under
`calculated_attributes:`; top-level `x-...` keys are ignored (a place for YAML anchors).
All problems of all files are collected and raised together as one ManifestError.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from reconciler.errors import Issue, ManifestError
from reconciler.manifest import cache, ignore, overrides
from reconciler.manifest.cached import CachedCA, CachedItems
from reconciler.manifest.crossfile import Declared, cross_file_issues
from reconciler.manifest.diagnostics import explain, suggest
from reconciler.manifest.document import Document, SourceError, parse_bytes, read_bytes
from reconciler.manifest.overrides import Mention, Placement
from reconciler.manifest.partial import partial_problems
from reconciler.manifest.settings_file import SETTINGS_FILE, load_settings
from reconciler.models import CalculatedAttribute, CanonicalDefinition, Problem
from reconciler.settings import SettingsFile

#: Test files live beside manifests but are not manifests (SPEC §10).
TEST_SUFFIXES = (".test.yaml", ".test.yml")
CAS_KEY = "calculated_attributes"
_DEFER_RULES = {"defer_rules": True}


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
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def placement(self) -> Placement:
        return Placement(
            self.name, self.file, self.line, self.column, self.environments, self.mentions
        )

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


@dataclass(frozen=True)
class Manifests:
    """A checked manifest directory: its settings, its CAs, and the warnings found."""

    directory: Path
    settings: SettingsFile
    cas: tuple[DesiredCA, ...] = field(repr=False)
    files: tuple[str, ...]
    warnings: tuple[Issue, ...] = ()

    def by_name(self) -> dict[str, DesiredCA]:
        return {desired.name: desired for desired in self.cas}

    def for_environment(self, environment: str | None) -> list[DesiredCA]:
        """The CAs of one environment, each as that environment's override makes it."""
        found = (desired.in_environment(environment) for desired in self.cas)
        return [desired for desired in found if desired is not None]


@dataclass
class _FileResult:
    cas: list[DesiredCA]
    issues: list[Issue]
    # Every CA name as written; a file free of errors declares exactly its CAs.
    declared: list[Declared | DesiredCA] = field(default_factory=list)
    from_cache: bool = False


def discover(directory: Path) -> Iterator[Path]:
    """CA manifest files below `directory`, sorted by path; hidden folders are skipped, and
    so are test files (`*.test.yaml`, `*.test.yml`: read by `reconciler test`) and the files
    `.reconcilerignore` names (raises ManifestError if it is invalid)."""
    ignored = ignore.read(directory)
    found = [
        path
        for pattern in ("*.yaml", "*.yml")
        for path in directory.rglob(pattern)
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(directory).parts)
        and path.relative_to(directory).as_posix() != SETTINGS_FILE
        and not path.name.endswith(TEST_SUFFIXES)
        and not ignored(path.relative_to(directory).as_posix())
    ]
    yield from sorted(found, key=lambda path: path.relative_to(directory).as_posix())


def _validation_issues(
    exc: ValidationError,
    model: type[BaseModel],
    data: Any,
    document: Document,
    base: tuple[Any, ...],
) -> list[Issue]:
    return [
        document.issue((*base, *path), message, key=is_key)
        for path, message, is_key in explain(exc, model, data)
    ]


def _relative(issue: Issue, base: tuple[Any, ...], name: str | None) -> Issue:
    """Show paths relative to the CA and name the CA, which reads better in a long file."""
    prefix = f"{base[0]}[{base[1]}]" if len(base) == 2 else ""
    path = issue.path.removeprefix(prefix).lstrip(".")
    message = f'{issue.message} (CA "{name}")' if name else issue.message
    return Issue(issue.file, issue.line, issue.column, path, message, issue.severity)


def _problem_issues(
    document: Document, base: tuple[Any, ...], problems: list[Problem], name: str | None
) -> list[Issue]:
    issues = []
    for problem in problems:
        located = document.issue((*base, *problem.path), problem.message)
        issue = Issue(
            located.file,
            located.line,
            located.column,
            located.path,
            located.message,
            problem.severity,
        )
        issues.append(_relative(issue, base, name))
    return issues


def _load_ca(document: Document, index: int, item: Any) -> tuple[DesiredCA | None, list[Issue]]:
    base = (CAS_KEY, index)
    name = item.get("name") if isinstance(item, dict) else None
    name = name if isinstance(name, str) else None
    try:
        ca = CalculatedAttribute.model_validate(item, context=_DEFER_RULES)
    except ValidationError as exc:
        issues = _validation_issues(exc, CalculatedAttribute, item, document, base)
        issues = [_relative(issue, base, name) for issue in issues]
        return None, issues + _problem_issues(document, base, partial_problems(item), name)
    issues = _problem_issues(document, base, ca.problems(), name)
    where = document.position(base)
    variants, variant_issues = overrides.variants(document, base, item, ca, partial_problems)
    return (
        DesiredCA(
            ca,
            document.file,
            where.line if where else None,
            where.column if where else None,
            tuple(ca.environments) if ca.environments is not None else None,
            dict(variants),
            tuple(overrides.mentions(document, base, ca)),
        ),
        issues + variant_issues,
    )


def _parse_file(raw: bytes, display: str) -> tuple[_FileResult, list[Any]]:
    """The CAs of one manifest file and its problems; also the raw CA items (for the cache)."""
    try:
        document = parse_bytes(raw, display)
    except SourceError as exc:
        return _FileResult([], exc.issues), []
    data = document.data
    if data is None:
        return _FileResult([], []), []
    if not isinstance(data, dict):
        return (
            _FileResult(
                [],
                [
                    document.issue(
                        (), f"expected a mapping with `{CAS_KEY}:` at the top, got a list"
                    )
                ],
            ),
            [],
        )
    issues: list[Issue] = []
    for key in data:
        # `x-...` keys are for YAML anchors shared by several CAs (as in docker-compose).
        if key != CAS_KEY and not key.startswith("x-"):
            hint = suggest(key, [CAS_KEY])
            advice = f"did you mean `{hint}`?" if hint else f"a manifest file holds `{CAS_KEY}:`"
            issues.append(
                document.issue((key,), f"unknown top-level key `{key}`; {advice}", key=True)
            )
    items = data.get(CAS_KEY)
    if items is None:
        return _FileResult([], issues), []
    if not isinstance(items, list):
        issues.append(
            document.issue((CAS_KEY,), f"`{CAS_KEY}` must be a list of CAs (`- name: ...`)")
        )
        return _FileResult([], issues), []
    cas: list[DesiredCA] = []
    declared: list[Declared | DesiredCA] = []
    for index, item in enumerate(items):
        desired, found = _load_ca(document, index, item)
        issues += found
        if desired is not None:
            cas.append(desired)
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str):
            where = document.position((CAS_KEY, index))
            line, column = (where.line, where.column) if where else (None, None)
            declared.append(Declared(name, document.file, line, column))
    issues.sort(key=lambda issue: (issue.line or 0, issue.column or 0))
    return _FileResult(cas, issues, declared), items


def _typed(values: tuple[Any, ...], kinds: tuple[Any, ...]) -> None:
    """Raise TypeError unless each value has its kind (a type or a tuple of types)."""
    for value, kind in zip(values, kinds, strict=True):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError("not an entry of this version")


_OPTIONAL_TEXT = (str, type(None))
_POSITION = (int, type(None))


def _facts(ca: CalculatedAttribute | CachedCA) -> list[Any]:
    return [ca.name, ca.description, ca.active, ca.renamed_from, ca.protect]


def _environment_row(desired: DesiredCA) -> list[Any]:
    """What a cache entry keeps of a CA's environments: where it exists, where it names
    environments, and the facts of each of its variants."""
    return [
        list(desired.environments) if desired.environments is not None else None,
        [[m.environment, m.path, m.line, m.column] for m in desired.mentions],
        {name: [_facts(ca), ca.canonical] for name, ca in desired.variants.items()},
    ]


def _cached_desired(
    row: tuple[Any, ...], source: CachedItems, index: int, display: str
) -> DesiredCA:
    """One CA of a cache entry; TypeError (a miss) for anything not of the shape written."""
    (facts, (line, column), canonical, (environments, mentions, variants)) = row
    _typed((line, column, environments, variants), (_POSITION, _POSITION, (list, type(None)), dict))
    for mention in mentions:
        _typed(tuple(mention), (str, str, _POSITION, _POSITION))

    def record(facts: list[Any], canonical: CanonicalDefinition, where: str | None) -> CachedCA:
        name, description, active, renamed_from, protect = facts
        _typed(
            (name, description, active, renamed_from, protect, canonical),
            (str, _OPTIONAL_TEXT, bool, _OPTIONAL_TEXT, bool, dict),
        )
        return CachedCA(
            name, description, active, renamed_from, protect, canonical, source, index, where
        )

    ca = record(facts, canonical, None)
    cached_variants: dict[str, CalculatedAttribute | CachedCA] = {
        environment: record(variant_facts, variant_canonical, environment)
        for environment, (variant_facts, variant_canonical) in variants.items()
    }
    return DesiredCA(
        ca,
        display,
        line,
        column,
        tuple(environments) if environments is not None else None,
        cached_variants,
        tuple(Mention(*mention) for mention in mentions),
    )


def _from_cache(entry: dict[str, Any], display: str, raw: bytes) -> _FileResult:
    """A file known to be free of errors: what this code found in it, without the YAML.
    Raises TypeError, ValueError or KeyError for an entry of another shape (a miss)."""
    if not isinstance(entry["items"], str):
        raise TypeError("not an entry of this version")
    source = CachedItems(entry["items"], display, lambda: _parse_file(raw, display)[1])
    rows = zip(
        entry["facts"],
        entry["positions"],
        entry["canonical"],
        entry["environments"],
        strict=True,
    )
    cas = [_cached_desired(row, source, index, display) for index, row in enumerate(rows)]
    warnings = []
    for line, column, path, message in entry["warnings"]:
        _typed((line, column, path, message), (_POSITION, _POSITION, str, str))
        warnings.append(Issue(display, line, column, path, message, "warning"))
    return _FileResult(cas, warnings, list(cas), from_cache=True)


@dataclass(frozen=True)
class _Source:
    """One manifest file's bytes, and its cache key (empty with the cache off)."""

    path: Path
    display: str
    raw: bytes
    key: str


def load_file(source: _Source, cache_root: Path | None = None) -> _FileResult:
    """The CAs of one manifest file and the problems found in it (cached by content)."""
    raw, display, entry_key = source.raw, source.display, source.key
    if cache_root is not None:
        entry = cache.read(cache_root, entry_key)
        if entry is not None:
            try:
                return _from_cache(entry, display, raw)
            except (ValidationError, ValueError, TypeError, KeyError):
                pass  # not what this code would have written: load the file itself
    result, items = _parse_file(raw, display)
    if cache_root is not None and not any(i.severity == "error" for i in result.issues):
        cache.write(
            cache_root,
            entry_key,
            {
                "items": items,
                "facts": [_facts(d.ca) for d in result.cas],
                "positions": [[d.line, d.column] for d in result.cas],
                "canonical": [d.ca.canonical for d in result.cas],
                "environments": [_environment_row(d) for d in result.cas],
                "warnings": [[i.line, i.column, i.path, i.message] for i in result.issues],
            },
        )
    return result


def load(directory: Path) -> Manifests:
    """Load and check a manifest directory; raises ManifestError listing every problem."""
    settings_issues: list[Issue] = []
    settings = SettingsFile()
    try:
        settings = load_settings(directory)
    except ManifestError as exc:
        if not directory.is_dir():
            raise
        settings_issues = list(exc.issues)
    cache_root = cache.root()
    sources: list[_Source] = []
    issues: list[Issue] = []
    for path in discover(directory):
        display = str(directory / path.relative_to(directory))
        try:
            raw = read_bytes(path, display)
        except SourceError as exc:
            issues += exc.issues
            continue
        key = cache.key(path, display, raw) if cache_root is not None else ""
        sources.append(_Source(path, display, raw, key))
    files = tuple(source.display for source in sources)
    cas: list[DesiredCA] = []
    declared: list[Declared | DesiredCA] = []
    parsed = False
    for source in sources:
        result = load_file(source, cache_root=cache_root)
        cas += result.cas
        declared += result.declared
        issues += result.issues
        parsed = parsed or not result.from_cache
    if cache_root is not None and parsed:
        cache.prune(cache_root)  # what the edit (or upgrade) made unused may go
    issues += cross_file_issues(declared, cas)
    if not settings_issues:
        facts = [desired.placement() for desired in cas]
        issues += overrides.environment_issues(facts, settings)
        issues += overrides.scope_issues(facts, settings)
    errors = settings_issues + [issue for issue in issues if issue.severity == "error"]
    if errors:
        raise ManifestError(errors)
    warnings = tuple(issue for issue in issues if issue.severity == "warning")
    return Manifests(directory, settings, tuple(cas), files, warnings)
