"""One manifest file on its own: its YAML -> its CAs and problems, every problem located;
or, for a file found free of errors before, its cache entry -> the same, without the YAML.

Part of manifest loading (`loader` reads a directory's files through here and checks the
rules across them). What the cache keeps of a file (`entry_of`) is also what a worker
process hands back when a first load parses many files at once (`cache_entry`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from reconciler.errors import Issue, first_few, quoted
from reconciler.manifest import cache, overrides, placement
from reconciler.manifest.cached import CachedCA, CachedItems
from reconciler.manifest.crossfile import Declared
from reconciler.manifest.desired import DesiredCA
from reconciler.manifest.diagnostics import explain, suggest
from reconciler.manifest.document import Document, Position, SourceError, parse_bytes
from reconciler.manifest.partial import partial_problems
from reconciler.manifest.placement import Mention, Unbuilt
from reconciler.manifest.quoting import retyped_operands, with_retyped
from reconciler.models import (
    CalculatedAttribute,
    CanonicalDefinition,
    Problem,
)

CAS_KEY = "calculated_attributes"
_DEFER_RULES = {"defer_rules": True}


@dataclass
class FileResult:
    cas: list[DesiredCA]
    issues: list[Issue]
    # Every CA name as written; a file free of errors declares exactly its CAs.
    declared: list[Declared | DesiredCA] = field(default_factory=list)
    # The CAs not valid as written, for the environment checks; a file free of errors (so
    # every file the cache keeps) has none.
    unbuilt: list[Unbuilt] = field(default_factory=list)


def _relative(issue: Issue, base: tuple[Any, ...], name: str | None) -> Issue:
    """Show paths relative to the CA and name the CA, which reads better in a long file
    (unless the message names it already: a warning about the name itself)."""
    prefix = f"{base[0]}[{base[1]}]" if len(base) == 2 else ""
    # The CA itself (not a mapping, say) keeps its full path: an empty one would say nothing.
    path = issue.path.removeprefix(prefix).lstrip(".") or issue.path
    shown = quoted(name) if name else None
    named = shown is None or shown in issue.message
    message = issue.message if named else f"{issue.message} (CA {shown})"
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


def _invalid_ca(
    document: Document, base: tuple[Any, ...], item: Any, exc: ValidationError
) -> list[Issue]:
    """Every problem of a CA that is not valid as written: its invalid fields, the rules its
    valid parts break, and what each override makes of it (its own problems said once)."""
    name = item.get("name") if isinstance(item, dict) else None
    name = name if isinstance(name, str) else None
    errors = explain(exc, CalculatedAttribute, item)
    issues = [
        _relative(document.issue((*base, *path), message, key=is_key), base, name)
        for path, message, is_key in errors
    ]
    problems = with_retyped(partial_problems(item), retyped_operands(document, base, item))
    reported = {issue.path for issue in issues}  # a field said to be invalid already
    found = _problem_issues(document, base, problems, name)
    issues += [issue for issue in found if issue.path not in reported]
    known = (
        {(path, message) for path, message, _ in errors} | {(p.path, p.message) for p in problems},
        {path for path, _, _ in errors} | {p.path for p in problems},
    )
    return issues + overrides.unbuilt_variant_issues(document, base, item, known, partial_problems)


def _load_ca(
    document: Document, index: int, item: Any, where: Position | None
) -> tuple[DesiredCA | Unbuilt | None, list[Issue]]:
    """The CA at `index` of the file (`where` it is written) and its problems; if it is
    not valid, what the environment checks read of it (or None)."""
    base = (CAS_KEY, index)
    try:
        ca = CalculatedAttribute.model_validate(item, context=_DEFER_RULES)
    except ValidationError as exc:
        return placement.unbuilt(document, base, item, where), _invalid_ca(
            document, base, item, exc
        )
    problems = with_retyped(ca.problems(), retyped_operands(document, base, item))
    issues = _problem_issues(document, base, problems, ca.name)
    variants, variant_issues = overrides.variants(
        document, base, item, ca, problems, partial_problems
    )
    return (
        DesiredCA(
            ca,
            document.file,
            where.line if where else None,
            where.column if where else None,
            tuple(ca.environments) if ca.environments is not None else None,
            dict(variants),
            tuple(placement.mentions(document, base, ca.environments or (), ca.overrides or {})),
        ),
        issues + variant_issues,
    )


#: How a top-level value that is not a mapping is named in the error.
_KINDS: dict[type, str] = {list: "a list", int: "a number", float: "a number", bool: "a boolean"}
_IN_CA = re.compile(rf"{CAS_KEY}\[(\d+)\]")


def _in_cas(found: list[Issue], items: Any) -> list[Issue]:
    """Problems of the YAML itself (a duplicate key), each inside a CA shown relative to it
    and naming it, as the CA's other problems are."""
    shown = []
    for issue in found:
        match = _IN_CA.match(issue.path)
        index = int(match[1]) if match else -1
        if not isinstance(items, list) or not 0 <= index < len(items):
            shown.append(issue)
            continue
        item = items[index]
        name = item.get("name") if isinstance(item, dict) else None
        shown.append(_relative(issue, (CAS_KEY, index), name if isinstance(name, str) else None))
    return shown


