"""The canonical form: what a definition means, as one JSON-ready dict. Equal meaning = equal dict.

Desired (manifest) and live (API) models both reduce to this form, so the planner compares
dicts and never spellings. The form is also the API body we send (key `datapoint`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, TypedDict

import orjson

from reconciler.models.values import canonical_instant, canonical_operand, operand_sort_key
from reconciler.models.vocabulary import (
    CALCULATION_TYPE_SYNONYMS,
    CUSTOM_EVENT_TYPES_BY_EVENT,
    DEFAULT_ATTRIBUTE_CATEGORY,
    OPERAND_SHAPE,
    QUANTITY_CATEGORIES,
)


class CanonicalCondition(TypedDict):
    type: str | None
    operator: str | None
    attribute_name: str | None
    value: str | None
    values: list[str] | None
    min_value: str | None
    max_value: str | None


class CanonicalDatapoint(TypedDict):
    type: str
    event_name: str | None
    event_type: str | None
    custom_event_type: str | None
    attribute_name: str | None
    attribute_category: str | None
    use_product_quantity: bool


class CanonicalTimePeriod(TypedDict):
    type: str | None
    date: str | None
    within: int | None
    within_unit: str | None


class CanonicalSeeding(TypedDict):
    cutoff_date: str


class CanonicalDefinition(TypedDict):
    recipe_type: str
    datapoint: CanonicalDatapoint | None
    conditions: list[CanonicalCondition]
    calculation_type: str | None
    time_period: CanonicalTimePeriod | None
    seeding: CanonicalSeeding | None


class ConditionLike(Protocol):
    @property
    def type(self) -> str | None: ...
    @property
    def operator(self) -> str | None: ...
    @property
    def attribute_name(self) -> str | None: ...
    @property
    def value(self) -> object: ...
    @property
    def values(self) -> Sequence[object] | None: ...
    @property
    def min_value(self) -> object: ...
    @property
    def max_value(self) -> object: ...


class DatapointLike(Protocol):
    @property
    def type(self) -> str | None: ...
    @property
    def event_name(self) -> str | None: ...
    @property
    def event_type(self) -> str | None: ...
    @property
    def custom_event_type(self) -> str | None: ...
    @property
    def attribute_name(self) -> str | None: ...
    @property
    def attribute_category(self) -> str | None: ...
    @property
    def use_product_quantity(self) -> bool | None: ...


class TimePeriodLike(Protocol):
    @property
    def type(self) -> str | None: ...
    @property
    def date(self) -> object: ...
    @property
    def within(self) -> object: ...
    @property
    def within_unit(self) -> str | None: ...


class SeedingLike(Protocol):
    @property
    def cutoff_date(self) -> object: ...


class DefinitionLike(Protocol):
    @property
    def recipe_type(self) -> str | None: ...
    @property
    def datapoint(self) -> DatapointLike | None: ...
    @property
    def conditions(self) -> Sequence[ConditionLike] | None: ...
    @property
    def calculation_type(self) -> str | None: ...
    @property
    def time_period(self) -> TimePeriodLike | None: ...
    @property
    def seeding(self) -> SeedingLike | None: ...


def _instant(value: object) -> str | None:
    """Dates compare as instants; a live date we cannot read compares by its text."""
    if value is None or value == "":
        return None
    try:
        return canonical_instant(value)
    except ValueError:
        return str(value)


def _optional_text(value: str | None) -> str | None:
    return value if value else None


def _operand(kind: str, value: object) -> str | None:
    return None if value is None else canonical_operand(kind, value)


def _operand_list(kind: str, values: Sequence[object] | None) -> list[str] | None:
    if not values:
        return None
    texts = {canonical_operand(kind, v) for v in values if v is not None}
    if kind == "number":
        return sorted(texts, key=lambda text: operand_sort_key(kind, text))
    return sorted(texts)


def canonical_condition(condition: ConditionLike) -> CanonicalCondition:
    kind = condition.type or ""
    shape = OPERAND_SHAPE.get(condition.operator or "")
    # Operands the operator does not take are ignored by the API (or refused on write),
    # so they do not take part in the comparison.
    any_shape = shape is None
    return {
        "type": condition.type,
        "operator": condition.operator,
        "attribute_name": condition.attribute_name,
        "value": _operand(kind, condition.value) if any_shape or shape == "single" else None,
        "values": (_operand_list(kind, condition.values) if any_shape or shape == "list" else None),
        "min_value": (
            _operand(kind, condition.min_value) if any_shape or shape == "range" else None
        ),
        "max_value": (
            _operand(kind, condition.max_value) if any_shape or shape == "range" else None
        ),
    }


def canonical_datapoint(datapoint: DatapointLike) -> CanonicalDatapoint:
    attribute = _optional_text(datapoint.attribute_name)
    # attribute_category / use_product_quantity mean nothing without an attribute (the
    # API's own example sends them anyway), and the quantity only for product/promotion.
    category = (datapoint.attribute_category or DEFAULT_ATTRIBUTE_CATEGORY) if attribute else None
    quantity = bool(datapoint.use_product_quantity) and category in QUANTITY_CATEGORIES
    event_type = datapoint.event_type
    custom = _optional_text(datapoint.custom_event_type)
    if event_type not in CUSTOM_EVENT_TYPES_BY_EVENT:
        custom = None
    return {
        "type": datapoint.type or "event",
        "event_name": _optional_text(datapoint.event_name),
        "event_type": event_type,
        "custom_event_type": custom,
        "attribute_name": attribute,
        "attribute_category": category,
        "use_product_quantity": quantity,
    }


#: Whole numbers a JSON float holds exactly: a live `within` below it written `30.0` is 30.
_EXACT_FLOAT_INTEGER = 2**53


def _within(value: object) -> int | None:
    """A window's length: an integer, its digits as text, or a JSON number with a zero
    fraction (`30.0`, which a server may send for 30). Anything else reads as no length,
    as a malformed live definition does: the plan then rewrites it."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _EXACT_FLOAT_INTEGER:
            return int(value)
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def canonical_time_period(period: TimePeriodLike) -> CanonicalTimePeriod:
    if period.type == "since":
        return {"type": "since", "date": _instant(period.date), "within": None, "within_unit": None}
    if period.type == "within":
        return {
            "type": "within",
            "date": None,
            "within": _within(period.within),
            "within_unit": period.within_unit,
        }
    return {
        "type": period.type,
        "date": _instant(period.date),
        "within": _within(period.within),
        "within_unit": period.within_unit,
    }


