"""Seeding, step 2b: the seeding page's format table — the seed shape and the value rules
of each calculation type, and the number tests the server applies (numbers or numeric text).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from reconciler.errors import DataPath
from reconciler.manifest.diagnostics import suggest
from reconciler.models import Problem
from reconciler.models.values import parse_number

Json = dict[str, Any]

#: The seeding page's format table: the seed field each calculation type takes.
SEED_FIELD: dict[str, str] = {
    "count": "value",
    "sum": "value",
    "min": "value",
    "max": "value",
    "first_occurrence": "value",
    "last_occurrence": "value",
    "first_occurrence_timestamp": "value",
    "last_occurrence_timestamp": "value",
    "average": "key_value_pairs",
    "most_frequent": "key_value_pairs",
    "unique_list": "list",
    "unique_values_count": "list",
}
NUMERIC_VALUES = frozenset({"count", "sum", "min", "max"})
TIMESTAMPS = frozenset({"first_occurrence_timestamp", "last_occurrence_timestamp"})
SEED_KEYS = ("value", "key_value_pairs", "list")
#: The server's own words (seeding page, error body example).
NOT_NUMERIC = "Seed value must be numeric"
#: Epoch milliseconds below this (March 1973) are almost surely seconds.
MIN_EPOCH_MS = 10**11
#: Epoch milliseconds above this (year 2100) are almost surely microseconds.
MAX_EPOCH_MS = 4_102_444_800_000
_INTEGER = re.compile(r"[+-]?\d+")


def show(value: object) -> str:
    """A value as JSON, cut short: what a message quotes back to the user."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_number(value: object) -> bool:
    """A JSON number (not a boolean) or a numeric string, finite: the server takes both."""
    kind = type(value)
    if kind is int:
        return True
    if kind is float:
        return math.isfinite(value)  # type: ignore[arg-type]
    if kind is not str:
        return False
    try:
        parse_number(value)
    except ValueError:
        return False
    return True


def as_integer(value: object) -> int | None:
    """A whole number given as a JSON integer or a string of digits, else None."""
    if type(value) is int:
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    return None


def whole_number(value: object) -> int | None:
    """A seed's count or timestamp: `as_integer`, or a JSON number with no fraction (`5.0`,
    as a spreadsheet or pandas writes a whole number; JSON has one number type, and the
    emulator takes it). An MPID is read with `as_integer` alone: as a float it would have
    lost digits."""
    found = as_integer(value)
    if found is None and type(value) is float and value.is_integer():
        return int(value)
    return found


def unknown(path: DataPath, key: str, choices: Sequence[str], what: str) -> Problem:
    hint = suggest(key, choices)
    advice = f"did you mean `{hint}`?" if hint else f"expected one of {', '.join(choices)}"
    return Problem(path, f"unknown {what} `{key}`; {advice}")


def check_seed(
    ca: str, calculation_type: str, seed: object, path: DataPath, problems: list[Problem]
) -> None:
    """The format table: the seed shape and value rules of one calculation type. `ca` is
    the CA as every message names it (`errors.quoted`)."""
    field = SEED_FIELD[calculation_type]
    if not isinstance(seed, dict):
        what = "required" if seed is None else f"must be a mapping, not {show(seed)}"
        problems.append(Problem(path, f"{ca}: seed {what}: {calculation_type} takes seed.{field}"))
        return
    # The common case, exactly the expected key, needs no look at each key.
    for key in seed if len(seed) != 1 or field not in seed else ():
        if key not in SEED_KEYS:
            problems.append(unknown((*path, key), str(key), SEED_KEYS, "seed field"))
        elif key != field:
            problems.append(
                Problem(
                    (*path, key),
                    f"{ca}: {calculation_type} takes seed.{field}, not seed.{key}",
                )
            )
    value = seed.get(field)
    at = (*path, field)
    if value is None:
        problems.append(Problem(at, f"{ca}: {calculation_type} needs seed.{field}"))
    elif calculation_type in NUMERIC_VALUES:
        _numeric_value(ca, calculation_type, value, at, problems)
    elif calculation_type in TIMESTAMPS:
        _timestamp(ca, value, at, problems)
    elif field == "value":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            problems.append(
                Problem(at, f"{ca}: seed value must be text or a number, not {show(value)}")
            )
    elif field == "list":
        _string_list(ca, value, at, problems)
    elif calculation_type == "average":
        _average(ca, value, at, problems)
    else:
        _most_frequent(ca, value, at, problems)


