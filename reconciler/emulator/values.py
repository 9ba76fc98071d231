"""Value formats shared by the definition rules and the seeding rules: ISO 8601 dates,
numeric strings, and the timestamp shapes the API's examples show."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime, timedelta, timezone

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?)?"
)
_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")


def one_of(value: object, choices: Collection[str]) -> bool:
    """`value` is one of the strings in `choices` (and not some unhashable JSON value)."""
    return isinstance(value, str) and value in choices


def parse_iso(text: object) -> datetime | None:
    """The instant (naive, UTC) an ISO 8601 date or date-time string names, else None."""
    if not isinstance(text, str):
        return None
    match = _ISO.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        try:
            moment -= sign * offset
        except OverflowError:  # past year 9999 or before year 1 in UTC: no instant
            return None
    return moment


def parse_plain_date(text: object) -> datetime | None:
    """A `yyyy-MM-dd` date (the seeding API's cutoff format), else None."""
    if not isinstance(text, str) or _PLAIN_DATE.fullmatch(text) is None:
        return None
    return parse_iso(text)


def definition_date(moment: datetime) -> str:
    """Dates inside definitions come back as `YYYY-MM-DDTHH:MM:SS`, as in the list example."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def utf16_length(text: str) -> int:
    """A text's length in UTF-16 code units, as Java's and JavaScript's `length` count
    characters: a character beyond U+FFFF (an emoji) counts as two."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def is_numeric_text(value: object) -> bool:
    """A string holding a decimal number (`"22"`, `"-1.5"`, `"1e3"`)."""
    return isinstance(value, str) and _NUMBER.fullmatch(value) is not None


def is_number(value: object) -> bool:
    """A JSON number (not a boolean) or a numeric string: seeds accept both."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or is_numeric_text(value)


def as_integer(value: object) -> int | None:
    """An integer given as a JSON integer or a string of digits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    return None


def timestamp(seconds: float, *, zulu: bool = True) -> str:
    """An audit timestamp with milliseconds: `2020-01-30T17:37:41.608Z` (or without the Z)."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    return text + "Z" if zulu else text


def utc_datetime(seconds: float) -> datetime:
    """The naive UTC datetime of an epoch time."""
    return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)