# The leaves of a canonical form that are not text or null (a test derives them from the
# types above): comparing raw API data with a canonical form checks their types as well.
NON_TEXT_LEAVES = (("datapoint", "use_product_quantity"), ("time_period", "within"))


def _condition_order(condition: CanonicalCondition) -> bytes:
    return orjson.dumps(condition, option=orjson.OPT_SORT_KEYS)


def canonical_definition(definition: DefinitionLike) -> CanonicalDefinition:
    """The meaning of a definition: equal for every spelling the API or a manifest may use."""
    conditions = [canonical_condition(c) for c in definition.conditions or ()]
    conditions.sort(key=_condition_order)
    calculation = definition.calculation_type
    if calculation is not None:
        calculation = CALCULATION_TYPE_SYNONYMS.get(calculation, calculation)
    seeding = definition.seeding
    cutoff = _instant(seeding.cutoff_date) if seeding is not None else None
    return {
        "recipe_type": definition.recipe_type or "event",
        "datapoint": canonical_datapoint(definition.datapoint) if definition.datapoint else None,
        "conditions": conditions,
        "calculation_type": calculation,
        "time_period": (
            canonical_time_period(definition.time_period) if definition.time_period else None
        ),
        "seeding": {"cutoff_date": cutoff} if cutoff is not None else None,
    }


def fingerprint(value: object) -> str:
    """A stable digest of a JSON-ready value (keys sorted), for stale-plan detection."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()
