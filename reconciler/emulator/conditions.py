"""Condition rules of a definition: the operator × type support map and which of `value`,
`values`, `min_value`, `max_value` each operator requires or forbids, per the docs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reconciler.emulator import messages as m
from reconciler.emulator.values import is_numeric_text, one_of, parse_iso

if TYPE_CHECKING:
    from reconciler.emulator.validation import Errors

_ALL = frozenset({"string", "number", "boolean", "date"})
#: The docs' "Operator - Type Support Map".
SUPPORT: dict[str, frozenset[str]] = {
    "exists": _ALL,
    "not_exists": _ALL,
    "empty": _ALL,
    "in_list": frozenset({"string", "number"}),
    "contains": frozenset({"string"}),
    "not_contains": frozenset({"string"}),
    "pattern": frozenset({"string"}),
    "equals": _ALL,
    "not_equals": frozenset({"string", "number"}),
    "greater_than": frozenset({"number"}),
    "greater_or_equal": frozenset({"number"}),
    "less_than": frozenset({"number"}),
    "less_than_or_equal": frozenset({"number"}),
    "before": frozenset({"date"}),
    "after": frozenset({"date"}),
    "between": frozenset({"number"}),
    "between_dates": frozenset({"date"}),
}
NO_VALUE_OPERATORS = frozenset({"exists", "not_exists", "empty"})
LIST_OPERATORS = frozenset({"in_list"})
RANGE_OPERATORS = frozenset({"between", "between_dates"})

OPERATOR_MESSAGES = {
    "string": m.STRING_OPERATOR,
    "number": m.NUMBER_OPERATOR,
    "boolean": m.BOOLEAN_OPERATOR,
    "date": m.DATE_OPERATOR,
}
VALUE_MESSAGES = {
    "string": m.STRING_VALUE,
    "number": m.NUMBER_VALUE,
    "boolean": m.BOOLEAN_VALUE,
    "date": m.DATE_VALUE,
}
# Date in_list is ruled out by the support map, so DATE_IN_LIST is reached only if the map
# ever allows it; boolean has no in-list message because it has no in_list operator.
LIST_MESSAGES = {"string": m.STRING_IN_LIST, "number": m.NUMBER_IN_LIST, "date": m.DATE_IN_LIST}
RANGE_MESSAGES = {"number": (m.NUMBER_MIN, m.NUMBER_MAX), "date": (m.DATE_MIN, m.DATE_MAX)}


def _is_string(value: object) -> bool:
    return isinstance(value, str)


def _is_boolean_text(value: object) -> bool:
    return value in ("true", "false")


def _is_date_text(value: object) -> bool:
    return parse_iso(value) is not None


#: Condition values are strings; these say whether a string suits the condition's type.
VALUE_CHECKS: dict[str, Callable[[object], bool]] = {
    "string": _is_string,
    "number": is_numeric_text,
    "boolean": _is_boolean_text,
    "date": _is_date_text,
}


def _absent(value: object) -> bool:
    return value is None or value in ("", [])


def check_conditions(raw: object, errors: Errors) -> list[dict[str, Any]] | None:
    """Canonical conditions (None when there are none), adding an error per broken rule."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        errors.add(m.CONDITION)
        return None
    result = [_check_condition(condition, errors) for condition in raw]
    return result or None


def _check_condition(raw: object, errors: Errors) -> dict[str, Any]:
    if not isinstance(raw, dict):
        errors.add(m.CONDITION)
        return {}
    kind = raw.get("type")
    operator = raw.get("operator")
    attribute = raw.get("attribute_name")
    value, values = raw.get("value"), raw.get("values")
    minimum, maximum = raw.get("min_value"), raw.get("max_value")
    if not isinstance(attribute, str) or not attribute.strip():
        errors.add(m.CONDITION_ATTRIBUTE)
    if not isinstance(kind, str) or kind not in _ALL:
        errors.add(m.CONDITION_TYPE)
    elif not isinstance(operator, str) or kind not in SUPPORT.get(operator, ()):
        errors.add(OPERATOR_MESSAGES[kind])
    else:
        _check_values(
            kind,
            operator,
            value=value,
            values=values,
            minimum=minimum,
            maximum=maximum,
            errors=errors,
        )
    return {
        "type": kind,
        "operator": operator,
        "attribute_name": attribute,
        # "Field value is ignored when using the in_list operator."
        "value": None if _absent(value) or one_of(operator, LIST_OPERATORS) else value,
        "values": None if _absent(values) else values,
        "min_value": None if _absent(minimum) else minimum,
        "max_value": None if _absent(maximum) else maximum,
    }


def _check_values(
    kind: str,
    operator: str,
    *,
    value: object,
    values: object,
    minimum: object,
    maximum: object,
    errors: Errors,
) -> None:
    suits = VALUE_CHECKS[kind]
    single = operator not in NO_VALUE_OPERATORS | LIST_OPERATORS | RANGE_OPERATORS
    if single:
        if _absent(value) or not suits(value):
            errors.add(VALUE_MESSAGES[kind])
    elif operator not in LIST_OPERATORS and not _absent(value):
        errors.add(m.VALUE_MUST_BE_EMPTY)
    if operator in LIST_OPERATORS:
        valid = (
            isinstance(values, list)
            and bool(values)
            and all(isinstance(item, str) and item != "" and suits(item) for item in values)
        )
        if not valid:
            errors.add(LIST_MESSAGES[kind])
    elif not _absent(values):
        errors.add(m.VALUES_MUST_BE_EMPTY)
    if operator in RANGE_OPERATORS:
        min_message, max_message = RANGE_MESSAGES[kind]
        if _absent(minimum) or not suits(minimum):
            errors.add(min_message)
        if _absent(maximum) or not suits(maximum):
            errors.add(max_message)
    else:
        if not _absent(minimum):
            errors.add(m.MIN_MUST_BE_EMPTY)
        if not _absent(maximum):
            errors.add(m.MAX_MUST_BE_EMPTY)
