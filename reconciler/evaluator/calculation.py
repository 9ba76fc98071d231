"""A CA definition (the API's JSON) compiled once into a Calculation: which events it
selects, over which window, under which conditions, reading which value, into which
accumulator. Evaluating it streams one user's prepared events (docs/semantics.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from reconciler.evaluator.aggregates import ACCUMULATORS, Accumulator
from reconciler.evaluator.conditions import DefinitionError, Test, compile_test
from reconciler.evaluator.events import (
    Data,
    Timeline,
    compact,
    event_value,
    field_name,
    item_value,
    products,
    promotions,
)
from reconciler.evaluator.values import (
    MISSING,
    arithmetic,
    day_millis,
    instant_millis,
    to_number,
)

_ONE = Decimal(1)
_UNIT_DAYS = {"days": 1, "weeks": 7}
#: Calculation types that weigh values by the product quantity when the data point asks
#: (Platform API: "Average or Most Frequent calculations with e-commerce event types", R10).
_QUANTITY_TYPES = frozenset({"average", "most_frequent"})
#: The numeric fields of a product (Events API JSON): most frequent weighs only the others
#: ("for non-numeric fields such as brand, category, or coupon code", R10).
_NUMERIC_PRODUCT_FIELDS = frozenset({"price", "quantity", "position", "total_product_amount"})
_ITEMS: dict[str, tuple[Callable[[Data], list[Data]], str]] = {
    "product_attribute": (products, "product_"),
    "promotion_attribute": (promotions, "promotion_"),
}


def _none(data: Data) -> list[Data]:
    """No items: what an event other than a commerce event has."""
    return []


class _Condition:
    __slots__ = ("field", "name", "test")

    def __init__(self, condition: Mapping[str, Any]) -> None:
        name = condition.get("attribute_name")
        if not isinstance(name, str) or not name:
            raise DefinitionError("a condition has no attribute_name")
        self.name = name
        self.field = field_name(name)
        self.test: Test = compile_test(condition)

    def on_event(self, data: Data) -> bool:
        """Met by the event's attribute; an attribute the event lacks is looked for in its
        products, and the condition holds when one of them meets it (R11)."""
        raw = event_value(data, self.name, self.field)
        if raw is MISSING:
            found = [
                value
                for product in products(data)
                if (value := item_value(product, self.name, self.field, "product_")) is not MISSING
            ]
            if found:
                return any(self.test(value) for value in found)
        return self.test(raw)

    def on_item(self, item: Data, data: Data, prefix: str) -> bool:
        """Met by a product's (promotion's) attribute, else by its event's (R11)."""
        raw = item_value(item, self.name, self.field, prefix)
        if raw is MISSING:
            raw = event_value(data, self.name, self.field)
        return self.test(raw)


def _millis(value: object, what: str) -> int:
    millis = instant_millis(value)
    if millis is None:
        raise DefinitionError(f"{what} {value!r} is not an ISO 8601 date")
    return millis


def _datapoint(definition: Mapping[str, Any]) -> Mapping[str, Any]:
    datapoint = definition.get("datapoint") or definition.get("data_point")
    if not isinstance(datapoint, Mapping) or not isinstance(datapoint.get("event_type"), str):
        raise DefinitionError("the definition has no data point with an event_type")
    return datapoint


