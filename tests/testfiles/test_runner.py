"""How a test file's expected values compare with the evaluator's (README, "Testing CAs")."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from reconciler.testfiles.kinds import misfit
from reconciler.testfiles.runner import difference, legible, matches, show

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


# fmt: off
#: (calculation type, expected, the start of why it can never match, or None: it can).
MISFITS: list[tuple[str, object, str | None]] = [
    ("sum", 5, None),
    ("sum", "5", None),                 # the text a sum is written as
    ("sum", None, None),
    ("sum", "five", "A sum's value is a number or null (no value), not the text 'five'"),
    ("sum", "160.50", "A sum's value is a number, and '160.50' in quotes is text, "
                      "compared as written (the number is written 160.5)"),
    ("average", True, "An average's value is a number or null (no value), not the boolean"),
    ("max", [5], "A max's value is a number or null (no value), not a list"),
    ("min", date(2024, 1, 1), "A min's value is a number or null (no value), not the timestamp"),
    ("count", 0, None),
    ("count", None, "A count's value is a number (0 when no event counts), never null"),
    ("count", "-", "A count's value is a number (0 when no event counts), never null"),
    ("unique_values_count", [], "A unique_values_count's value is a number (0 when"),
    ("unique_list", ["hat"], None),
    ("unique_list", '"hat","shoe"', None),  # written as mParticle writes it
    ("unique_list", "hat", "A unique_list's value is a list of values or null (no value), "
                           "not the text 'hat'; write [hat] for a list of one value"),
    ("unique_list", 3, "A unique_list's value is a list of values or null (no value), "
                       "not the number 3; write [3] for a list of one value"),
    ("unique_list", date(2024, 1, 1), "A unique_list's value is a list of values or null "
                                      "(no value), not the timestamp 2024-01-01; "
                                      'write ["2024-01-01"] for a list of one value'),
    ("last_occurrence_timestamp", "2024-01-01", None),
    ("last_occurrence_timestamp", 1704067200000, None),
    ("last_occurrence_timestamp", datetime(2024, 1, 1), None),
    ("first_occurrence_timestamp", "yesterday", "A first_occurrence_timestamp's value is a "
                                                "timestamp (ISO 8601 or epoch ms) or null"),
    ("first_occurrence_timestamp", 1.5, "A first_occurrence_timestamp's value is a timestamp"),
    ("first_occurrence", "hat", None),
    ("last_occurrence", 7, None),
    ("most_frequent", True, None),
    ("most_frequent", ["hat"], "A most_frequent's value is one attribute's value or null "
                               "(no value), not a list"),
    ("no_such_type", "anything", None),
]
#: Values each calculation type can take, as the evaluator writes them.
WRITTEN = {
    "number": ["0", "5", "160.5", "-1", "1000000", "-"],
    "always": ["0", "5", "1000000"],
    "timestamp": ["2024-01-01T00:00:00.000Z", "1970-01-01T00:00:00.001Z", "-"],
    "list": ['"hat"', '"hat","shoe"', '"5"', "-"],
    "value": ["hat", "5", "160.5", "true", "2024-01-01", '"a","b"', "-"],
}
KIND_OF = {
    "sum": "number", "average": "number", "max": "number", "min": "number", "count": "always",
    "unique_values_count": "always", "unique_list": "list",
    "first_occurrence_timestamp": "timestamp", "last_occurrence_timestamp": "timestamp",
    "first_occurrence": "value", "last_occurrence": "value", "most_frequent": "value",
}
# fmt: on


@pytest.mark.parametrize(("calculation_type", "expected", "why"), MISFITS)
def test_a_failure_that_can_never_pass_says_why(
    calculation_type: str, expected: object, why: str | None
) -> None:
    found = misfit(calculation_type, expected)
    if why is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(why), found
        # Only what can never match is explained: no value of the type matches it.
        kind = KIND_OF[calculation_type]
        assert not any(matches(expected, actual) for actual in WRITTEN[kind])


def test_a_failed_list_names_the_values_missing_and_not_expected() -> None:
    """`expected "boots","hat", got "hat","shoe"` is legible for two values, not for the
    100 a unique list may hold."""
    assert difference(["hat", "boots"], '"hat","shoe"') == (
        'Missing: "boots"; not expected: "shoe".'
    )
    assert difference(["hat", "shoe", 5], '"5","hat"') == 'Missing: "shoe".'
    assert difference(["hat"], '"hat","shoe"') == 'Not expected: "shoe".'
    assert difference(["hat"], "-") == 'Missing: "hat".'
    assert difference(["hat", "hat"], '"hat"') == (
        "The expected list names a value twice; a unique list holds each once."
    )
    assert difference("hat", '"hat","shoe"') is None  # no list expected: `kinds.misfit`'s
    assert difference(["hat"], "12") is None  # not a unique list's value
