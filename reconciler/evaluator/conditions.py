"""Conditions compiled once into tests on one attribute value: the operator x type map of
the Platform API, with the semantics of docs/semantics.md (rules R11-R17).

A compiled test takes the raw attribute value, or MISSING when the event does not carry
it. A missing attribute meets only `not_exists` (R11): "if the event does not contain the
attribute, it is implied that the condition is not met".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import regex

from reconciler.evaluator.values import (
    MISSING,
    day_millis,
    instant_millis,
    iso_millis,
    text_of,
    to_boolean,
    to_number,
)

Test = Callable[[object], bool]

#: Longest one `pattern` search may take on one value. Manifests and test files come from
#: pull requests, and a pattern such as `(a|aa)+$` backtracks for hours on the right value:
#: in `plan` (value diffs) and `test`, where no signal stops a search in progress.
PATTERN_SECONDS = 1.0


class DefinitionError(ValueError):
    """A definition the evaluator cannot read (an unknown calculation type or operator)."""


def _never(raw: object) -> bool:
    return False


def _presence(operator: str) -> Test | None:
    """exists, not_exists and empty mean the same for every condition type (R12)."""
    if operator == "exists":
        return lambda raw: raw is not MISSING
    if operator == "not_exists":
        return lambda raw: raw is MISSING
    if operator == "empty":
        return lambda raw: raw == ""
    return None


def _text_test(operator: str, value: str | None, values: Sequence[str]) -> Test:
    """String conditions (R13): exact, case-sensitive comparisons of the value's text."""
    if operator == "in_list":
        allowed = frozenset(values)
        return lambda raw: text_of(raw) in allowed
    if value is None:
        return _never
    operand = value
    if operator == "equals":
        return lambda raw: text_of(raw) == operand
    if operator == "not_equals":
        return lambda raw: (text := text_of(raw)) is not None and text != operand
    if operator == "contains":
        return lambda raw: (text := text_of(raw)) is not None and operand in text
    if operator == "not_contains":
        return lambda raw: (text := text_of(raw)) is not None and operand not in text
    if operator == "pattern":
        return _pattern_test(operand)
    raise DefinitionError(f"operator {operator!r} does not apply to string conditions")


def _pattern_test(pattern: str) -> Test:
    """A regular expression searched in the value's text (R14), through the `regex`
    library (Python's syntax, and Java's `\\p{...}` classes too), each search bounded by
    PATTERN_SECONDS: past it, the definition is reported, not the run hung."""
    try:
        compiled = regex.compile(pattern)
    except regex.error:
        return _never  # a pattern that does not compile matches nothing (R14)

    def test(raw: object) -> bool:
        text = text_of(raw)
        if text is None:
            return False
        try:
            return compiled.search(text, timeout=PATTERN_SECONDS) is not None
        except TimeoutError:
            raise DefinitionError(
                f"pattern {pattern!r} searched one value for over {PATTERN_SECONDS:g} s "
                "(repetition inside repetition, such as (a|aa)+, can backtrack without "
                "end); write it without"
            ) from None

    return test


_COMPARE: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "equals": lambda a, b: a == b,
    "not_equals": lambda a, b: a != b,
    "greater_than": lambda a, b: a > b,
    "greater_or_equal": lambda a, b: a >= b,
    "less_than": lambda a, b: a < b,
    "less_than_or_equal": lambda a, b: a <= b,
}


def _number_test(operator: str, operand: Mapping[str, Any]) -> Test:
    """Number conditions (R15): the value converted like a numeric calculation's (numeric
    strings count); a value that is not a number meets no comparison."""
    if operator == "in_list":
        allowed = {n for n in map(to_number, operand.get("values") or ()) if n is not None}
        return lambda raw: to_number(raw) in allowed
    return _ordered_test(operator, operand, to_number, _COMPARE, "between", "number")


def _ordered_test(
    operator: str,
    operand: Mapping[str, Any],
    convert: Callable[[object], Any],
    compare: Mapping[str, Callable[[Any, Any], bool]],
    between: str,
    kind: str,
) -> Test:
    """A number or date condition: both sides converted by `convert` (a value it cannot
    convert meets no comparison), then compared, or checked within `between`'s bounds."""
    if operator == between:
        low, high = convert(operand.get("min_value")), convert(operand.get("max_value"))
        if low is None or high is None:
            return _never
        return lambda raw: (v := convert(raw)) is not None and low <= v <= high
    test = compare.get(operator)
    if test is None:
        raise DefinitionError(f"operator {operator!r} does not apply to {kind} conditions")
    target = convert(operand.get("value"))
    if target is None:
        return _never
    return lambda raw: (v := convert(raw)) is not None and test(v, target)


def _boolean_test(operator: str, operand: Mapping[str, Any]) -> Test:
    """Boolean conditions (R17): `true`/`false` as JSON booleans or text, any case."""
    if operator != "equals":
        raise DefinitionError(f"operator {operator!r} does not apply to boolean conditions")
    target = to_boolean(operand.get("value"))
    if target is None:
        return _never
    return lambda raw: to_boolean(raw) is target


def _day(raw: object) -> int | None:
    """The UTC calendar day (days since 1970-01-01) of an ISO 8601 text or an instant in
    epoch milliseconds; None for anything else."""
    millis = iso_millis(raw) if isinstance(raw, str) else instant_millis(raw)
    return None if millis is None else millis // day_millis()


_DAY_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "equals": lambda a, b: a == b,
    "before": lambda a, b: a < b,
    "after": lambda a, b: a > b,
}


def _date_test(operator: str, operand: Mapping[str, Any]) -> Test:
    """Date conditions (R16) compare UTC calendar days: an operand's time of day is
    ignored, so `after 2024-01-01` means from 2024-01-02 on."""
    return _ordered_test(operator, operand, _day, _DAY_COMPARE, "between_dates", "date")


def _strings(values: object) -> list[str]:
    if not isinstance(values, list):
        return []
    return [text for text in map(text_of, values) if text is not None]


def compile_test(condition: Mapping[str, Any]) -> Test:
    """The test a condition applies to one attribute value."""
    kind = condition.get("type")
    operator = condition.get("operator")
    if not isinstance(operator, str):
        raise DefinitionError("a condition has no operator")
    presence = _presence(operator)
    if presence is not None:
        return presence
    if kind == "string":
        value = condition.get("value")
        return _text_test(operator, text_of(value), _strings(condition.get("values")))
    if kind == "number":
        return _number_test(operator, condition)
    if kind == "boolean":
        return _boolean_test(operator, condition)
    if kind == "date":
        return _date_test(operator, condition)
    raise DefinitionError(f"condition type {kind!r} is unknown")