#: What to do with YAML in the manifest tree that is no manifest.
STRAY_YAML = (
    "if this file is no manifest, name it in .reconcilerignore beside reconciler.yaml "
    "(patterns as in .gitignore)"
)


def _top_level(document: Document, data: dict[Any, Any]) -> list[Issue]:
    """The unknown top-level keys of a manifest file. A file without CAs none of whose keys
    looks like them is YAML of something else (a CI config, Helm values): one problem,
    whose way out is the ignore file, not a fix of each key."""
    # `x-...` keys are for YAML anchors shared by several CAs (as in docker-compose).
    unknown = [key for key in data if key != CAS_KEY and not key.startswith("x-")]
    hints = {key: suggest(key, [CAS_KEY]) for key in unknown}
    if unknown and CAS_KEY not in data and not any(hints.values()):
        keys = first_few([f"`{key}`" for key in unknown], ", ", " ")
        noun = "key" if len(unknown) == 1 else "keys"
        message = (
            f"unknown top-level {noun} {keys}; a manifest file holds `{CAS_KEY}:`; {STRAY_YAML}"
        )
        return [document.issue((unknown[0],), message, key=True)]
    return [
        document.issue(
            (key,),
            f"unknown top-level key `{key}`; "
            + (
                f"did you mean `{hints[key]}`?"
                if hints[key]
                else f"a manifest file holds `{CAS_KEY}:`"
            ),
            key=True,
        )
        for key in unknown
    ]


def parse_file(raw: bytes, display: str) -> tuple[FileResult, list[Any]]:
    """The CAs of one manifest file and its problems; also the raw CA items (for the cache)."""
    try:
        document = parse_bytes(raw, display)
        unreadable: list[Issue] = []
    except SourceError as exc:
        if exc.document is None:
            return FileResult([], exc.issues), []
        # Its data could be built (a duplicate key, say): every other problem is found too.
        document, unreadable = exc.document, exc.issues
    data = document.data
    if data is None:
        return FileResult([], unreadable), []
    if not isinstance(data, dict):
        got = _KINDS.get(type(data), "text")
        issue = document.issue((), f"expected a mapping with `{CAS_KEY}:` at the top, got {got}")
        return FileResult([], [*unreadable, issue]), []
    items = data.get(CAS_KEY)
    issues = _in_cas(unreadable, items) + _top_level(document, data)
    if items is None:
        return FileResult([], issues), []
    if not isinstance(items, list):
        issues.append(
            document.issue((CAS_KEY,), f"`{CAS_KEY}` must be a list of CAs (`- name: ...`)")
        )
        return FileResult([], issues), []
    cas: list[DesiredCA] = []
    unbuilt: list[Unbuilt] = []
    declared: list[Declared | DesiredCA] = []
    places = document.item_positions((CAS_KEY,), len(items))
    for index, (item, where) in enumerate(zip(items, places, strict=True)):
        desired, found = _load_ca(document, index, item, where)
        issues += found
        if isinstance(desired, DesiredCA):
            cas.append(desired)
        elif desired is not None:
            unbuilt.append(desired)
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str):
            line, column = (where.line, where.column) if where else (None, None)
            declared.append(Declared(name, document.file, line, column))
    issues.sort(key=lambda issue: (issue.line or 0, issue.column or 0))
    return FileResult(cas, issues, declared, unbuilt), items


def _placed_text(line: Any, column: Any, *texts: Any) -> bool:
    """Whether an entry's (line, column, text...) row has those types."""
    return _position(line) and _position(column) and all(type(t) is str for t in texts)


def _position(value: Any) -> bool:
    return value is None or type(value) is int


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


def _cached_record(
    facts: list[Any],
    canonical: CanonicalDefinition,
    source: CachedItems,
    index: int,
    where: str | None,
) -> CachedCA:
    """One CA (or one environment's variant of it) of an entry, its types checked: JSON
    decodes to exact types, so `type(...) is` says what isinstance would, faster (this
    runs for each of 10,000 CAs of a plan from the cache; the checks are written out, not
    called, for the same reason)."""
    name, description, active, renamed_from, protect = facts
    if not (
        type(name) is str
        and type(active) is bool
        and type(protect) is bool
        and type(canonical) is dict
        and (description is None or type(description) is str)
        and (renamed_from is None or type(renamed_from) is str)
    ):
        raise TypeError("not an entry of this version")
    return CachedCA(
        name, description, active, renamed_from, protect, canonical, source, index, where
    )


