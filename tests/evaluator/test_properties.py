"""Properties of the evaluator (R18, R26): a seed computed from the events before the
cutoff, plus the events from the cutoff on, gives the value of all the events; and the
order in which events are given does not matter where the semantics say so."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.evaluator import evaluate
from tests.evaluator.events import AS_OF, Json, at, custom, definition

CUTOFF_DAY = 20
CUTOFF = f"2024-01-{1 + CUTOFF_DAY:02d}T00:00:00"
TERMS = ["apple", "Banana", "cherry", "date", "elder", "fig"]

amounts = st.one_of(
    st.integers(-1000, 1000),
    st.decimals(-1000, 1000, places=2, allow_nan=False).map(str),
    st.sampled_from(["n/a", "", "1,5"]),
)
CUTOFF_MINUTE = CUTOFF_DAY * 24 * 60
#: Minutes of the 40 days around the cutoff, often the cutoff's own or the one before it:
#: an event at the cutoff counts after it (R4), a boundary that minutes drawn from all
#: 57,600 all but never reach (the property missed a cutoff counted as before it for 17
#: seeds in 20; none now).
minutes = st.integers(0, 40 * 24 * 60) | st.sampled_from([CUTOFF_MINUTE - 1, CUTOFF_MINUTE])
#: (minute, amount, term); minutes are distinct.
event_rows = st.lists(
    st.tuples(minutes, amounts, st.sampled_from(TERMS)),
    max_size=25,
    unique_by=lambda row: row[0],
)

VALUE_TYPES = [
    "count",
    "sum",
    "min",
    "max",
    "average",
    "first_occurrence",
    "last_occurrence",
    "first_occurrence_timestamp",
    "last_occurrence_timestamp",
    "unique_list",
    "unique_values_count",
    "most_frequent",
]
ATTRIBUTE = {"sum": "Amount", "min": "Amount", "max": "Amount", "average": "Amount"}


def _events(rows: list[tuple[int, object, str]]) -> list[Json]:
    return [custom(when=at(0) + minute * 60_000, Amount=a, Term=t) for minute, a, t in rows]


def _number(raw: object) -> Decimal | None:
    try:
        return Decimal(str(raw)) if str(raw).strip() not in ("", "n/a", "1,5") else None
    except ArithmeticError:
        return None


def _seed(calculation: str, before: list[Json]) -> Json | None:
    """The seed a warehouse would send for `before` (the events in time order), computed
    here without the evaluator; None when those events give no value."""
    before = sorted(before, key=lambda e: e["data"]["timestamp_unixtime_ms"])
    times = [e["data"]["timestamp_unixtime_ms"] for e in before]
    terms = [e["data"]["custom_attributes"]["Term"] for e in before]
    numbers = [
        n for e in before if (n := _number(e["data"]["custom_attributes"]["Amount"])) is not None
    ]
    value: Any = None
    if calculation == "count":
        value = len(before)
    elif calculation == "sum" and numbers:
        value = str(sum(numbers))
    elif calculation == "min" and numbers:
        value = str(min(numbers))
    elif calculation == "max" and numbers:
        value = str(max(numbers))
    elif calculation == "average" and numbers:
        return {"key_value_pairs": {"sum": str(sum(numbers)), "count": len(numbers)}}
    elif calculation.endswith("occurrence") and terms:
        value = terms[0] if calculation.startswith("first") else terms[-1]
    elif calculation.endswith("timestamp") and times:
        value = times[0] if calculation.startswith("first") else times[-1]
    elif calculation in ("unique_list", "unique_values_count") and terms:
        return {"list": list(dict.fromkeys(terms))}
    elif calculation == "most_frequent" and terms:
        return {"key_value_pairs": dict(Counter(terms))}
    return None if value is None else {"value": value}


@settings(max_examples=60, deadline=None)
@given(rows=event_rows, calculation=st.sampled_from(VALUE_TYPES))
def test_seed_plus_later_events_equals_all_events(
    rows: list[tuple[int, object, str]], calculation: str
) -> None:
    events = _events(rows)
    attribute = ATTRIBUTE.get(calculation, "Term")
    whole = definition(calculation, attribute=attribute, since="2023-01-01")
    seeded = definition(calculation, attribute=attribute, since="2023-01-01", cutoff=CUTOFF)
    cutoff = at(CUTOFF_DAY)
    before = [e for e in events if e["data"]["timestamp_unixtime_ms"] < cutoff]
    seed = _seed(calculation, before)
    assert evaluate(seeded, events, seed, AS_OF) == evaluate(whole, events, None, AS_OF)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), rows=event_rows, calculation=st.sampled_from(VALUE_TYPES))
def test_event_order_does_not_matter(
    data: st.DataObject, rows: list[tuple[int, object, str]], calculation: str
) -> None:
    """With distinct timestamps no result depends on the order events are given in (R26)."""
    events = _events(rows)
    shuffled = data.draw(st.permutations(events))
    ca = definition(calculation, attribute=ATTRIBUTE.get(calculation, "Term"))
    assert evaluate(ca, shuffled, None, AS_OF) == evaluate(ca, events, None, AS_OF)


ORDER_FREE = ["count", "sum", "min", "max", "average", "unique_list", "unique_values_count"]


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    rows=st.lists(st.tuples(st.just(0), amounts, st.sampled_from(TERMS)), max_size=20),
    calculation=st.sampled_from([*ORDER_FREE, "most_frequent"]),
)
def test_order_free_types_ignore_order_even_at_equal_times(
    data: st.DataObject, rows: list[tuple[int, object, str]], calculation: str
) -> None:
    """All events at one instant: only first/last value could depend on the given order
    (R1); the other types do not (R26)."""
    events = _events(rows)
    shuffled = data.draw(st.permutations(events))
    ca = definition(calculation, attribute=ATTRIBUTE.get(calculation, "Term"))
    assert evaluate(ca, shuffled, None, AS_OF) == evaluate(ca, events, None, AS_OF)
