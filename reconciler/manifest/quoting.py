"""Condition operands that YAML read as something else than what was written.

Part of manifest loading, beside the models' rules: a string condition compares text, but
YAML reads an unquoted `007` as the number 7, `1.10` as 1.1, `0x1F` as 31 and
`2024-01-01 10:00:00 +02:00` as an instant, and the text sent would be `7`, `1.1`, `31`.
A number condition compares numbers of any size, but YAML reads an unquoted decimal
fraction or exponent as a float: `0.12345678901234567890` keeps 17 digits, `1e400` is
infinity, and two different numbers of a list may become one. The models see only the
value; the text as written is in the document. Where the two differ, the user is told to
quote it. Where they agree (`5`, `true`, `2024-01-01`, `1.5`), the value means what it
says and is taken.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from reconciler.errors import DataPath
from reconciler.manifest.document import Document
from reconciler.models import Problem
from reconciler.models.values import canonical_number, canonical_text

OVERRIDES = "overrides"


def retyped_operands(document: Document, base: DataPath, item: Any) -> list[Problem]:
    """A problem (path relative to the CA at `base`) for each operand of a string
    condition whose text as written is not the text that would be sent."""
    if not isinstance(item, dict):
        return []
    found = _in_definition(document, base, ("definition",), item.get("definition"))
    overrides = item.get(OVERRIDES)
    if isinstance(overrides, dict):
        for environment, patch in overrides.items():
            if isinstance(patch, dict):
                at: DataPath = (OVERRIDES, environment, "definition")
                found += _in_definition(document, base, at, patch.get("definition"))
    return found


def _in_definition(
    document: Document, base: DataPath, at: DataPath, definition: Any
) -> list[Problem]:
    conditions = definition.get("conditions") if isinstance(definition, dict) else None
    if not isinstance(conditions, list):
        return []
    found: list[Problem] = []
    for index, condition in enumerate(conditions):
        kind = condition.get("type") if isinstance(condition, dict) else None
        if not isinstance(kind, str):
            continue  # not a condition, or no type to read it by: the model's rules say so
        check, keys = _CHECKS.get(kind, (None, ()))
        if check is None:
            continue
        where = (*at, "conditions", index)
        for key in keys:
            if key in condition:
                found += check(document, base, (*where, key), condition[key])
        values = condition.get("values")
        if isinstance(values, list):
            for position, value in enumerate(values):
                found += check(document, base, (*where, "values", position), value)
    return found


def _operand(document: Document, base: DataPath, path: DataPath, value: Any) -> list[Problem]:
    if value is None or isinstance(value, str):
        return []
    if not isinstance(value, (bool, int, float, date)):
        return []  # not a scalar: the model's own rules say so
    written = document.plain_text((*base, *path))
    text = canonical_text(value)
    if written is None or written == text:
        return []
    message = (
        f"{_field(path)} {written} is read as {_kind(value)} {text}; quote it "
        f"({json.dumps(written)}) to compare the text"
    )
    return [Problem(path, message)]


def _number(document: Document, base: DataPath, path: DataPath, value: Any) -> list[Problem]:
    """A number YAML read as a float that is not the number written (digits past the 17th
    lost, or infinity): the number sent would not be the one written."""
    if not isinstance(value, float):
        return []  # integers YAML reads exactly; text is read by the model's own rules
    written = document.plain_text((*base, *path))
    if written is None:
        return []
    try:
        meant = canonical_number(written)
    except ValueError:
        return []  # not a plain decimal (`1_000.5`, `.inf`): YAML's reading is all there is
    try:
        read = canonical_number(value)
    except ValueError:
        read = repr(value)
    if read == meant:
        return []
    message = (
        f"{_field(path)} {written} is read by YAML as the float {read}; quote it "
        f"({json.dumps(written)}) to send the number written"
    )
    return [Problem(path, message)]


def _field(path: DataPath) -> str:
    return "item" if path[-2] == "values" else "value"


def with_retyped(problems: list[Problem], retyped: list[Problem]) -> list[Problem]:
    """`problems` and the `retyped` operands, the latter in place of what the rules say
    of the same operand (`inf is not a finite number` where `1e400` was written)."""
    explained = {problem.path for problem in retyped}
    return [p for p in problems if p.path not in explained] + retyped


Check = Callable[[Document, DataPath, DataPath, Any], list[Problem]]
#: Per condition type: the check of its operands, and its single operands (string
#: conditions take no range).
_CHECKS: dict[object, tuple[Check, tuple[str, ...]]] = {
    "string": (_operand, ("value",)),
    "number": (_number, ("value", "min_value", "max_value")),
}


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "the boolean"
    if isinstance(value, datetime):
        return "the date and time"
    if isinstance(value, date):
        return "the date"
    return "the number"
