"""Field-level changes between two canonical documents, for plans.

Only called for CAs that differ. Both sides are walked together, so every change keeps its
path as data (`("definition", "conditions", 0, "value")`) and is spelled once, by
`errors.format_path`: `definition.conditions[0].value`. Lists of mappings are compared item
by item; lists of scalars (in_list values) too, unless aligning them like a text diff says
it in fewer changes (inserting one value is one `+`). These are deepdiff's rules for
ordered lists, which the plans followed before this module stopped using it.

A CA's definition is first shown as its manifest reads (`as_written`): the canonical form
sorts conditions and keeps operands as text, so a plan would say `conditions[1]` of the
first condition written and `"50"` of `value: 50`. Conditions are named by the attribute
they test (`conditions["Total Amount"]`, with the operator, then the operand, when several
test one attribute) and paired by that name; operands, dates and numbers read as written.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from decimal import Decimal
from difflib import SequenceMatcher
from typing import Any

from reconciler.errors import DataPath, ItemName, format_path
from reconciler.models.values import format_number, parse_instant, parse_number
from reconciler.plan.value import Change

_SCALARS = (str, int, float, bool, type(None))
#: Mappings sharing fewer of their keys than this are shown as replaced, not field by field.
_SHARED_KEYS = 0.33
_REMOVED = object()
_ADDED = object()
#: (path, before, after), with _ADDED before an added item and _REMOVED after a removed one.
_Found = tuple[DataPath, Any, Any]


class Named(dict[ItemName, Any]):
    """List items keyed by their names (conditions): compared name by name, however few
    names the two sides share."""


#: Integers a JSON reader takes exactly; larger ones are shown as the text they are.
_EXACT_INTEGER = 2**53


def _number(text: str) -> int | float | str:
    try:
        number = parse_number(text)
    except ValueError:
        return text
    # Compared without arithmetic: abs() of `1e100000000` overflows the decimal context.
    if number == number.to_integral_value() and -_EXACT_INTEGER < number < _EXACT_INTEGER:
        return int(number)
    shown = float(number)
    if math.isfinite(shown) and format_number(Decimal(repr(shown))) == text:
        return shown
    return text


def _day(text: Any) -> Any:
    """`2019-10-01T00:00:00` reads `2019-10-01`, as written; other instants stay whole."""
    if not isinstance(text, str):
        return text
    try:
        moment = parse_instant(text)
    except ValueError:
        return text
    return moment.date().isoformat() if moment.time() == moment.time().min else text


def _operand(kind: Any, text: Any) -> Any:
    """A canonical operand (text) as a manifest writes it: 50, true, 2024-01-31."""
    if not isinstance(text, str):
        return text
    if kind == "number":
        return _number(text)
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return _day(text) if kind == "date" else text


def _condition(condition: dict[str, Any]) -> dict[str, Any]:
    kind = condition.get("type")
    shown = dict(condition)
    for key in ("value", "min_value", "max_value"):
        shown[key] = _operand(kind, condition.get(key))
    if isinstance(condition.get("values"), list):
        shown["values"] = [_operand(kind, value) for value in condition["values"]]
    return shown


def _operand_words(condition: dict[str, Any]) -> str:
    if condition.get("values") is not None:
        return json.dumps(condition["values"], ensure_ascii=False)
    if condition.get("min_value") is not None or condition.get("max_value") is not None:
        return f"{condition.get('min_value')}..{condition.get('max_value')}"
    value = condition.get("value")
    return "" if value is None else json.dumps(value, ensure_ascii=False)


def _name(condition: dict[str, Any], among: list[dict[str, Any]]) -> str:
    """The shortest name that tells `condition` from the others of its side: the
    attribute, then with the operator, then with the operand too."""
    attribute = condition.get("attribute_name")
    name = json.dumps(attribute, ensure_ascii=False)
    same = [other for other in among if other.get("attribute_name") == attribute]
    if len(same) == 1:
        return name
    name += f" {condition.get('operator')}"
    same = [other for other in same if other.get("operator") == condition.get("operator")]
    if len(same) == 1:
        return name
    return f"{name} {_operand_words(_condition(condition))}".rstrip()


_SAME_TEST = (
    lambda a, b: a == b,
    lambda a, b: (
        (a.get("attribute_name"), a.get("operator")) == (b.get("attribute_name"), b.get("operator"))
    ),
    lambda a, b: a.get("attribute_name") == b.get("attribute_name"),
)


def pair(before: list[Any], after: list[Any]) -> list[tuple[int | None, int | None]]:
    """Conditions of both sides paired (indexes; None: the other side has none): equal
    ones first, then those testing one attribute with one operator, then one attribute."""
    free = list(range(len(before)))
    unpaired = list(range(len(after)))
    pairs: list[tuple[int | None, int | None]] = []
    for same in _SAME_TEST:
        for j in list(unpaired):
            i = next((i for i in free if same(before[i], after[j])), None)
            if i is not None:
                free.remove(i)
                unpaired.remove(j)
                pairs.append((i, j))
    return pairs + [(None, j) for j in unpaired] + [(i, None) for i in free]


def named_conditions(before: list[Any], after: list[Any]) -> tuple[Named, Named]:
    """Both sides' conditions keyed by name, a pair under one name (the name of the side
    that has it, the desired one first); a name given twice takes `#2`, `#3`."""
    shown_before, shown_after = Named(), Named()
    taken: set[str] = set()
    for i, j in pair(before, after):
        name = _name(after[j], after) if j is not None else _name(before[i or 0], before)
        unique, count = name, 1
        while unique in taken:
            count += 1
            unique = f"{name} #{count}"
        taken.add(unique)
        if i is not None:
            shown_before[ItemName(unique)] = _condition(before[i])
        if j is not None:
            shown_after[ItemName(unique)] = _condition(after[j])
    return shown_before, shown_after


def _definition(definition: Any, conditions: Named) -> Any:
    if not isinstance(definition, dict):
        return definition
    shown = dict(definition)
    shown["conditions"] = conditions
    for part, key in (("time_period", "date"), ("seeding", "cutoff_date")):
        if isinstance(shown.get(part), dict):
            shown[part] = {**shown[part], key: _day(shown[part].get(key))}
    return shown


def as_written(before: Any, after: Any) -> tuple[Any, Any]:
    """Two canonical definitions (or None) as a reader compares them: conditions named
    and paired, operands and dates as a manifest writes them."""
    conditions = [d.get("conditions") or [] if isinstance(d, dict) else [] for d in (before, after)]
    named_before, named_after = named_conditions(*conditions)
    return _definition(before, named_before), _definition(after, named_after)


def ca_changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The changes between two CA documents (`name`, `description`, `definition`), the
    definitions as written (`as_written`)."""
    shown_before, shown_after = as_written(before.get("definition"), after.get("definition"))
    return changes_between(
        {**before, "definition": shown_before}, {**after, "definition": shown_after}
    )


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
        named = isinstance(before, Named) or isinstance(after, Named)
        if (
            not named
            and len(keys) > 1
            and len(before.keys() & after.keys()) < _SHARED_KEYS * len(keys)
        ):
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
