"""How a test file's expected values compare with the evaluator's (README, "Testing CAs")."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from reconciler.testfiles.runner import legible, matches, show

# fmt: off
ROWS: list[tuple[object, str, bool]] = [
    (130, "130", True),
    (130, "130.0", True),
    (130.5, "130.5", True),
    (130, "131", False),
    (130, "-", False),
    ("130", "130", True),
    ("130", "130.00", False),           # text compares as text (README)
    ("12", "0012", False),              # a ZIP code or SKU keeps its zeros
    ("1.50", "1.5", False),
    ("shoes", "shoes", True),
    ("shoes", "Shoes", False),
    ("-", "-", True),
    (None, "-", True),
    (None, "0", False),
    (True, "true", True),
    (False, "true", False),
    (datetime(2024, 1, 1, tzinfo=timezone.utc), "2024-01-01T00:00:00.000Z", True),
    (datetime(2024, 1, 1, 1), "2024-01-01T00:00:00.000Z", False),
    (date(2024, 1, 1), "2024-01-01T00:00:00.000Z", True),
    ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z", True),   # the same instant
    ("2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00.000Z", True),
    ("2024-01-01T00:00:01Z", "2024-01-01T00:00:00.000Z", False),
    (1704067200000, "2024-01-01T00:00:00.000Z", True),             # epoch ms (R6)
    (1704067200001, "2024-01-01T00:00:00.000Z", False),
    (["b", "a"], '"a","b"', True),      # lists in any order
    (["a"], '"a","b"', False),
    ([], "-", True),
    ([1, "x"], '"1","x"', True),
    (["a"], "a", False),                # not a unique list
]
# fmt: on


@pytest.mark.parametrize(("expected", "actual", "same"), ROWS)
def test_matches(expected: object, actual: str, same: bool) -> None:
    assert matches(expected, actual) is same


def test_show_writes_expected_values_as_values_are_written() -> None:
    assert show(None) == "-"
    assert show(True) == "true"
    assert show(130) == "130"
    assert show(["b", "a"]) == '"a","b"'
    assert show(130.0) == "130"
    assert show(61.6650) == "61.665"
    assert show("0012") == "0012"
    assert show(["b", 'say "hi"']) == '"b","say \\"hi\\""'
    assert show(date(2024, 1, 1)) == "2024-01-01T00:00:00.000Z"
    # An empty list expects no value (it matches `-`): not `expected , got 2`.
    assert show([]) == "-"
    assert matches([], "-")
    assert show(datetime(2024, 2, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == (
        "2024-02-01T00:00:00.000Z"
    )


def test_a_report_quotes_values_a_reader_could_not_see_whole() -> None:
    """`expected shoes, got shoes ` read as two equal values, and `got ` as nothing at all:
    text with white space at an end, or none, is shown in JSON quotes."""
    assert [legible(v) for v in ("shoes", "-", '"a","b"', "a b", "12")] == [
        "shoes",
        "-",
        '"a","b"',
        "a b",
        "12",
    ]
    assert [legible(v) for v in ("shoes ", " shoes", "", "a\n", "\t")] == [
        '"shoes "',
        '" shoes"',
        '""',
        '"a\\n"',
        '"\\t"',
    ]
