"""Field-level changes between two canonical documents, for plans (computed with deepdiff).

Only called for CAs that differ; paths read `definition.conditions[0].value`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from deepdiff import DeepDiff

from reconciler.plan.value import Change

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


def _deep_changes(prefix: str, before: Any, after: Any) -> list[Change]:
    """deepdiff of one top-level field's structure, with paths under `prefix`."""
    diff = DeepDiff(before, after, verbose_level=2)

    def path(deepdiff_path: str) -> str:
        rest = _dotted(deepdiff_path)
        if not rest:
            return prefix
        return f"{prefix}{rest}" if rest.startswith("[") else f"{prefix}.{rest}"

    found: list[Change] = []
    for kind in ("values_changed", "type_changes"):
        for where, detail in diff.get(kind, {}).items():
            old, new = detail.get("old_value"), detail.get("new_value")
            found.append(Change(path=path(where), before=old, after=new))
    for kind, side in (
        ("dictionary_item_added", "after"),
        ("iterable_item_added", "after"),
        ("dictionary_item_removed", "before"),
        ("iterable_item_removed", "before"),
    ):
        for where, value in diff.get(kind, {}).items():
            found.append(Change(path=path(where), **{side: value}))
    return found


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The changed leaves from `before` to `after`, in path order.

    Top-level fields are compared directly; deepdiff walks only the structures that differ
    (a description change never pays for a definition diff).
    """
    found: list[Change] = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, (dict, list)) and isinstance(new, (dict, list)):
            found += _deep_changes(key, old, new)
        else:
            found.append(Change(path=key, before=old, after=new))
    found.sort(key=lambda change: change.path)
    return found
