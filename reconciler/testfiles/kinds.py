"""The kind of value each calculation type holds, and whether an expected value of a test
file could ever be it: a failure whose expectation never can says why under its
`expected hat, got "hat"` (`A unique_list's value is a list ...; write [hat] ...`) instead
of leaving the reader to find out. The comparison itself is the runner's (README, "Testing
CAs"); this only explains it.

A failure, not a load error: the same test files give `plan` its value diffs, and a plan
that turns a sum into a count must still show them, with the tests that expected a sum
failing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from reconciler.evaluator import NO_VALUE, parse_list
from reconciler.evaluator.values import (
    instant_millis,
    iso_millis,
    render_number,
    text_of,
    to_number,
)

#: What a check answers: None when the expected value can be the CA's, else the end of the
#: message: after "<type>'s value is <kind>" when it starts with a comma, else after the
#: type's "value".
Check = Callable[[object], str | None]


def _described(expected: object) -> str:
    """An expected value named by its kind, as the user wrote it."""
    if isinstance(expected, bool):
        return f"the boolean {'true' if expected else 'false'}"
    if isinstance(expected, datetime | date):
        return f"the timestamp {expected.isoformat()}"
    if isinstance(expected, list):
        return "a list"
    if isinstance(expected, str):
        return f"the text {expected!r}"
    return f"the number {expected}"


def _number(expected: object) -> str | None:
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return None if to_number(expected) is not None else f", not {_described(expected)}"
    if isinstance(expected, str) and (number := to_number(expected)) is not None:
        written = render_number(number)
        if written == expected:
            return None
        # Quoted, it is text, compared as written: "160.50" is never the value 160.5.
        return (
            f" is a number, and {expected!r} in quotes is text, compared as written (the "
            f"number is written {written}): write it without quotes to compare numbers"
        )
    return f", not {_described(expected)}"


def _timestamp(expected: object) -> str | None:
    if isinstance(expected, datetime | date):
        return None
    if isinstance(expected, int) and not isinstance(expected, bool):
        return None if instant_millis(expected) is not None else f", not {_described(expected)}"
    if isinstance(expected, str) and iso_millis(expected) is not None:
        return None
    return f", not {_described(expected)}"


def _unique_list(expected: object) -> str | None:
    if isinstance(expected, list) or (isinstance(expected, str) and parse_list(expected)):
        return None  # a list, or the text of one as mParticle writes it: "a","b"
    shown = expected if isinstance(expected, str) else text_of(expected)
    if isinstance(expected, datetime | date):  # a list item is text: quoted, as written
        shown = f'"{expected.isoformat()}"'
    return f", not {_described(expected)}; write [{shown}] for a list of one value"


def _attribute_value(expected: object) -> str | None:
    return ", not a list" if isinstance(expected, list) else None


_NUMBER = "a number or null (no value)"
_TIMESTAMP = "a timestamp (ISO 8601 or epoch ms) or null (no value)"
_VALUE = "one attribute's value or null (no value)"
#: By calculation type: what its value is, and the check of an expectation.
_KINDS: dict[str, tuple[str, Check]] = {
    "count": ("a number (0 when no event counts)", _number),
    "unique_values_count": ("a number (0 when there is no value)", _number),
    "sum": (_NUMBER, _number),
    "min": (_NUMBER, _number),
    "max": (_NUMBER, _number),
    "average": (_NUMBER, _number),
    "first_occurrence_timestamp": (_TIMESTAMP, _timestamp),
    "last_occurrence_timestamp": (_TIMESTAMP, _timestamp),
    "unique_list": ("a list of values or null (no value)", _unique_list),
    "first_occurrence": (_VALUE, _attribute_value),
    "last_occurrence": (_VALUE, _attribute_value),
    "most_frequent": (_VALUE, _attribute_value),
}
#: Calculation types that hold a value for every user (R21): null never matches them.
_ALWAYS_VALUED = frozenset({"count", "unique_values_count"})


def misfit(calculation_type: object, expected: object) -> str | None:
    """Why `expected` can never be the value of a CA of `calculation_type`, as a sentence
    naming both; None when it can (or when the type is not one known here)."""
    if not isinstance(calculation_type, str) or calculation_type not in _KINDS:
        return None
    kind, check = _KINDS[calculation_type]
    if expected is None or expected in (NO_VALUE, []):  # no value
        reason = ", never null" if calculation_type in _ALWAYS_VALUED else None
    else:
        reason = check(expected)
    if reason is None:
        return None
    article = "An" if calculation_type == "average" else "A"
    if reason.startswith(","):
        reason = f" is {kind}{reason}"
    return f"{article} {calculation_type}'s value{reason}."
