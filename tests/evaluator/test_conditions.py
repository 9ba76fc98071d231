"""Every operator of every condition type (the Platform API's operator map), one row each:
values that meet the condition, values that do not, and an event without the attribute,
which meets `not_exists` only (R11, R12). Each row cites its rule in docs/semantics.md."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from reconciler.evaluator import evaluate
from reconciler.models.vocabulary import OPERATOR_SUPPORT
from tests.evaluator.events import AS_OF, at, condition, custom, definition


@dataclass(frozen=True)
class Row:
    rule: str
    kind: str
    operator: str
    operands: dict[str, Any]
    meets: list[object]
    fails: list[object] = field(default_factory=list)


NOON = at(0, 12)

# fmt: off
ROWS = [
    Row("R12", "string", "exists", {}, ["x", ""]),
    Row("R12", "string", "not_exists", {}, [], ["x", ""]),
    Row("R12", "string", "empty", {}, [""], ["x", " "]),
    Row("R13", "string", "in_list", {"values": ["USD", "EUR"]}, ["USD", "EUR"],
        ["usd", "GBP", ""]),
    Row("R13", "string", "contains", {"value": "shoe"}, ["shoes", "snowshoe"],
        ["Shoes", "sho"]),
    Row("R13", "string", "not_contains", {"value": "shoe"}, ["hat", "Shoes"], ["shoes"]),
    Row("R14", "string", "pattern", {"value": "^sh(o|e)+s$"}, ["shoes", "shes"],
        ["Shoes", "xshoes"]),
    Row("R14", "string", "pattern", {"value": "o+t"}, ["boots", "ot"], ["bo", "tob"]),
    Row("R14", "string", "pattern", {"value": "("}, [], ["(", "anything"]),
    # Java's classes, which Python's `re` refused (a pattern that then matched nothing).
    Row("R14", "string", "pattern", {"value": "^\\p{L}+$"}, ["héllo", "Ωmega"], ["h3llo", ""]),
    Row("R13", "string", "equals", {"value": "shoes"}, ["shoes"], ["Shoes", "shoes "]),
    Row("R13", "string", "equals", {"value": "7"}, [7, "7"], [7.0]),
    Row("R13", "string", "equals", {"value": "true"}, [True, "true"], ["True"]),
    Row("R13", "string", "not_equals", {"value": "shoes"}, ["hat", "Shoes"], ["shoes"]),
    Row("R12", "number", "exists", {}, [1, "x"]),
    Row("R12", "number", "not_exists", {}, [], [0]),
    Row("R12", "number", "empty", {}, [""], [0]),
    Row("R15", "number", "in_list", {"values": ["22", "7.5"]}, [22, "22.0", "7.50"],
        ["abc", 23]),
    Row("R15", "number", "equals", {"value": "22"}, ["22", 22, 22.0, "22.00"],
        ["22a", 21, True, "２２"]),
    Row("R15", "number", "not_equals", {"value": "22"}, [21, "23"], [22, "abc"]),
    Row("R15", "number", "greater_than", {"value": "10"}, [10.01, "11"], [10, "9", "abc"]),
    Row("R15", "number", "greater_or_equal", {"value": "10"}, [10, "10.0", 11], [9.99]),
    Row("R15", "number", "less_than", {"value": "10"}, [9, "-1"], [10]),
    Row("R15", "number", "less_than_or_equal", {"value": "10"}, [10, 9], [10.5]),
    Row("R15", "number", "between", {"min_value": "1", "max_value": "500"},
        [1, 500, "250"], [0, 500.01, "x"]),
    Row("R12", "boolean", "exists", {}, [True, False]),
    Row("R12", "boolean", "not_exists", {}, [], [False]),
    Row("R12", "boolean", "empty", {}, [""], [False]),
    Row("R17", "boolean", "equals", {"value": "true"}, [True, "true", "TRUE"],
        [False, "yes", 1]),
    Row("R17", "boolean", "equals", {"value": "false"}, [False, "False"], [True]),
    Row("R12", "date", "exists", {}, ["2024-01-01"]),
    Row("R12", "date", "not_exists", {}, [], ["2024-01-01"]),
    Row("R12", "date", "empty", {}, [""], ["2024-01-01"]),
    Row("R16", "date", "equals", {"value": "2024-01-01T00:00:00"},
        ["2024-01-01", "2024-01-01T23:59:59Z", NOON, "2024-01-02T01:00:00+02:00"],
        ["2023-12-31T23:59:59Z", "2024-01-02", "garbage", "２０２４-01-01"]),
    Row("R16", "date", "before", {"value": "2024-01-10T00:00:00"},
        ["2024-01-09T23:59:59Z", "2023-05-01"], ["2024-01-10T00:00:01Z", "2024-02-01"]),
    Row("R16", "date", "after", {"value": "2024-01-01T00:00:00"},
        ["2024-01-02", "2025-01-01"], ["2024-01-01T12:00:00Z", "2023-01-01"]),
    Row("R16", "date", "between_dates",
        {"min_value": "2024-01-01T00:00:00", "max_value": "2024-12-31T00:00:00"},
        ["2024-01-01", "2024-12-31T23:00:00Z"], ["2025-01-01", "2023-12-31T23:59Z"]),
]
# fmt: on


def _count(row: Row, values: list[object], *, with_missing: bool) -> str:
    rule = condition(row.kind, row.operator, "Value", **row.operands)
    events = [custom(when=at(1, i), Value=value) for i, value in enumerate(values)]
    if with_missing:
        events += [custom(when=at(2)), custom(when=at(3), Value=None)]
    return evaluate(definition("count", conditions=[rule]), events, None, AS_OF)


@pytest.mark.parametrize(
    "row",
    ROWS,
    ids=[f"{r.rule}: {r.kind} {r.operator} {r.operands}" for r in ROWS],
)
def test_condition(row: Row) -> None:
    for value in row.meets:
        assert _count(row, [value], with_missing=False) == "1", f"{value!r} should meet"
    for value in row.fails:
        assert _count(row, [value], with_missing=False) == "0", f"{value!r} should not meet"
    absent = "2" if row.operator == "not_exists" else "0"
    assert _count(row, [], with_missing=True) == absent, "an absent or null attribute"


def test_every_operator_of_the_type_map_has_a_row() -> None:
    covered = {(row.kind, row.operator) for row in ROWS}
    expected = {(kind, op) for kind, operators in OPERATOR_SUPPORT.items() for op in operators}
    assert covered == expected


#: Evaluates the pattern in a child, so that a search without end fails the test (after
#: the child's time limit) instead of hanging the suite.
BACKTRACKING = """
from reconciler.evaluator import DefinitionError, evaluate
from tests.evaluator.events import AS_OF, at, condition, custom, definition
rule = condition("string", "pattern", "Value", value="(a|aa)+$")
try:
    evaluate(definition("count", conditions=[rule]), [custom(when=at(1), Value="a" * 60 + "b")],
             None, AS_OF)
except DefinitionError as exc:
    print(exc)
"""


def test_a_pattern_that_backtracks_without_end_is_reported_within_its_bound() -> None:
    """`(a|aa)+$` on sixty a's and a b backtracks for hours in any engine that tries every
    split: a pull request's manifest and test file together would hang `plan` and `test`
    (no signal stops a search in progress). The search is bounded; the definition is
    reported."""
    command = [sys.executable, "-c", BACKTRACKING]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert done.stdout.startswith("pattern '(a|aa)+$' searched one value for over 1 s"), done
