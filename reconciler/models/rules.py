"""The base of the manifest models: strict frozen models whose rules are collected, not
thrown, as located Problems; and the scalar types manifests use (text, instants, names)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from reconciler.errors import UNPRINTABLE, DataPath, format_path, quoted
from reconciler.models.values import format_instant, parse_instant


class Problem(NamedTuple):
    """A rule violation at a field path relative to the model that found it."""

    path: DataPath
    message: str
    severity: Literal["error", "warning"] = "error"


def prefixed(prefix: DataPath, problems: list[Problem]) -> list[Problem]:
    return [Problem(prefix + p.path, p.message, p.severity) for p in problems]


def _scalar(value: object) -> str | bool | int | float | date:
    if isinstance(value, (str, bool, int, float, date)):
        return value
    raise ValueError(f"expected a single value (text, number, boolean or date), got {value!r}")


def _instant(value: object) -> datetime:
    """A definition's date (time period, seeding cutoff). The API keeps these to the
    second (`2019-10-01T00:00:00`) and drops a fraction, which would then differ from the
    manifest on every plan: a fraction is refused rather than silently cut."""
    moment = parse_instant(value)
    if moment.microsecond:
        whole = format_instant(moment.replace(microsecond=0))
        raise ValueError(
            f"{_shown(value)} has a fraction of a second, but the API keeps dates to the "
            f"second: write {whole}"
        )
    return moment


def _shown(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def name_problems(field: str, name: str | None) -> list[Problem]:
    """Warnings for a name with whitespace around it, or with a tab, a line break or an
    invisible (control or format) character in it: legal, mParticle and its UI take such
    names, but almost always a mistake. Not errors: a live CA named so must stay
    manageable, and `export` writes such names (escaped) for `plan` to read back."""
    if name is None:
        return []
    found = []
    if name != name.strip():
        message = (
            f"{quoted(name)} has leading or trailing whitespace, which mParticle keeps as part of "
            "the name; if no live CA is named so, remove it"
        )
        found.append(Problem((field,), message, "warning"))
    # The characters the plan writes as escapes (a reader cannot see them as written):
    # controls, format characters and U+2028/U+2029, which break a line as `\n` does.
    # isprintable() is a fast pre-check: it is False for all of them and a few others. A
    # tab or line break at either end is whitespace around the name: warned about above.
    inner = name.strip()
    if not inner.isprintable() and any(unicodedata.category(ch) in UNPRINTABLE for ch in inner):
        message = (
            f"{quoted(name)} is named with a tab, a line break or an invisible character, "
            "which mParticle keeps as part of the name (and a reader cannot see); if no live "
            "CA is named so, remove it"
        )
        found.append(Problem((field,), message, "warning"))
    return found


def folded(name: str) -> str:
    """A CA name with case and Unicode compatibility forms folded (NFKC, casefold) and the
    whitespace around it dropped: two names folded alike read as one to a person (`"LTV "`
    is `LTV` on a screen), but are two CAs to mParticle, which keeps that whitespace."""
    return unicodedata.normalize("NFKC", name).strip().casefold()


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


#: What `_instant` takes, for editors (JSON Schema). Not `format: date-time`: editors
#: check that as RFC 3339, which requires an offset, and so would flag the API's own
#: spelling (`2019-10-01T00:00:00`, as `export` writes it). Calendar checks (a 30 February)
#: and the UTC range are left to the validator.
INSTANT_PATTERN = (
    r"^\s*\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.0+)?)?([Zz]|[+-]([01]\d|2[0-3]):?[0-5]\d)?)?\s*$"
)

Scalar = Annotated[
    str | bool | int | float | date,
    PlainValidator(_scalar),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]
Instant = Annotated[
    datetime,
    PlainValidator(_instant),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": INSTANT_PATTERN,
            "description": "An ISO 8601 date (2019-10-01) or date-time to the second "
            "(2019-10-01T10:30:00, Z or an offset optional).",
        }
    ),
]
#: What editors are told of a name or a text: not blank (JSON Schema's `pattern` searches).
_NOT_BLANK = WithJsonSchema({"type": "string", "pattern": "\\S"})
Name = Annotated[str, AfterValidator(_name), _NOT_BLANK]
Text = Annotated[str, AfterValidator(_text), _NOT_BLANK]

TYPE_WORD = {"string": "string", "number": "numeric", "boolean": "boolean", "date": "date"}

#: mParticle's default service limits: event names, event attribute names and user
#: attribute names are at most 256 characters. Longer ones are cut short in S2S data and
#: dropped by the SDKs, so no event carries the name as written.
MAX_NAME_LENGTH = 256


def long_name_problem(field: str, name: str | None, what: str) -> list[Problem]:
    """A warning when `name` (an event or attribute name a definition selects by) is
    longer than mParticle keeps one: the CA would match nothing."""
    if name is None or len(name) <= MAX_NAME_LENGTH:
        return []
    message = (
        f"is {len(name)} characters; mParticle keeps {what} to {MAX_NAME_LENGTH} (longer "
        "ones are cut short in server-to-server data and dropped by its SDKs), so no event "
        "carries this name and the CA would match nothing"
    )
    return [Problem((field,), message, "warning")]


class ManifestModel(BaseModel):
    """Manifest models: frozen, strict types, unknown keys are errors."""

    # Built when first used: a plan whose manifests are all cached never validates one.
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, populate_by_name=True, defer_build=True
    )

    def local_problems(self) -> list[Problem]:
        """Rules of this model alone (children report their own)."""
        return []

    @classmethod
    def write_instead(cls, field: str, written: Mapping[str, Any]) -> str | None:
        """What to write for `field`, which `written` (the mapping as written) lacks or
        holds a value of that is not valid, where its other fields tell more than the
        field's own name and choices; None by default."""
        return None

    def problems(self) -> list[Problem]:
        """Every rule violation of this model and its children, with field paths."""
        return self.local_problems()

    @model_validator(mode="after")
    def _enforce_rules(self, info: ValidationInfo) -> Any:
        if isinstance(info.context, dict) and info.context.get("defer_rules"):
            return self
        errors = [p for p in self.local_problems() if p.severity == "error"]
        if errors:
            raise ValueError("; ".join(f"{format_path(p.path)}: {p.message}" for p in errors))
        return self
