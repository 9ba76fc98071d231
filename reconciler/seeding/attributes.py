"""Seeding, step 2 for user attributes: each has a name and a text value (a number or
boolean sent as its text, as the seeding page types `attribute_value`), once per user, and
keeps within mParticle's limits (its default service limits page, "Incoming Event Batches").
"""

from __future__ import annotations

import orjson

from reconciler.errors import DataPath, quoted
from reconciler.models import Problem
from reconciler.seeding.shapes import Json, show, unknown

ATTRIBUTE_KEYS = ("attribute_name", "attribute_value")
_ATTRIBUTES = ("user_attributes", "workspace")

#: mParticle's limits on user attributes (the default service limits page, "Incoming Event
#: Batches", to which the seeding page's "Rate Limits" points): per user (one event batch),
#: and per name and value, in characters. Lists (1000 entries of 512) cannot occur: a seed
#: file's attribute value is text, a number or a boolean.
MAX_USER_ATTRIBUTES = 100
MAX_ATTRIBUTE_NAME = 256
MAX_ATTRIBUTE_VALUE = 4096
#: A user attribute name longer than this is shown cut short in messages.
NAME_SHOWN = 60


def attributes_list(value: object, problems: list[Problem]) -> list[Json] | None:
    """A user's `user_attributes` as they will be sent (None when it has none), every
    problem found added to `problems`."""
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append(Problem(("user_attributes",), "must be a mapping with a `workspace` list"))
        return None
    for key in value:
        if key != "workspace":
            problems.append(unknown(("user_attributes", key), str(key), ["workspace"], "field"))
    entries = value.get("workspace")
    if not isinstance(entries, list):
        problems.append(Problem(_ATTRIBUTES, "must be a list of user attributes"))
        return None
    if len(entries) > MAX_USER_ATTRIBUTES:
        problems.append(
            Problem(
                _ATTRIBUTES,
                f"{len(entries):,} user attributes; mParticle takes at most "
                f"{MAX_USER_ATTRIBUTES} per user (per event batch, its default service limits)",
            )
        )
    seen: set[str] = set()
    found = [
        _attributes_entry((*_ATTRIBUTES, index), entry, seen, problems)
        for index, entry in enumerate(entries)
    ]
    return [entry for entry in found if entry is not None]


def _attributes_entry(
    base: DataPath, entry: object, seen: set[str], problems: list[Problem]
) -> Json | None:
    if not isinstance(entry, dict):
        problems.append(Problem(base, "must be a mapping with attribute_name and attribute_value"))
        return None
    problems += [
        unknown((*base, key), str(key), ATTRIBUTE_KEYS, "field")
        for key in entry
        if key not in ATTRIBUTE_KEYS
    ]
    name = entry.get("attribute_name")
    value = entry.get("attribute_value")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem((*base, "attribute_name"), "required: the user attribute's name"))
        return None
    label = attribute_label(name)
    if name in seen:
        message = f"{label}: set twice for this user"
        problems.append(Problem((*base, "attribute_name"), message))
        return None
    seen.add(name)
    before = len(problems)
    _within("name", name, MAX_ATTRIBUTE_NAME, (*base, "attribute_name"), label, problems)
    if value is None or isinstance(value, (dict, list)):
        problems.append(
            Problem(
                (*base, "attribute_value"),
                f"{label}: attribute_value must be text (or a number or boolean), not "
                f"{show(value)}",
            )
        )
        return None
    text = attribute_text(value)
    _within("value", text, MAX_ATTRIBUTE_VALUE, (*base, "attribute_value"), label, problems)
    if len(problems) > before:
        return None
    return {"attribute_name": name, "attribute_value": text}


def characters(text: str) -> int:
    """The length of a text as mParticle's limits count characters, read as UTF-16 code
    units (what `length` counts in Java and JavaScript, the SDKs' languages): a character
    beyond U+FFFF, such as an emoji, counts as two. Never less than the code points, so a
    text within a limit by this count is within it by either."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _within(
    part: str, text: str, limit: int, path: DataPath, label: str, problems: list[Problem]
) -> None:
    """A problem when a user attribute's name or value (`part`) is longer than `limit`."""
    if len(text) * 2 <= limit:
        return  # the common case, without counting: 2 UTF-16 units at most per character
    size = characters(text)
    if size <= limit:
        return
    units = " (UTF-16 code units: a character beyond U+FFFF counts twice)"
    how = units if size != len(text) else ""
    problems.append(
        Problem(
            path,
            f"{label}: the {part} is {size:,} characters long{how}; mParticle takes user "
            f"attribute {part}s of at most {limit:,} characters (its default service limits), "
            "so it would not land as written",
        )
    )


def attribute_text(value: object) -> str:
    """A user attribute's value as the seeding page types it ("attribute_value | string"):
    a number or boolean of a JSONL record as the JSON text it was (`42`, `1.5`, `true`).
    mParticle stores every attribute value as text, so nothing is lost, and a server that
    checks the documented type does not refuse the user."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # any size: orjson refuses integers past 64 bits
    return orjson.dumps(value).decode()


def attribute_label(name: str) -> str:
    """A user attribute's name for a message (`errors.quoted`), cut short when long: a
    name over the limit may be thousands of characters, and a message quotes it once."""
    if len(name) <= NAME_SHOWN:
        return quoted(name)
    return f"{quoted(name[:NAME_SHOWN])}..."