def _cached_desired(
    row: tuple[Any, ...], source: CachedItems, index: int, display: str
) -> DesiredCA:
    """One CA of a cache entry; TypeError (a miss) for anything not of the shape written.
    Most CAs name no environment: their empty rows build nothing."""
    (facts, (line, column), canonical, (environments, mentions, variants)) = row
    if not (
        (line is None or type(line) is int)
        and (column is None or type(column) is int)
        and (environments is None or type(environments) is list)
        and type(variants) is dict
    ):
        raise TypeError("not an entry of this version")
    for environment, path, line_of, column_of in mentions:
        if not _placed_text(line_of, column_of, environment, path):
            raise TypeError("not an entry of this version")
    return DesiredCA(
        _cached_record(facts, canonical, source, index, None),
        display,
        line,
        column,
        tuple(environments) if environments is not None else None,
        {
            environment: _cached_record(
                variant_facts, variant_canonical, source, index, environment
            )
            for environment, (variant_facts, variant_canonical) in variants.items()
        }
        if variants
        else {},
        tuple(Mention(*mention) for mention in mentions) if mentions else (),
    )


def _from_cache(entry: dict[str, Any], display: str, raw: bytes) -> FileResult:
    """A file known to be free of errors: what this code found in it, without the YAML.
    Raises TypeError, ValueError or KeyError for an entry of another shape (a miss)."""
    if not isinstance(entry["items"], str):
        raise TypeError("not an entry of this version")
    source = CachedItems(entry["items"], display, lambda: parse_file(raw, display)[1])
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
        if not _placed_text(line, column, path, message):
            raise TypeError("not an entry of this version")
        warnings.append(Issue(display, line, column, path, message, "warning"))
    return FileResult(cas, warnings, list(cas))


@dataclass(frozen=True)
class Source:
    """One manifest file's bytes, and its cache key (empty with the cache off)."""

    path: Path
    display: str
    raw: bytes
    key: str


def cached(source: Source, cache_root: Path) -> FileResult | None:
    """What the cache kept of the file, or None (a miss: none, or not what this code
    would have written)."""
    entry = cache.read(cache_root, source.key)
    if entry is None:
        return None
    return _entry_result(entry, source)


def _entry_result(entry: dict[str, Any], source: Source) -> FileResult | None:
    try:
        return _from_cache(entry, source.display, source.raw)
    except (ValidationError, ValueError, TypeError, KeyError):
        return None


def entry_of(result: FileResult, items: list[Any]) -> dict[str, Any]:
    """What the cache keeps of an error-free file: its data, and what this code found."""
    return {
        "items": items,
        "facts": [_facts(d.ca) for d in result.cas],
        "positions": [[d.line, d.column] for d in result.cas],
        "canonical": [d.ca.canonical for d in result.cas],
        "environments": [_environment_row(d) for d in result.cas],
        "warnings": [[i.line, i.column, i.path, i.message] for i in result.issues],
    }


def _has_errors(result: FileResult) -> bool:
    return any(issue.severity == "error" for issue in result.issues)


def parsed(source: Source, cache_root: Path | None = None) -> FileResult:
    """The CAs of one manifest file and the problems found in it, from its YAML; an
    error-free file is kept in the cache (when there is one)."""
    result, items = parse_file(source.raw, source.display)
    if cache_root is not None and not _has_errors(result):
        cache.write(cache_root, source.key, entry_of(result, items))
    return result


def load_file(source: Source, cache_root: Path | None = None) -> FileResult:
    """The CAs of one manifest file and the problems found in it (cached by content)."""
    found = cached(source, cache_root) if cache_root is not None else None
    return found if found is not None else parsed(source, cache_root)


#: A worker's job: a file's bytes, its name as shown, its cache key, the cache (or None).
Job = tuple[bytes, str, str, "Path | None"]


def cache_entry(job: Job) -> bytes | None:
    """A worker process's part of a first load: one file's cache entry, encoded and kept
    in the cache as a serial load would keep it (sealing and writing it there, beside
    the parsing, instead of in the command's process); None for a file with errors (or
    data JSON cannot hold), which the loader then reads itself, to report its problems
    as a serial load would."""
    raw, display, key, cache_root = job
    result, items = parse_file(raw, display)
    if _has_errors(result):
        return None
    try:
        payload = cache.encoded(entry_of(result, items))
    except orjson.JSONEncodeError:
        return None
    if cache_root is not None:
        cache.store(cache_root, key, payload)
    return payload


def from_entry(source: Source, payload: bytes | None, cache_root: Path | None) -> FileResult:
    """The result of one file a worker parsed (`cache_entry`, which kept it in the cache),
    read as a cached file is; a file with errors is read here."""
    if payload is not None:
        result = _entry_result(orjson.loads(payload), source)
        if result is not None:
            return result
    return parsed(source, cache_root)
