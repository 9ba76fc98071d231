"""Live state: a CA as the Platform API returns it. Tolerant: unknown fields of a CA are
ignored, missing ones are None, and both spellings of the data point key are read. Strict
where it matters: a definition whose fields have the wrong types fails the reading of the
list. A definition's fields the models do not know (one newer than the docs, set in the UI)
are kept, unread, so that a plan can say which ones replacing the definition drops
(`LiveCA.unknown_fields`); no canonical form or comparison reads them, only the fingerprint
a saved plan keeps (one set or changed in the UI since makes the plan stale).

`LiveCA.active` and `LiveCA.draft` reduce its definitions to the same form as a manifest
definition (models.canonical). In a large workspace most CAs equal their manifests:
`LiveCA.definitions_as(desired)` shows that with one comparison of what the API sent
instead of a reduction, and changes nothing in the model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from reconciler.errors import ApiError, DataPath, first_few, format_path, quoted
from reconciler.models.canonical import (
    NON_TEXT_LEAVES,
    CanonicalCondition,
    CanonicalDefinition,
    canonical_definition,
    fingerprint,
)


def _same_condition(raw: object, want: CanonicalCondition) -> bool:
    """Whether a raw condition that is not `want` as it is holds the same in_list values
    in another order. A canonical condition holds only text and null, which Python
    compares exactly, and no in_list value twice."""
    if not isinstance(raw, dict):
        return False
    value = want["values"]
    have = raw.get("values")
    if not isinstance(have, list) or not isinstance(value, list) or len(have) != len(value):
        return False
    # Every other key the same, in one comparison of dicts.
    if {**raw, "values": value} != want:
        return False
    try:
        # Text values sort as the canonical form sorts them: one sort shows most
        # permutations (numbers sort otherwise; values of mixed types not at all).
        if sorted(have) == value:
            return True
    except TypeError:
        pass
    try:
        return set(have) == set(value)
    except TypeError:  # an unhashable value
        return False


def _means_exactly(raw: Mapping[str, Any], want: CanonicalDefinition) -> bool:
    """Whether a raw definition is the canonical form `want`, up to the order of its
    conditions and in_list values (which the canonical form sorts)."""
    wanted = want["conditions"]
    if {**raw, "conditions": wanted} != want:
        return False
    # Python takes 1.0 and true for 1: the leaves that are not text must have its type.
    for outer, inner in NON_TEXT_LEAVES:
        part: Any = want[outer]  # type: ignore[literal-required]
        if part is not None and type(raw[outer][inner]) is not type(part[inner]):
            return False
    conditions = raw["conditions"]
    if conditions == wanted:
        return True
    if not isinstance(conditions, list) or len(conditions) != len(wanted):
        return False
    unmatched: list[CanonicalCondition] = list(wanted)
    for condition in conditions:
        if condition in unmatched:
            unmatched.remove(condition)
            continue
        for index, candidate in enumerate(unmatched):
            if _same_condition(condition, candidate):
                del unmatched[index]
                break
        else:
            return False
    return True


class _Live(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


# A definition is read as plain data of these shapes (pydantic checks the types, keeps
# unknown keys unchecked and absent ones absent): checking every definition of a list this
# way costs much less than building models of them (docs/performance.md).
_DATA = ConfigDict(extra="allow")


@with_config(_DATA)
class LiveCondition(TypedDict, total=False):
    type: str | None
    operator: str | None
    attribute_name: str | None
    value: Any
    values: list[Any] | None
    min_value: Any
    max_value: Any


@with_config(_DATA)
class LiveDatapoint(TypedDict, total=False):
    type: str | None
    event_name: str | None
    event_type: str | None
    custom_event_type: str | None
    attribute_name: str | None
    attribute_category: str | None
    use_product_quantity: bool | None


@with_config(_DATA)
class LiveTimePeriod(TypedDict, total=False):
    type: str | None
    date: Any
    within: Any
    within_unit: str | None


@with_config(_DATA)
class LiveSeeding(TypedDict, total=False):
    cutoff_date: Any


@with_config(_DATA)
class LiveDefinitionData(TypedDict, total=False):
    """A definition as the API returned it (`datapoint` or `data_point`: both spellings)."""

    recipe_type: str | None
    datapoint: LiveDatapoint | None
    data_point: LiveDatapoint | None
    conditions: list[LiveCondition] | None
    calculation_type: str | None
    time_period: LiveTimePeriod | None
    seeding: LiveSeeding | None


_DATAPOINT_KEYS = frozenset(LiveDatapoint.__annotations__)
#: The fields each part of a definition may hold, by the key that holds the part.
_PART_KEYS = {
    "datapoint": _DATAPOINT_KEYS,
    "data_point": _DATAPOINT_KEYS,
    "time_period": frozenset(LiveTimePeriod.__annotations__),
    "seeding": frozenset(LiveSeeding.__annotations__),
}
_DEFINITION_KEYS = frozenset(LiveDefinitionData.__annotations__)
_CONDITION_KEYS = frozenset(LiveCondition.__annotations__)


def unknown_items(data: Mapping[str, Any] | None) -> list[tuple[DataPath, Any]]:
    """The fields of a definition read from the API that the models do not know, at any
    depth, with their values, in the order sent (an unknown field holding an object is one
    field)."""
    if data is None:
        return []
    found: list[tuple[DataPath, Any]] = []
    # Most objects hold none: a test of their keys as a set is all they cost.
    for key, value in data.items():
        if key not in _DEFINITION_KEYS:
            found.append(((key,), value))
        elif value is None:
            continue
        elif key == "conditions":
            for index, condition in enumerate(value):
                if not condition.keys() <= _CONDITION_KEYS:
                    found += [
                        (("conditions", index, k), v)
                        for k, v in condition.items()
                        if k not in _CONDITION_KEYS
                    ]
        elif key in _PART_KEYS and not value.keys() <= _PART_KEYS[key]:
            found += [((key, k), v) for k, v in value.items() if k not in _PART_KEYS[key]]
    return found


def unknown_fields(data: Mapping[str, Any] | None) -> list[DataPath]:
    """The paths of `unknown_items(data)`."""
    return [path for path, _ in unknown_items(data)]


class _Fields:
    """A JSON object's fields as attributes, None when absent: how models.canonical reads
    live data (its protocols are the manifest models' attributes)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        return self._data.get(name)


def _fields(data: Mapping[str, Any] | None) -> _Fields | None:
    return None if data is None else _Fields(data)


class _DefinitionFields(_Fields):
    __slots__ = ()

    @property
    def datapoint(self) -> _Fields | None:
        data = self._data
        return _fields(data["datapoint"] if "datapoint" in data else data.get("data_point"))

    @property
    def conditions(self) -> list[_Fields] | None:
        conditions = self._data.get("conditions")
        return None if conditions is None else [_Fields(c) for c in conditions]

    @property
    def time_period(self) -> _Fields | None:
        return _fields(self._data.get("time_period"))

    @property
    def seeding(self) -> _Fields | None:
        return _fields(self._data.get("seeding"))


def canonical_live(data: LiveDefinitionData) -> CanonicalDefinition:
    """The canonical form of a definition read from the API."""
    return canonical_definition(_DefinitionFields(data))


_DEFINITION = TypeAdapter(LiveDefinitionData)


class LiveDefinition:
    """One definition read on its own (a request body, a test's API example)."""

    __slots__ = ("canonical", "data")

    def __init__(self, data: LiveDefinitionData) -> None:
        self.data = data
        self.canonical = canonical_live(data)

    @classmethod
    def read(cls, raw: object) -> LiveDefinition:
        """Raises pydantic's ValidationError when `raw` is no definition."""
        return cls(_DEFINITION.validate_python(raw))


def _meaning(
    data: LiveDefinitionData | None, desired: CanonicalDefinition
) -> CanonicalDefinition | None:
    """`desired` itself when the API sent exactly that canonical form (up to the order of
    its lists), without reducing the definition; otherwise its canonical form.

    A canonical form is its own canonical form, and order does not change a meaning
    (property tests hold both), so reducing such a definition would only rebuild
    `desired`. The comparison is exact: same keys, same values of the same types.
    """
    if data is None:
        return None
    if _means_exactly(data, desired):
        return desired
    return canonical_live(data)


class LiveCA(_Live):
    """One CA of the list or single GET. Its definitions are read with it: a definition
    the API garbled fails the reading of the list, naming the CA."""

    id: int
    name: str
    description: str | None = None
    active_definition: LiveDefinitionData | None = None
    draft_definition: LiveDefinitionData | None = None
    audience_count: int | None = None
    activated_on: str | None = None
    # Also sent, and not read (each field read costs at 10,000 CAs): activated_by,
    # created_on, created_by, last_modified_on, last_modified_by.

    @property
    def was_activated(self) -> bool:
        """Names are read-only once a CA has been activated (even if later edited)."""
        return self.active_definition is not None or bool(self.activated_on)

    @cached_property
    def active(self) -> CanonicalDefinition | None:
        """The active definition's canonical form (a memo of the field above)."""
        data = self.active_definition
        return None if data is None else canonical_live(data)

    @cached_property
    def held_draft(self) -> CanonicalDefinition | None:
        """The draft definition as stored, even when it equals the active one."""
        data = self.draft_definition
        return None if data is None else canonical_live(data)

    @cached_property
    def draft(self) -> CanonicalDefinition | None:
        """The pending draft; a draft equal to the active definition counts as no draft."""
        draft = self.held_draft
        return None if draft is None or draft == self.active else draft

    def definitions_as(
        self, desired: CanonicalDefinition
    ) -> tuple[CanonicalDefinition | None, CanonicalDefinition | None]:
        """(active, pending draft) as `active` and `draft` give them, where a definition the
        API sent exactly as `desired` is `desired` itself, found by one comparison."""
        active = _meaning(self.active_definition, desired)
        held = _meaning(self.draft_definition, desired)
        return active, None if held is None or held == active else held

    def unknown_fields(self, field: str) -> list[str]:
        """The fields of its `active_definition` or `draft_definition` (`field`) that the
        models do not know, as paths from the CA (`active_definition.datapoint.x`)."""
        data: LiveDefinitionData | None = getattr(self, field)
        return [format_path((field, *path)) for path in unknown_fields(data)]

    @property
    def description_text(self) -> str:
        return self.description or ""

    @property
    def audiences(self) -> int | None:
        """How many audiences use the CA, or None where the answer does not say: no
        `audience_count`, or a negative one (how some APIs write "unknown"). mParticle's
        docs show the count on every CA, so None means an answer to be wary of, never 0."""
        count = self.audience_count
        return count if count is not None and count >= 0 else None

    @cached_property
    def fingerprint(self) -> str:
        """Digest of everything a plan decides on: name, description, definitions, audiences,
        and the definitions' fields the models do not know (which the plan warns it drops)."""
        decided: dict[str, Any] = {
            "name": self.name,
            "description": self.description_text,
            "active": self.active,
            "draft": self.draft,
            # An unknown count is not 0: the rule delete-in-use decides otherwise on it.
            "audience_count": self.audiences,
        }
        unknown = self._unknown_text()
        if unknown:  # absent otherwise: the digest saved plans of earlier versions hold
            decided["unknown"] = unknown
        return fingerprint(decided)

    def _unknown_text(self) -> str:
        """The unknown fields of both definitions as stored (a draft equal to the active
        definition too: an update replaces it), their paths and values, as JSON text in an
        order that does not depend on the order of the keys sent. Python's own JSON writer:
        a value the models never read may be any JSON, an integer beyond 64 bits too."""
        found = [
            [field, *path, value]
            for field in _DEFINITIONS
            for path, value in unknown_items(getattr(self, field))
        ]
        if not found:
            return ""
        texts = [json.dumps(item, sort_keys=True, ensure_ascii=False) for item in found]
        return json.dumps(sorted(texts), ensure_ascii=False)


_LIVE_LIST = TypeAdapter(list[LiveCA])
_DEFINITIONS = {"active_definition": "active", "draft_definition": "draft"}


def read_live(data: Any, what: str = "the CA list") -> list[LiveCA]:
    """The CAs of a parsed API answer (a list of CA objects), definitions included.

    Raises ApiError naming every CA whose definition cannot be read, saying that the
    answer is not a list of CAs at all, or naming every id it holds more than once.
    """
    try:
        found = _LIVE_LIST.validate_python(data)
    except ValidationError as exc:
        raise ApiError(_unreadable(exc, data, what)) from None
    if not _ids_unique(found):
        raise ApiError(repeated_ids(((ca.id, ca.name) for ca in found), what))
    return found


def read_live_json(content: bytes) -> list[LiveCA] | None:
    """The CAs of an API answer as sent (JSON text), definitions included, or None when it
    is not JSON, not a list of readable CAs or holds an id twice (`read_live` of the parsed
    answer then says what is wrong). Validating the text in one pass builds no intermediate
    data, which parsing it first and then validating the data would (docs/performance.md)."""
    try:
        found = _LIVE_LIST.validate_json(content)
    except ValidationError:
        return None
    return found if _ids_unique(found) else None


def _ids_unique(found: list[LiveCA]) -> bool:
    return len({ca.id for ca in found}) == len(found)


def repeated_ids(listed: Iterable[tuple[int, str]], what: str = "the CA list") -> str:
    """The error for a list answer holding an id more than once, from its (id, name) pairs,
    naming each such id and the names it comes under.

    mParticle keeps ids unique, so the answer was misread or is damaged: which name the CA
    has cannot be told, and an id read under two names would be planned twice (an update
    and a delete of one CA) or exported as two CAs. Every reader of the list refuses it.
    """
    names: dict[int, list[str]] = {}
    for ca_id, name in listed:
        names.setdefault(ca_id, []).append(name)
    found = []
    for ca_id, held in names.items():
        distinct = list(dict.fromkeys(held))
        if len(distinct) > 1:
            found.append(f"id {ca_id} under {len(distinct)} names, {_and(distinct)}")
        elif len(held) > 1:
            found.append(f"id {ca_id} {len(held)} times, as {quoted(held[0])}")
    return (
        f"{what} holds {first_few(found, '; ', '; ')}: mParticle keeps ids unique, so the "
        "answer was misread or is damaged, and the reconciler acts on no part of it. Run "
        "the command again; if the answer stays so, look the CA up in mParticle"
    )


def _and(names: list[str]) -> str:
    """Two or more names, quoted: `"A", "B" and "C"`."""
    shown = [quoted(name) for name in names]
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def _unreadable(exc: ValidationError, data: Any, what: str) -> str:
    problems: dict[tuple[int, str], list[str]] = {}
    other = 0
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if len(loc) > 1 and isinstance(loc[0], int) and loc[1] in _DEFINITIONS:
            where = format_path([part for part in loc[1:] if isinstance(part, (int, str))])
            problem = f"{where}: {error['msg']}"
            problems.setdefault((loc[0], str(loc[1])), []).append(problem)
        else:
            other += 1
    if other:
        first = exc.errors(include_url=False)[0]
        where = format_path([part for part in first["loc"] if isinstance(part, (int, str))])
        return (
            f"{what} could not be read: {exc.error_count()} problem(s), the first at "
            f"{where or '(top)'}{_named(data, first['loc'])}: {first['msg']}"
        )
    named = []
    for (index, field), found in problems.items():
        item = data[index]
        named.append(
            f"{quoted(item.get('name'))} (id {item.get('id')}): its {_DEFINITIONS[field]} "
            f"definition could not be read from the API's answer ({len(found)} problem(s), "
            f"the first at {found[0]})"
        )
    return "; ".join(named)


def _named(data: Any, loc: tuple[int | str, ...]) -> str:
    """` (CA "name")` when `loc` is within an item of the list that has a text name."""
    if not loc or not isinstance(loc[0], int) or not isinstance(data, list):
        return ""
    item = data[loc[0]] if loc[0] < len(data) else None
    name = item.get("name") if isinstance(item, dict) else None
    return f" (CA {quoted(name)})" if isinstance(name, str) else ""
