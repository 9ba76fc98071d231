"""Field-level changes between two canonical documents, for plans.

Only called for CAs that differ. Both sides are walked together, so every change keeps its
path as data (`("definition", "conditions", 0, "value")`) and is spelled once, by
`errors.format_path`: `definition.conditions[0].value`. Lists of mappings (conditions) are
compared item by item; lists of scalars (in_list values) too, unless aligning them like a
text diff says it in fewer changes (inserting one value is one `+`). These are deepdiff's
rules for ordered lists, which the plans followed before this module stopped using it.
"""

from __future__ import annotations

from collections.abc import Iterator
from difflib import SequenceMatcher
from typing import Any

from reconciler.errors import DataPath, format_path
from reconciler.plan.value import Change

_SCALARS = (str, int, float, bool, type(None))
#: Mappings sharing fewer of their keys than this are shown as replaced, not field by field.
_SHARED_KEYS = 0.33
_REMOVED = object()
_ADDED = object()
#: (path, before, after), with _ADDED before an added item and _REMOVED after a removed one.
_Found = tuple[DataPath, Any, Any]


def leaves(value: Any, prefix: DataPath = ()) -> Iterator[tuple[DataPath, Any]]:
    """Every leaf of a JSON-like value with its path (a list of scalars is one leaf)."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, (*prefix, key))
    elif isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        for index, item in enumerate(value):
            yield from leaves(item, (*prefix, index))
    else:
        yield prefix, value


def _all_scalars(items: list[Any]) -> bool:
    return all(isinstance(item, _SCALARS) for item in items)


def _walk(before: Any, after: Any, path: DataPath) -> Iterator[_Found]:
    if before is after or (isinstance(before, (dict, list)) and before == after):
        return  # most of a changed CA is unchanged: one comparison, no walk
    if isinstance(before, dict) and isinstance(after, dict):
        keys = before.keys() | after.keys()
        if len(keys) > 1 and len(before.keys() & after.keys()) < _SHARED_KEYS * len(keys):
            yield path, before, after  # hardly the same mapping: one change, not many
            return
        for key in keys:
            if key not in after:
                yield (*path, key), before[key], _REMOVED
            elif key not in before:
                yield (*path, key), _ADDED, after[key]
            else:
                yield from _walk(before[key], after[key], (*path, key))
    elif isinstance(before, list) and isinstance(after, list):
        yield from _list(before, after, path)
    elif before != after or type(before) is not type(after):
        yield path, before, after


def _list(before: list[Any], after: list[Any], path: DataPath) -> list[_Found]:
    paired = list(_pairs(before, 0, after, 0, path))
    if not (_all_scalars(before) and _all_scalars(after)):
        return paired
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    aligned = [
        found
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
        for found in _pairs(before[i1:i2], i1, after[j1:j2], j1, path)
    ]
    return aligned if len(aligned) < len(paired) else paired


def _pairs(
    before: list[Any], start: int, after: list[Any], new_start: int, path: DataPath
) -> Iterator[_Found]:
    """Items side by side: pairs are compared (at the old index), the rest removed or added."""
    for offset in range(max(len(before), len(after))):
        if offset >= len(after):
            yield (*path, start + offset), before[offset], _REMOVED
        elif offset >= len(before):
            yield (*path, new_start + offset), _ADDED, after[offset]
        else:
            yield from _walk(before[offset], after[offset], (*path, start + offset))


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The changed leaves from `before` to `after`, in path order."""
    found = list(_walk(before, after, ()))
    # A list item removed and another added at the same index is that item changed.
    removed = {path: old for path, old, new in found if new is _REMOVED}
    added = {path: new for path, old, new in found if old is _ADDED}
    changes = [
        Change(
            path=format_path(path),
            before=None if old is _ADDED else old,
            after=added[path] if new is _REMOVED and path in added else _absent(new),
        )
        for path, old, new in found
        if not (old is _ADDED and path in removed)
    ]
    changes.sort(key=lambda change: change.path)
    return changes


def _absent(value: Any) -> Any:
    return None if value is _REMOVED else value
