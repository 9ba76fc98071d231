"""Expected values, as a test file writes them, against the values the evaluator computes:
how one is shown (as mParticle stores values) and whether a computed value matches it.

Beside the evaluator because two steps compare: `reconciler test` (`testfiles.runner`) and
the plan's value diffs (`plan.values`, which marks an "after" value its test would fail).
Comparison (README, "Testing CAs"): an expected number matches a numeric value equal to it
(`130` matches `130.0`), a timestamp the same instant, a list the same values in any order,
null the `-` of no value; text matches the same text only (`"12"` is not the value `0012`),
except that a date-time written as text (flow mappings need the quotes) matches the same
instant. Like the rest of the evaluator, it imports nothing else of the reconciler.
"""

from __future__ import annotations

from datetime import date, datetime

from reconciler.evaluator.values import (
    NO_VALUE,
    instant_millis,
    iso_millis,
    parse_list,
    render_list,
    render_number,
    render_timestamp,
    text_of,
    to_number,
)


def show(expected: object) -> str:
    """An expected value written as the actual values are (R22, R24, R25)."""
    if expected is None:
        return NO_VALUE
    if isinstance(expected, datetime | date):
        millis = instant_millis(expected)
        return NO_VALUE if millis is None else render_timestamp(millis)
    if isinstance(expected, list):
        # An empty list expects no value (`matches`), which is written `-`.
        return render_list([text_of(item) or "" for item in expected]) or NO_VALUE
    number = None if isinstance(expected, str) else to_number(expected)
    if number is not None:
        return render_number(number)
    return text_of(expected) or str(expected)


def _same_text(expected: str, actual: str) -> bool:
    if expected == actual:
        return True
    moment = iso_millis(expected)
    return moment is not None and moment == iso_millis(actual)


def matches(expected: object, actual: str) -> bool:
    """Whether the evaluator's `actual` value is the `expected` one of a test file."""
    if expected is None:
        return actual == NO_VALUE
    if isinstance(expected, bool):
        return actual == ("true" if expected else "false")
    if isinstance(expected, int | float):
        number = to_number(expected)
        if number is not None and number == to_number(actual):
            return True
        # An integer may also be an instant in epoch milliseconds (R6).
        return isinstance(expected, int) and instant_millis(expected) == iso_millis(actual)
    if isinstance(expected, datetime | date):
        return instant_millis(expected) == iso_millis(actual)
    if isinstance(expected, list):
        values = parse_list(actual)
        return values is not None and sorted(values) == sorted(
            text_of(item) or "" for item in expected
        )
    return isinstance(expected, str) and _same_text(expected, actual)
