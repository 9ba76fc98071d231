"""Field-level changes between two canonical documents, for plans (computed with deepdiff).

Only called for CAs that differ; paths read `definition.conditions[0].value`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from deepdiff import DeepDiff

from reconciler.plan import Change

_PART = re.compile(r"\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\d+)\]")


def _dotted(deepdiff_path: str) -> str:
    """`root['definition']['conditions'][0]` -> `definition.conditions[0]`."""
    text = ""
    for part in _PART.findall(deepdiff_path.removeprefix("root")):
        if part.isdigit():
            text += f"[{part}]"
        else:
            key = part[1:-1]
            text += f".{key}" if text else key
    return text


def leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a JSON-like value with its dotted path."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        for index, item in enumerate(value):
            yield from leaves(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The changed leaves from `before` to `after`, in path order."""
    diff = DeepDiff(before, after, verbose_level=2)
    found: list[Change] = []
    for kind in ("values_changed", "type_changes"):
        for path, detail in diff.get(kind, {}).items():
            found.append(
                Change(
                    path=_dotted(path),
                    before=detail.get("old_value"),
                    after=detail.get("new_value"),
                )
            )
    for kind, side in (
        ("dictionary_item_added", "after"),
        ("iterable_item_added", "after"),
        ("dictionary_item_removed", "before"),
        ("iterable_item_removed", "before"),
    ):
        for path, value in diff.get(kind, {}).items():
            found.append(Change(path=_dotted(path), **{side: value}))
    found.sort(key=lambda change: change.path)
    return found
