"""Values as the evaluator reads and writes them: event attribute values converted to
numbers, booleans and instants, and results rendered as mParticle stores them (strings).

The evaluator's lowest layer (docs/semantics.md, rules R5, R6 and R21-R25). It imports
nothing else of the reconciler: the emulator uses the evaluator too.
"""

from __future__ import annotations

import math
import re
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta, timezone
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    InvalidOperation,
    localcontext,
)
from typing import Any, Final

import orjson


class _Missing:
    """The marker of an attribute an event does not carry (or carries as null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

#: What a CA shows when it found no value to compute (R21).
NO_VALUE = "-"
#: Averages keep this many decimal places, rounded half to even (R23).
AVERAGE_PLACES = 6
#: Significant digits of the arithmetic (R5): sums of values of up to 60 digits are exact,
#: where Python's default context (28) would round them.
PRECISION = 60
_AVERAGE_QUANTUM = Decimal(1).scaleb(-AVERAGE_PLACES)

#: ASCII digits and spaces only: `re` would take `１２` or `٣` for digits, and Decimal would
#: read them, where no JSON reader or number parser does.
_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*", re.ASCII)
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII,
)
#: `_ISO` for editors (JSON Schema `pattern`), its fields in range: `format: date-time` is
#: RFC 3339 to them, which requires an offset and refuses a plain date that `iso_millis` takes.
ISO_PATTERN = (
    r"^\s*\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([T ]([01]\d|2[0-3]):[0-5]\d"
    r"(:[0-5]\d([.,]\d{1,9})?)?(Z|z|[+-]\d{2}(:?\d{2})?)?)?\s*$"
)
_EPOCH = datetime(1970, 1, 1)
_DAY_MS = 86_400_000
#: The last instant ISO 8601 writes with a four-digit year (R24): a value is never later
#: than its `as_of`, so an `as_of` up to it keeps every timestamp writable.
LAST_MILLIS = (datetime(9999, 12, 31, 23, 59, 59, 999000) - _EPOCH) // timedelta(milliseconds=1)
#: Digits a number is written with at most; past them, with an exponent (Python's own
#: limit for turning an integer into text).
_PLAIN_DIGITS = 4300


def to_number(raw: object) -> Decimal | None:
    """A JSON number or a numeric string as a Decimal (R5); None for anything else.

    Booleans, NaN and infinities are not numbers; `"34.32"` is 34.32 exactly.
    """
    if isinstance(raw, str):
        if _NUMBER.fullmatch(raw) is None:
            return None
        return Decimal(raw.strip())
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        # repr is the shortest text that reads back as the same float: 19.99 stays 19.99.
        return Decimal(repr(raw)) if math.isfinite(raw) else None
    return None


def to_boolean(raw: object) -> bool | None:
    """A JSON boolean or the text `true`/`false` (any case); None for anything else."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        lowered = raw.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    return None


def iso_millis(text: str) -> int | None:
    """Epoch milliseconds of an ISO 8601 date or date-time (no zone = UTC), else None."""
    match = _ISO.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    millis = (moment - _EPOCH) // timedelta(milliseconds=1)
    millis += int((fraction or "0")[:3].ljust(3, "0"))
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        millis -= sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0)) * 60_000
    return millis


def instant_millis(raw: object) -> int | None:
    """Epoch milliseconds of an instant given as ISO 8601 text, a date/datetime, or an
    integer of epoch milliseconds (R6); None for anything else."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw) if math.isfinite(raw) and raw.is_integer() else None
    if isinstance(raw, str):
        return iso_millis(raw)
    if isinstance(raw, datetime):
        if raw.tzinfo is not None:
            raw = raw.astimezone(timezone.utc).replace(tzinfo=None)
        return (raw - _EPOCH) // timedelta(milliseconds=1)
    if isinstance(raw, date):
        return (datetime(raw.year, raw.month, raw.day) - _EPOCH) // timedelta(milliseconds=1)
    return None


def day_millis() -> int:
    """The length of a day in milliseconds (windows and whole-day date operands)."""
    return _DAY_MS


def text_of(raw: object) -> str | None:
    """An attribute value as mParticle stores it: text as is, numbers as JSON writes them,
    booleans `true`/`false` (R22); None for values that are not scalars."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return repr(raw) if math.isfinite(raw) else None
    return None


def render_number(number: Decimal) -> str:
    """A number without exponent or trailing zeros: `130`, `35.32`, `-0.5` (R22); past
    4,300 digits with one (`1e+5000`), as manifests spell numbers, so that no value takes
    longer to write than its text."""
    if abs(number.adjusted()) >= _PLAIN_DIGITS:
        mantissa, _, exponent = f"{number:e}".partition("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{exponent}"
    if number == number.to_integral_value():
        return str(int(number))
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def arithmetic() -> AbstractContextManager[Context]:
    """The context of the evaluator's arithmetic (R5): PRECISION significant digits, and
    every exponent a value can be written with (a sum of `1e100000000` is no overflow)."""
    return localcontext(Context(prec=PRECISION, Emax=MAX_EMAX, Emin=MIN_EMIN))


def render_average(total: Decimal, count: Decimal) -> str:
    """`total / count` rounded to AVERAGE_PLACES decimals, half to even (R23)."""
    with arithmetic():
        try:
            mean = (total / count).quantize(_AVERAGE_QUANTUM, rounding=ROUND_HALF_EVEN)
        except InvalidOperation:  # beyond 60 digits: keep the division's own rounding
            mean = total / count
    return render_number(mean)


def render_timestamp(millis: int) -> str:
    """ISO 8601 in UTC with milliseconds: `2024-02-01T09:30:00.000Z` (R24)."""
    moment = _EPOCH + timedelta(milliseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis % 1000:03d}Z"


def render_list(values: list[str]) -> str:
    """A unique list: each value as a JSON string, alphabetical, comma separated:
    `"Item 1","Item 2"` (R25)."""
    return ",".join(orjson.dumps(value).decode() for value in sorted(values))


def parse_list(text: str) -> list[str] | None:
    """The values of a rendered unique list, or None when `text` is not one."""
    if text == NO_VALUE:
        return []
    try:
        parsed: Any = orjson.loads("[" + text + "]")
    except orjson.JSONDecodeError:
        return None
    if not all(isinstance(item, str) for item in parsed):
        return None
    return list(parsed)
