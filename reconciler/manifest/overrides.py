"""Per-environment CAs (SPEC §7): `overrides:` changes a CA in one environment. Part of
manifest loading.

A CA's variant for an environment is the CA as written with that environment's override
deep-merged onto it (mappings merge key by key; lists and scalars replace; null removes a
key), validated as a whole CA; its problems are located at the override's lines when the
override wrote the field, else at the CA's own. Where a CA exists and the environment
names it mentions are checked against `reconciler.yaml` in `placement`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from reconciler.errors import DataPath, Issue, format_path, quoted
from reconciler.manifest.diagnostics import explain
from reconciler.manifest.document import SAME_FIELD, Document
from reconciler.models import CalculatedAttribute, Problem
from reconciler.settings import EnvironmentName

OVERRIDES = "overrides"
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


def written_in_override(patch: Any, path: Sequence[str | int]) -> bool:
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


def _wrote_mapping(patch: Any, path: Sequence[str | int]) -> bool:
    """Whether the override wrote the mapping at `path` itself (a key there would be its)."""
    current = patch
    for part in path:
        if not isinstance(current, dict):
            return False
        key = _field(current, part) if isinstance(part, str) else part
        if key not in current:
            return False
        current = current[key]
    return isinstance(current, dict)


#: How a rule asks to remove a field; in an override, the field is removed by `null`.
_REMOVE = "; remove it"


def _inherited(message: str, field: str) -> str:
    """`message` about a field the CA as written sets, said where the override can undo it:
    removing it from the CA would change every environment."""
    if not message.endswith(_REMOVE):
        return message
    return (
        f"{message.removesuffix(_REMOVE)}; the CA as written sets it for every environment: "
        f"write `{field}: null` here to remove it in this one"
    )


@dataclass(frozen=True)
class _Where:
    """Locates a variant's problems: in the override when it wrote the field, or the
    mapping the field is in (a `time_period` of another type than the CA's)."""

    document: Document
    base: tuple[Any, ...]
    item: dict[str, Any]
    environment: str

    def issue(
        self, path: Sequence[str | int], message: str, severity: str, *, key: bool = False
    ) -> Issue:
        patch = (self.item.get(OVERRIDES) or {}).get(self.environment) or {}
        written = written_in_override(patch, path)
        inherited = not written and len(path) > 1 and _wrote_mapping(patch, path[:-1])
        if inherited:
            message = _inherited(message, str(path[-1]))
        origin = (OVERRIDES, self.environment) if written or inherited else ()
        # A field the override did not write is found at the mapping it did write.
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


def _new(known: Known, patch: Any, environment: str, path: DataPath, message: str) -> bool:
    """Whether a variant's problem is its override's to say: a problem of the CA as written
    is only where the override wrote the field, and a field of the override the CA's own
    problems speak of (an operand YAML read as something else than written) is not spoken
    of twice."""
    said, spoken = known
    if (OVERRIDES, environment, *path) in spoken:
        return False
    return (path, message) not in said or written_in_override(patch, path)


def _variant(
    located: _Where, known: Known, partial: Callable[[Any], list[Problem]]
) -> tuple[CalculatedAttribute | None, list[Issue]]:
    """The CA in `located.environment` (None if it has errors there), and the problems its
    override makes."""
    environment = located.environment
    data = variant_data(located.item, environment)
    patch = (located.item.get(OVERRIDES) or {}).get(environment) or {}
    try:
        variant = CalculatedAttribute.model_validate(data, context=_DEFER_RULES)
    except ValidationError as exc:
        errors = explain(exc, CalculatedAttribute, data)
        invalid = {path for path, _, _ in errors}  # a rule over them would say it again
        issues = [
            located.issue(path, message, "error", key=is_key)
            for path, message, is_key in errors
            if _new(known, patch, environment, path, message)
        ]
        issues += [
            located.issue(p.path, p.message, p.severity)
            for p in partial(data)
            if p.path not in invalid and _new(known, patch, environment, p.path, p.message)
        ]
        return None, issues
    problems = [
        problem
        for problem in variant.problems()
        if _new(known, patch, environment, problem.path, problem.message)
    ]
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
    for environment in overridden(item):
        issues += _variant(_Where(document, base, item, environment), known, partial)[1]
    return issues


def environment_name(value: Any) -> str | None:
    """`value` if it is a valid environment name, else None."""
    try:
        return _ENVIRONMENT.validate_python(value)
    except ValidationError:
        return None


def overridden(item: Any, *, merged: bool = True) -> list[str]:
    """The environments a CA not valid as written overrides under a valid name: with a
    mapping (`merged`), or at all."""
    written = item.get(OVERRIDES) if isinstance(item, dict) else None
    if not isinstance(written, dict):
        return []
    return [
        environment
        for environment, patch in written.items()
        if (isinstance(patch, dict) or not merged) and environment_name(environment) is not None
    ]
