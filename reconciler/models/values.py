"""Scalar values of definitions: parsing and their one canonical spelling.

Dates compare as instants (`2019-10-01` == `2019-10-01T00:00:00`), numbers by value
(`22` == `"22"` == `22.0`), booleans as `true`/`false`. Used by desired and live models alike.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

_DATETIME = TypeAdapter(datetime)
_ISO_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}(?:$|[T ])")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
#: Numbers are spelt with all their digits up to this many (Python's own limit for turning
#: text into an integer), in scientific notation beyond (`1e+5000`, never 5,001 digits).
MAX_PLAIN_DIGITS = 4300


def shown(value: object) -> str:
    """A value as a message quotes it, the way YAML or JSON writes it: text in quotes, a
    date in ISO 8601, a boolean as true or false (never Python's spelling of the object)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, Decimal)):  # a datetime is a date too
        return value.isoformat() if isinstance(value, date) else str(value)
    return repr(value)


def parse_instant(value: object) -> datetime:
    """A date, datetime or ISO 8601 string as a naive UTC datetime; ValueError otherwise."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if not _ISO_PREFIX.match(text):
            raise ValueError(f"{value!r} is not an ISO 8601 date (e.g. 2024-01-31)")
        try:
            moment = _DATETIME.validate_python(text)
        except ValidationError:
            raise ValueError(f"{value!r} is not a valid ISO 8601 date or datetime") from None
    else:
        raise ValueError(f"expected an ISO 8601 date, got {type(value).__name__} {shown(value)}")
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:
            raise ValueError(
                f"{shown(value)} is out of range: in UTC it falls outside the years 1 to 9999"
            ) from None
    return moment


def format_instant(moment: datetime) -> str:
    """The canonical spelling the API uses in definitions: `YYYY-MM-DDTHH:MM:SS[.ffffff]`."""
    return moment.isoformat(timespec="seconds" if moment.microsecond == 0 else "microseconds")


def canonical_instant(value: object) -> str:
    if isinstance(value, str):
        return _canonical_instant_text(value)
    return format_instant(parse_instant(value))


@lru_cache(maxsize=4096)
def _canonical_instant_text(value: str) -> str:
    """Dates repeat across CAs (periods, cutoffs): parse each spelling once."""
    return format_instant(parse_instant(value))


def parse_number(value: object) -> Decimal:
    """A finite number from an int, float or numeric string; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got boolean {shown(value)}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and _NUMBER.match(value.strip()):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    else:
        raise ValueError(f"{shown(value)} is not a number")
    if not number.is_finite():
        raise ValueError(f"{shown(value)} is not a finite number")
    return number


def format_number(number: Decimal) -> str:
    """`22`, `22.0` and `2.2e1` all spell `22`; `0.50` spells `0.5`. A number whose plain
    spelling would pass MAX_PLAIN_DIGITS digits (`1e5000`) spells `1e+5000`: the
    exponent, not the digits, grows with it, so no spelling costs more than its text."""
    sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int):  # NaN or infinity: parse_number lets neither through
        return str(number)
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return "0"
    exponent += len(digits) - len(significant)
    minus = "-" if sign else ""
    # The plain spelling's length: the digits, the zeros after them, the zeros before them.
    plain = len(significant) + max(exponent, 0) + max(-exponent - len(significant), 0)
    if plain > MAX_PLAIN_DIGITS:
        point = f"{significant[0]}.{significant[1:]}" if len(significant) > 1 else significant
        return f"{minus}{point}e{exponent + len(significant) - 1:+d}"
    if exponent >= 0:
        return f"{minus}{significant}{'0' * exponent}"
    whole, fraction = significant[:exponent], significant[exponent:]
    return f"{minus}{whole or '0'}.{fraction.rjust(-exponent, '0')}"


def canonical_number(value: object) -> str:
    return format_number(parse_number(value))


def parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"expected true or false, got {shown(value)}")


def canonical_bool(value: object) -> str:
    return "true" if parse_bool(value) else "false"


def canonical_text(value: object) -> str:
    """A string condition operand: YAML may have typed it as a number, boolean or date."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_instant(parse_instant(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_CANONICAL_BY_TYPE = {
    "string": canonical_text,
    "number": canonical_number,
    "boolean": canonical_bool,
    "date": canonical_instant,
}


def check_operand(condition_type: str, value: object) -> str | None:
    """Why `value` is not a valid operand for a condition of this type (None if it is)."""
    convert = _CANONICAL_BY_TYPE.get(condition_type)
    if convert is None:
        return None
    if isinstance(value, str):
        return _read_operand_text(condition_type, value)[1]
    try:
        convert(value)
    except ValueError as exc:
        return str(exc)
    return None


def canonical_operand(condition_type: str, value: Any) -> str:
    """The canonical string of an operand; values that do not parse keep their text.

    Live data is tolerated as it is: an operand the API holds but we cannot read compares
    by its text rather than failing the whole plan.
    """
    if isinstance(value, str) and condition_type in _CANONICAL_BY_TYPE:
        return _canonical_operand_text(condition_type, value)
    return _canonical_operand(condition_type, value)


def _canonical_operand_text(condition_type: str, value: str) -> str:
    canonical, _ = _read_operand_text(condition_type, value)
    return canonical if canonical is not None else canonical_text(value)


@lru_cache(maxsize=16384)
def _read_operand_text(condition_type: str, value: str) -> tuple[str | None, str | None]:
    """(its canonical string, None) of a text operand of a known type, or (None, why it
    does not read). Operands as the API returns them (text) repeat across CAs, and a
    manifest's are read twice, checked and then made canonical: convert each once."""
    try:
        return _CANONICAL_BY_TYPE[condition_type](value), None
    except ValueError as exc:
        return None, str(exc)


def _canonical_operand(condition_type: str, value: Any) -> str:
    convert = _CANONICAL_BY_TYPE.get(condition_type, canonical_text)
    try:
        return convert(value)
    except ValueError:
        return canonical_text(value)


def operand_sort_key(condition_type: str, text: str) -> tuple[int, Decimal, str]:
    """Order in_list values numerically for numbers, by text otherwise (stable for both)."""
    if condition_type == "number":
        try:
            return (0, parse_number(text), text)
        except ValueError:
            pass
    return (1, Decimal(0), text)