def _selection(datapoint: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The name key a data point selects events by, and a custom event type to check
    (R7, R8)."""
    event_type = datapoint["event_type"]
    name = datapoint.get("event_name") or None
    custom = datapoint.get("custom_event_type") or None
    if event_type == "custom_event":
        return name, custom
    if event_type == "commerce_event":
        chosen = custom or name
        return (compact(chosen) if chosen else None), None
    if event_type == "screen_view":
        return name, None
    return None, None


class Calculation:
    """A compiled definition. `evaluate` is pure: same timeline, seed and time, same value."""

    def __init__(self, definition: Mapping[str, Any]) -> None:
        calculation_type = definition.get("calculation_type")
        accumulator = None
        if isinstance(calculation_type, str):
            accumulator = ACCUMULATORS.get(calculation_type)
        if accumulator is None:
            raise DefinitionError(f"calculation_type {calculation_type!r} is unknown")
        self.accumulator: type[Accumulator] = accumulator
        datapoint = _datapoint(definition)
        self.event_type: str = datapoint["event_type"]
        self.name, self.custom_type = _selection(datapoint)
        attribute = datapoint.get("attribute_name") or None
        category = (datapoint.get("attribute_category") or "event_attribute") if attribute else None
        #: The attribute whose values are read; "" when the data point names none.
        self.attribute: str = attribute or ""
        self.field = field_name(attribute) if attribute else ""
        self.items = _ITEMS.get(category or "")
        if self.items is not None and self.event_type != "commerce_event":
            # Only a commerce event has products and promotions (R10): another event's
            # data carrying them is not read, as validate warns (the CA finds no value).
            self.items = (_none, self.items[1])
        self.quantity = (
            bool(datapoint.get("use_product_quantity"))
            and category == "product_attribute"
            and calculation_type in _QUANTITY_TYPES
            and not (
                calculation_type == "most_frequent"
                and self.field.removeprefix("product_") in _NUMERIC_PRODUCT_FIELDS
            )
        )
        self.conditions = [_Condition(c) for c in definition.get("conditions") or ()]
        self._window(definition)

    def _window(self, definition: Mapping[str, Any]) -> None:
        period = definition.get("time_period") or {}
        kind = period.get("type")
        self.since: int | None = None
        self.within: int | None = None
        if kind == "since":
            self.since = _millis(period.get("date"), "time_period.date")
        elif kind == "within":
            amount = period.get("within")
            if isinstance(amount, str) and amount.isdigit():
                amount = int(amount)  # as some API answers write it
            days = _UNIT_DAYS.get(period.get("within_unit") or "")
            if not isinstance(amount, int) or isinstance(amount, bool) or days is None:
                raise DefinitionError("a within time period needs within and within_unit")
            self.within = amount * days * day_millis()
        seeding = definition.get("seeding") or {}
        cutoff = seeding.get("cutoff_date")
        self.cutoff = _millis(cutoff, "seeding.cutoff_date") if cutoff else None
        # Rolling windows cannot be seeded (R18): a seed for one is not applied.
        self.seedable = self.cutoff is not None and self.within is None

    def low(self, as_of: int) -> int | None:
        """The earliest instant that counts (R2, R3, R4): the since date or the start of the
        rolling window, and never before the seeding cutoff."""
        low = self.since if self.within is None else as_of - self.within
        if self.cutoff is not None:
            low = self.cutoff if low is None else max(low, self.cutoff)
        return low

    def evaluate(self, timeline: Timeline, seed: Mapping[str, Any] | None, as_of: int) -> str:
        """The value as mParticle stores it, for events up to `as_of` (epoch ms)."""
        with arithmetic():
            return self._evaluate(timeline, seed, as_of)

    def _evaluate(self, timeline: Timeline, seed: Mapping[str, Any] | None, as_of: int) -> str:
        accumulator = self.accumulator()
        if seed is not None and self.seedable:
            accumulator.seed(seed.get(accumulator.seed_field))
        events = timeline.track(self.event_type, self.name).between(self.low(as_of), as_of)
        custom_type = self.custom_type
        for item in events:
            data = item.data
            if custom_type is not None and data.get("custom_event_type") != custom_type:
                continue
            if self.items is None:
                if not self._feed_event(accumulator, item.millis, data):
                    continue
            elif not self._feed_items(accumulator, item.millis, data):
                continue
            if accumulator.done:
                break
        return accumulator.result()

    def _feed_event(self, accumulator: Accumulator, millis: int, data: Data) -> bool:
        for condition in self.conditions:
            if not condition.on_event(data):
                return False
        accumulator.event(millis)
        if accumulator.reads_values and self.attribute:
            accumulator.value(event_value(data, self.attribute, self.field), _ONE)
        return True

    def _feed_items(self, accumulator: Accumulator, millis: int, data: Data) -> bool:
        assert self.items is not None
        read, prefix = self.items
        chosen: Sequence[Data] = [
            item
            for item in read(data)
            if all(condition.on_item(item, data, prefix) for condition in self.conditions)
        ]
        if not chosen:
            return False
        accumulator.event(millis)
        if accumulator.reads_values:
            for item in chosen:
                weight = self._weight(item) if self.quantity else _ONE
                accumulator.value(item_value(item, self.attribute, self.field, prefix), weight)
        return True

    @staticmethod
    def _weight(item: Data) -> Decimal:
        """A product's quantity when it is a positive number, else 1 (R10)."""
        quantity = to_number(item.get("quantity"))
        return quantity if quantity is not None and quantity > 0 else _ONE
