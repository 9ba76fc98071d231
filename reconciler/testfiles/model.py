"""The shape of a test file (`*.test.yaml`, SPEC §10) as strict models: the JSON Schema for
editors is generated from them, and loading reports every mismatch located.

    as_of: 2024-03-01T00:00:00Z
    users:
      alice:
        mpid: 1001                      # optional; picks alice's batches of a shared file
        events: [{event_type: custom_event, data: {...}}]
        events_file: events.jsonl       # optional: Events API batches, one a line
        seeds: {LTV: {value: 100}}      # optional: the Seeding API's seed objects
    expect:
      alice: {LTV: 130}
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictStr,
    WithJsonSchema,
)

from reconciler.evaluator import as_of_millis
from reconciler.evaluator.values import ISO_PATTERN, LAST_MILLIS
from reconciler.testfiles.events import Event, Identities, Mpid


def _instant(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        if value > LAST_MILLIS:
            raise ValueError(f"{value} is after the year 9999 in epoch ms: microseconds?")
        return value  # epoch ms (R6)
    if isinstance(value, bool) or not isinstance(value, str | datetime | date):
        raise ValueError("expected an ISO 8601 date-time such as 2024-03-01T00:00:00Z, or epoch ms")
    try:
        return as_of_millis(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an ISO 8601 date-time; write e.g. 2024-03-01T00:00:00Z"
        ) from None


#: An instant, in epoch ms once loaded.
Instant = Annotated[
    int,
    PlainValidator(_instant),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": ISO_PATTERN},
                {"type": "integer", "minimum": 0, "maximum": LAST_MILLIS},
            ]
        }
    ),
]
#: A seed object of the Seeding API; its rules per calculation type are checked against the
#: CA's definition when loading.
Seed = Annotated[
    dict[StrictStr, Any],
    WithJsonSchema(
        {
            "type": "object",
            "properties": {
                "value": {"type": ["string", "number"]},
                "key_value_pairs": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "number"]},
                },
                "list": {"type": "array", "items": {"type": "string"}},
            },
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
        }
    ),
]
_SCALARS = (str, int, float, bool)
_EXPECTED_TYPES = (*_SCALARS, datetime, date, type(None))


def _expected(value: object) -> object:
    """One message for a value that is none of the kinds (a union would explain itself
    member by member, with a made-up path for each)."""
    if isinstance(value, _EXPECTED_TYPES):
        return value
    if isinstance(value, list) and all(isinstance(item, _SCALARS) for item in value):
        return value
    kind = (
        "a list holding more than text, numbers and booleans"
        if isinstance(value, list)
        else ("a mapping" if isinstance(value, dict) else type(value).__name__)
    )
    raise ValueError(
        f"expected text, a number, true/false, a timestamp, a list of values or null, not {kind}"
    )


#: An expected value: text, a number, a boolean, a timestamp, a list (unique list, any
#: order), or null (`-`, no value).
Expected = Annotated[
    Any,
    PlainValidator(_expected),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": ["string", "number", "boolean", "null"]},
                {"type": "string", "format": "date-time"},
                {"type": "string", "format": "date"},
                {"type": "array", "items": {"type": ["string", "number", "boolean"]}},
            ]
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class User(_Strict):
    """One test user: events inline and/or from an events file, and seeds by CA name."""

    mpid: Mpid | None = Field(
        default=None,
        description="The user's mpid: picks this user's batches of a shared events file, "
        "and names the user in the emulator.",
    )
    identities: Identities | None = Field(
        default=None,
        description="User identities: pick this user's batches of a shared events file.",
    )
    events: list[Event] = Field(
        default_factory=list, description="Events API event objects, as in a batch's events."
    )
    events_file: StrictStr | None = Field(
        default=None,
        description="A JSONL file (relative to this file) of Events API batches, one a line.",
    )
    seeds: dict[StrictStr, Seed] = Field(
        default_factory=dict, description="Seeds by CA name, in the Seeding API's seed shapes."
    )


class SuiteFile(_Strict):
    """A test file: users, and the values each user's CAs should hold as of `as_of`."""

    as_of: Instant = Field(description="The moment the values are computed for (UTC).")
    users: dict[StrictStr, User]
    expect: dict[StrictStr, dict[StrictStr, Expected]] = Field(
        description="By user, then by CA name: the expected value."
    )
