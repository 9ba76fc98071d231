"""Scalar values of definitions: every spelling has one canonical text, found in bounded
time whatever the magnitude, and a value out of range is a ValueError (a located manifest
error), never a crash."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.models import LiveCA
from reconciler.models.values import (
    MAX_PLAIN_DIGITS,
    canonical_number,
    canonical_operand,
    format_number,
    parse_instant,
    shown,
)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("22", "22"),
        ("22.0", "22"),
        ("2.2e1", "22"),
        ("0.50", "0.5"),
        ("-0.0e5", "0"),
        ("0.00123", "0.00123"),
        ("-123.45", "-123.45"),
        ("1E+2", "100"),
        (".5", "0.5"),
        ("12345678901234567890123456789.123456789", "12345678901234567890123456789.123456789"),
        ("1e5000", "1e+5000"),
        ("-1.50e-100000000", "-1.5e-100000000"),
        ("1e100000000", "1e+100000000"),
    ],
)
def test_a_number_has_one_short_spelling(written: str, canonical: str) -> None:
    assert canonical_number(written) == canonical


def test_digits_are_written_out_up_to_the_limit_then_the_exponent_grows() -> None:
    assert canonical_number(f"1e{MAX_PLAIN_DIGITS - 1}") == "1" + "0" * (MAX_PLAIN_DIGITS - 1)
    assert canonical_number(f"1e{MAX_PLAIN_DIGITS}") == f"1e+{MAX_PLAIN_DIGITS}"
    assert canonical_number(f"1.25e-{MAX_PLAIN_DIGITS}") == f"1.25e-{MAX_PLAIN_DIGITS}"


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_the_canonical_spelling_reads_back_as_the_same_number(number: Decimal) -> None:
    text = format_number(number)
    assert Decimal(text) == number
    assert format_number(Decimal(text)) == text


def test_a_live_operand_of_any_magnitude_reads_at_once() -> None:
    """A number the API holds (the emulator takes `1e100000000`) must not hang a plan."""
    condition = {"type": "number", "operator": "equals", "attribute_name": "N"}
    live = LiveCA.model_validate(
        {
            "id": 1,
            "name": "Huge",
            "active_definition": {
                "calculation_type": "count",
                "datapoint": {"event_type": "session_start"},
                "conditions": [{**condition, "value": "1e100000000"}],
                "time_period": {"type": "since", "date": "2024-01-01T00:00:00"},
            },
        }
    )
    assert live.active is not None
    assert live.active["conditions"][0]["value"] == "1e+100000000"
    assert canonical_operand("number", "1e100000000") == "1e+100000000"


@pytest.mark.parametrize("written", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_a_date_that_leaves_the_calendar_in_utc_is_a_value_error(written: str) -> None:
    with pytest.raises(ValueError, match="out of range: in UTC it falls outside the years"):
        parse_instant(written)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (date(2024, 1, 1), "2024-01-01"),
        (datetime(2024, 2, 1, 10, 0), "2024-02-01T10:00:00"),
        (True, "true"),
        (Decimal("NaN"), "NaN"),
        ("x", "'x'"),
        (5, "5"),
    ],
)
def test_a_value_is_quoted_as_written_not_as_python_spells_it(value: object, written: str) -> None:
    assert shown(value) == written
