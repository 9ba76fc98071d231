"""The calculation types as accumulators: seeded first (a seed stands for everything before
the cutoff), then fed the qualifying values in time order, then rendered as mParticle
stores the result (docs/semantics.md, rules R18-R25).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from reconciler.evaluator.values import (
    NO_VALUE,
    render_average,
    render_list,
    render_number,
    render_timestamp,
    text_of,
    to_number,
)

#: Unique lists and most frequent collect the first 100 distinct values only (R19).
VALUE_CAP = 100
_ONE = Decimal(1)


class Accumulator:
    """One CA's running value for one user.

    `reads_values` says whether `value` must be called (the count and timestamp types
    need only the event). `done` lets the caller stop early (first occurrence found).
    """

    reads_values: ClassVar[bool] = True
    #: The seed field this type takes (the Seeding API's table).
    seed_field: ClassVar[str] = "value"
    done = False

    def seed(self, seed: Any) -> None:
        """Start from a seed's value (already checked by the caller's validation)."""

    def event(self, millis: int) -> None:
        """A qualifying event occurred at `millis` (called once per event)."""

    def value(self, raw: object, weight: Decimal) -> None:
        """A qualifying value; `weight` is the product quantity when it applies, else 1."""

    def result(self) -> str:
        raise NotImplementedError


class Count(Accumulator):
    reads_values = False

    def __init__(self) -> None:
        self.count = 0

    def seed(self, seed: Any) -> None:
        self.count += int(to_number(seed) or 0)

    def event(self, millis: int) -> None:
        self.count += 1

    def result(self) -> str:
        return str(self.count)


class Sum(Accumulator):
    def __init__(self) -> None:
        self.total: Decimal | None = None

    def seed(self, seed: Any) -> None:
        self.value(seed, _ONE)

    def value(self, raw: object, weight: Decimal) -> None:
        number = to_number(raw)
        if number is not None:
            self.total = number if self.total is None else self.total + number

    def result(self) -> str:
        return NO_VALUE if self.total is None else render_number(self.total)


class Minimum(Sum):
    def value(self, raw: object, weight: Decimal) -> None:
        number = to_number(raw)
        if number is not None and (self.total is None or number < self.total):
            self.total = number


class Maximum(Sum):
    def value(self, raw: object, weight: Decimal) -> None:
        number = to_number(raw)
        if number is not None and (self.total is None or number > self.total):
            self.total = number


class Average(Accumulator):
    seed_field = "key_value_pairs"

    def __init__(self) -> None:
        self.total = Decimal(0)
        self.count = Decimal(0)

    def seed(self, seed: Any) -> None:
        if isinstance(seed, Mapping):
            total, count = to_number(seed.get("sum")), to_number(seed.get("count"))
            if total is not None and count is not None and count > 0:
                self.total += total
                self.count += count

    def value(self, raw: object, weight: Decimal) -> None:
        number = to_number(raw)
        if number is not None:
            self.total += number * weight
            self.count += weight

    def result(self) -> str:
        return NO_VALUE if not self.count else render_average(self.total, self.count)


class FirstValue(Accumulator):
    def __init__(self) -> None:
        self.found: str | None = None

    def seed(self, seed: Any) -> None:
        self.value(seed, _ONE)

    def value(self, raw: object, weight: Decimal) -> None:
        if self.found is None:
            self.found = text_of(raw)
            self.done = self.found is not None

    def result(self) -> str:
        return NO_VALUE if self.found is None else self.found


class LastValue(FirstValue):
    def value(self, raw: object, weight: Decimal) -> None:
        text = text_of(raw)
        if text is not None:
            self.found = text


class FirstTimestamp(Accumulator):
    reads_values = False

    def __init__(self) -> None:
        self.millis: int | None = None

    def seed(self, seed: Any) -> None:
        number = to_number(seed)  # epoch milliseconds, as a number or numeric text
        if number is not None:
            self.event(int(number))

    def event(self, millis: int) -> None:
        if self.millis is None:
            self.millis = millis
            self.done = True

    def result(self) -> str:
        return NO_VALUE if self.millis is None else render_timestamp(self.millis)


class LastTimestamp(FirstTimestamp):
    def event(self, millis: int) -> None:
        if self.millis is None or millis >= self.millis:
            self.millis = millis


class UniqueList(Accumulator):
    seed_field = "list"
    cap: int | None = VALUE_CAP

    def __init__(self) -> None:
        self.seen: dict[str, None] = {}

    def seed(self, seed: Any) -> None:
        if isinstance(seed, list):
            for item in seed:
                self.value(item, _ONE)

    def value(self, raw: object, weight: Decimal) -> None:
        text = text_of(raw)
        room = self.cap is None or len(self.seen) < self.cap
        if text is not None and room and text not in self.seen:
            self.seen[text] = None

    def result(self) -> str:
        return render_list(list(self.seen)) if self.seen else NO_VALUE


class UniqueCount(UniqueList):
    cap = None  # the docs cap unique lists and most frequent only (R19)

    def result(self) -> str:
        return str(len(self.seen))


class MostFrequent(Accumulator):
    seed_field = "key_value_pairs"

    def __init__(self) -> None:
        self.counts: dict[str, Decimal] = {}

    def seed(self, seed: Any) -> None:
        if isinstance(seed, Mapping):
            for value, count in seed.items():
                number = to_number(count)
                if number is not None:
                    self.value(value, number)

    def value(self, raw: object, weight: Decimal) -> None:
        text = text_of(raw)
        if text is None:
            return
        if text in self.counts:
            self.counts[text] += weight
        elif len(self.counts) < VALUE_CAP:
            self.counts[text] = weight

    def result(self) -> str:
        if not self.counts:
            return NO_VALUE
        top = max(self.counts.values())
        # A tie goes to the value first in alphabetical order (R20).
        return min(value for value, count in self.counts.items() if count == top)


ACCUMULATORS: dict[str, type[Accumulator]] = {
    "count": Count,
    "sum": Sum,
    "min": Minimum,
    "minimum": Minimum,
    "max": Maximum,
    "maximum": Maximum,
    "average": Average,
    "first_occurrence": FirstValue,
    "last_occurrence": LastValue,
    "first_occurrence_timestamp": FirstTimestamp,
    "last_occurrence_timestamp": LastTimestamp,
    "unique_list": UniqueList,
    "unique_values_count": UniqueCount,
    "most_frequent": MostFrequent,
}