def _numeric_value(
    ca: str, calculation_type: str, value: object, at: DataPath, problems: list[Problem]
) -> None:
    if not is_number(value):
        problems.append(Problem(at, f"{ca}: {NOT_NUMERIC}, not {show(value)}"))
    elif calculation_type == "count":
        count = whole_number(value)
        if count is None or count < 0:
            problems.append(
                Problem(at, f"{ca}: a count must be a whole number >= 0, not {show(value)}")
            )


def _timestamp(ca: str, value: object, at: DataPath, problems: list[Problem]) -> None:
    if not is_number(value):
        problems.append(
            Problem(at, f"{ca}: {NOT_NUMERIC}: UNIX epoch milliseconds, not {show(value)}")
        )
        return
    millis = whole_number(value)
    if millis is None:
        problems.append(
            Problem(at, f"{ca}: a timestamp must be whole epoch milliseconds, not {show(value)}")
        )
    elif millis < MIN_EPOCH_MS:
        problems.append(
            Problem(
                at,
                f"{ca}: {millis} is before 1973 in epoch milliseconds: seconds? "
                "Timestamps are UNIX epoch milliseconds",
            )
        )
    elif millis > MAX_EPOCH_MS:
        problems.append(
            Problem(
                at,
                f"{ca}: {millis} is after 2100 in epoch milliseconds: microseconds? "
                "Timestamps are UNIX epoch milliseconds",
            )
        )


def _string_list(ca: str, value: object, at: DataPath, problems: list[Problem]) -> None:
    if not isinstance(value, list):
        problems.append(
            Problem(at, f"{ca}: seed list must be an array of strings, not {show(value)}")
        )
        return
    for index, item in enumerate(value):
        if not isinstance(item, str):
            problems.append(
                Problem((*at, index), f"{ca}: list items must be strings, not {show(item)}")
            )
            return


def _average(ca: str, value: object, at: DataPath, problems: list[Problem]) -> None:
    if not isinstance(value, dict):
        problems.append(Problem(at, f"{ca}: average takes key_value_pairs with sum and count"))
        return
    for key in value:
        if key not in ("sum", "count"):
            problems.append(unknown((*at, key), str(key), ["sum", "count"], "average key"))
    total = value.get("sum")
    if total is None:
        problems.append(Problem((*at, "sum"), f"{ca}: average needs sum"))
    elif not is_number(total):
        problems.append(Problem((*at, "sum"), f"{ca}: {NOT_NUMERIC}, not {show(total)}"))
    count = value.get("count")
    number = whole_number(count)
    if count is None:
        problems.append(Problem((*at, "count"), f"{ca}: average needs count"))
    elif number is None or number <= 0:
        problems.append(
            Problem((*at, "count"), f"{ca}: count must be a positive integer, not {show(count)}")
        )


def _most_frequent(ca: str, value: object, at: DataPath, problems: list[Problem]) -> None:
    if not isinstance(value, dict):
        problems.append(Problem(at, f"{ca}: most_frequent takes key_value_pairs: value -> count"))
        return
    for key, count in value.items():
        if not is_number(count):
            problems.append(
                Problem(
                    (*at, key),
                    f"{ca}: {NOT_NUMERIC}: the count of {show(key)}, not {show(count)}",
                )
            )
            return


#: JSON numbers the API (and the encoder) carry as integers: signed or unsigned 64-bit.
_INTEGERS = range(-(2**63), 2**64)


def oversized_integer(value: Any, path: DataPath = ()) -> DataPath | None:
    """Where `value` holds an integer too large to send (a CSV cell can; a JSONL line reads
    one as a float), or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return None if value in _INTEGERS else path
    if isinstance(value, dict):
        items: Iterator[tuple[str | int, Any]] = iter(value.items())
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = oversized_integer(item, (*path, key))
        if found is not None:
            return found
    return None
