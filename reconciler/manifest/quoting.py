"""Operands of string conditions that YAML read as something else than the text written.

Part of manifest loading, beside the models' rules: a string condition compares text, but
YAML reads an unquoted `007` as the number 7, `1.10` as 1.1, `0x1F` as 31 and
`2024-01-01 10:00:00 +02:00` as an instant, and the text sent would be `7`, `1.1`, `31`.
The models see only the value; the text as written is in the document. Where the two
differ, the user is told to quote it. Where they agree (`5`, `true`, `2024-01-01`), the
value means what it says and is taken.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from reconciler.errors import DataPath
from reconciler.manifest.document import Document
from reconciler.models import Problem
from reconciler.models.values import canonical_text

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
        if not isinstance(condition, dict) or condition.get("type") != "string":
            continue
        where = (*at, "conditions", index)
        found += _operand(document, base, (*where, "value"), condition.get("value"))
        values = condition.get("values")
        if isinstance(values, list):
            for position, value in enumerate(values):
                found += _operand(document, base, (*where, "values", position), value)
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
    field = "item" if path[-2] == "values" else "value"
    message = (
        f"{field} {written} is read as {_kind(value)} {text}; quote it ({json.dumps(written)}) "
        "to compare the text"
    )
    return [Problem(path, message)]


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "the boolean"
    if isinstance(value, datetime):
        return "the date and time"
    if isinstance(value, date):
        return "the date"
    return "the number"
