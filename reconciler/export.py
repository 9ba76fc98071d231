"""Export: live CAs -> manifest documents that plan back to "no changes".

The reverse of the flow: each live CA becomes a manifest (its active definition, or its
draft with `active: false`), written with safe file names whatever the CA names are.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import regex
from pydantic import ValidationError

from reconciler.errors import DataPath, quoted
from reconciler.manifest.diagnostics import explain
from reconciler.manifest.partial import partial_problems
from reconciler.manifest.retention import problems as retention_problems
from reconciler.models import CalculatedAttribute, CanonicalDefinition, LiveCA
from reconciler.models.values import parse_instant
from reconciler.settings.file import Drafts

#: Stems no CA's file gets without its id: `reconciler` (export's own `reconciler.yaml`),
#: and the device names Windows reserves in every folder, whatever the extension
#: (`con.yaml` is the console): CON, PRN, AUX, NUL, COM0-9 and LPT0-9, in any case (COM0
#: and LPT0 are in Microsoft's list, if not in every tool's: a suffix costs little), and
#: COM and LPT with a superscript ¹, ² or ³. A stem has only letters, digits and dashes,
#: lowercase and NFKD-folded (fullwidth `ＣＯＮ` is `con`, `COM¹` is `com1`), so these
#: ASCII spellings are all it can take; nor can it end in the dot or space Windows strips.
RESERVED = {
    "reconciler",
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{n}" for n in range(10)),
    *(f"lpt{n}" for n in range(10)),
}
MAX_STEM = 80
CAS_KEY = "calculated_attributes"
DEFER_RULES = {"defer_rules": True}


@dataclass(frozen=True)
class Located:
    """A note about one field of an exported file, which the command places at the line
    it wrote the field on: the `file` (its name in the export), the field's `path` in the
    file's one CA, and what to say."""

    file: str
    path: DataPath
    message: str

    @property
    def in_file(self) -> DataPath:
        """The field's path from the file's root."""
        return (CAS_KEY, 0, *self.path)


@dataclass
class Exported:
    """The manifests to write (file name -> document) and what the user should know: of a
    CA (`notes`), or of a field of its file (`located`)."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    located: list[Located] = field(default_factory=list)
    #: How many exported CAs kept `protect: true` from the manifests.
    protected: int = 0


#: Latin letters with no ASCII letter inside them (NFKD leaves them whole), written as
#: their languages spell them without it: `Straße` is `strasse`, `Ærø` `aero`, `Łódź`
#: `lodz`. The dotless `ı` is `i`, which a case-insensitive file system takes it for.
FOLDED = {
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ħ": "h",
    "ŧ": "t",
    "ŋ": "ng",
    "ı": "i",
    "ĸ": "k",
}
#: Characters nobody sees (zero-width spaces and joiners, soft hyphens, variation
#: selectors, Hangul fillers): a file name leaves them out.
UNSEEN = regex.compile(r"\p{Default_Ignorable_Code_Point}|\p{Cf}")
SEPARATOR = "-"


def folded_case(name: str) -> str:
    """`name` lowercase and NFKD-decomposed. Lowercase again after NFKD, which spells some
    characters with capitals (`ℂ` is `C`, `™` `TM`, `𝐀` `A`), and decomposed again, as a
    lowercase letter may not be."""
    return unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", name.lower()).lower())


def _folded(name: str) -> list[str]:
    """The pieces of a file name stem for `name`, character by character (after NFKD): an
    ASCII letter or digit, lowercase; another letter, lowercase, with the marks that
    follow it; a digit of another script as its ASCII digit; nothing for a mark on an
    ASCII letter (the accent of `é`) or an unseen character; a dash for anything else."""
    pieces: list[str] = []
    for char in folded_case(name):
        kind = unicodedata.category(char)
        if char in FOLDED:
            pieces.append(FOLDED[char])
        elif char.isascii():
            pieces.append(char if char.isalnum() else SEPARATOR)
        elif UNSEEN.match(char):
            continue
        elif kind.startswith("M"):
            if kind != "Me" and pieces and not pieces[-1].isascii():
                pieces.append(char)  # a vowel sign, a dakuten: part of its letter
        elif unicodedata.decimal(char, None) is not None:
            pieces.append(str(unicodedata.decimal(char)))
        else:
            pieces.append(char if char.isalnum() else SEPARATOR)
    return pieces


def file_stem(name: str) -> str:
    """A portable file name stem for a CA name, as a person would write it: lowercase
    words joined by dashes. Latin letters are folded to ASCII (`Café` is `cafe`, `Straße`
    `strasse`); letters of other scripts, which have no ASCII spelling to fold to, are
    kept (`Москва` is `москва`, `売上` stays), NFC-composed: a letter is a safe file name
    character everywhere. At most MAX_STEM bytes of UTF-8 (80 ASCII letters)."""
    stem = unicodedata.normalize("NFC", "".join(_folded(name)))
    stem = re.sub(r"-+", SEPARATOR, stem).strip(SEPARATOR)
    stem = stem.encode()[:MAX_STEM].decode("utf-8", "ignore").strip(SEPARATOR)
    return stem or "ca"


def same_file(stem: str) -> str:
    """What a case-insensitive, normalisation-insensitive file system (macOS, Windows)
    compares of a stem: two stems that give the same are one file there."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", stem).casefold())


def _date_value(text: str | None) -> Any:
    """Midnight dates read best as YAML dates; other instants stay ISO strings."""
    if text is None:
        return None
    try:
        moment = parse_instant(text)
    except ValueError:
        return text
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return date(moment.year, moment.month, moment.day)
    return text


def _operand(kind: str | None, text: str) -> Any:
    """Write an operand so that YAML reads back the same meaning, readably where exact: a
    number as a number (`10.5`, not `'10.5'`) where the YAML number reads back as that very
    text, quoted where it would not (`0.30000000000000001`, `0.00001`)."""
    if kind == "number" and re.fullmatch(r"-?(0|[1-9]\d{0,15})", text):
        return int(text)
    if kind == "number" and re.fullmatch(r"-?\d+\.\d+", text) and repr(float(text)) == text:
        return float(text)
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    if kind == "date":
        return _date_value(text)
    return text


def definition_document(definition: CanonicalDefinition) -> dict[str, Any]:
    """A canonical definition as manifest YAML data, defaults left out."""
    document: dict[str, Any] = {"calculation_type": definition["calculation_type"]}
    datapoint = definition["datapoint"]
    if datapoint is not None:
        point: dict[str, Any] = {
            key: value
            for key, value in datapoint.items()
            if value is not None and value is not False
        }
        if point.get("type") == "event":
            del point["type"]
        if point.get("attribute_category") == "event_attribute":
            del point["attribute_category"]
        document["datapoint"] = point
    conditions = []
    for condition in definition["conditions"]:
        kind = condition["type"]
        item: dict[str, Any] = {
            "type": kind,
            "operator": condition["operator"],
            "attribute_name": condition["attribute_name"],
        }
        for key in ("value", "min_value", "max_value"):
            if condition[key] is not None:
                item[key] = _operand(kind, str(condition[key]))
        if condition["values"] is not None:
            item["values"] = [_operand(kind, v) for v in condition["values"]]
        conditions.append(item)
    if conditions:
        document["conditions"] = conditions
    period = definition["time_period"]
    if period is not None:
        if period["type"] == "since":
            document["time_period"] = {"type": "since", "date": _date_value(period["date"])}
        else:
            document["time_period"] = {k: v for k, v in period.items() if v is not None}
    if definition["seeding"] is not None:
        document["seeding"] = {"cutoff_date": _date_value(definition["seeding"]["cutoff_date"])}
    return document


def exported_definition(live: LiveCA) -> CanonicalDefinition | None:
    """The definition a CA's manifest holds: the active one, or else the draft."""
    return live.active if live.active is not None else live.draft


def ca_document(
    live: LiveCA, protect: bool = False, drafts: Drafts = "discard"
) -> tuple[dict[str, Any] | None, list[str]]:
    """The manifest entry of one live CA, and notes about it (the name escaped for a
    terminal: it comes from the workspace). mParticle does not store `protect`: `protect`
    says that the manifests this export replaces (or reads) protect the CA. `drafts` is
    the policy the export's plan follows, which says what becomes of a stray draft."""
    notes: list[str] = []
    definition = exported_definition(live)
    if definition is None:
        return None, [f"{quoted(live.name)} (id {live.id}) has no definition; not exported"]
    entry: dict[str, Any] = {"name": live.name}
    if live.description_text:
        entry["description"] = live.description_text
    if live.active is None:
        entry["active"] = False
    if protect:
        entry["protect"] = True
    if live.active is not None and live.draft is not None:
        fate = (
            "plan will keep it: `drafts: preserve`"
            if drafts == "preserve"
            else "plan will offer to discard the draft"
        )
        notes.append(
            f"{quoted(live.name)} has an unactivated draft; its active definition was "
            f"exported ({fate})"
        )
    entry["definition"] = definition_document(definition)
    return entry, notes


#: What the user can do about a field the manifest rules refuse, by the field's first key.
#: A name is no field a manifest can fix: `renamed_from` obeys the same rules.
REMEDIES = {
    "name": "rename the CA in mParticle (possible until it is activated), or remove the file "
    "to leave the CA unmanaged",
}
FIX_BY_HAND = "fix it by hand"


def rule_errors(entry: dict[str, Any]) -> list[tuple[DataPath, str]]:
    """(field path in the CA, message) of every error the manifest rules find in `entry`,
    in the words a plan of its file uses: all of them, not the first (a refused name hid a
    refused definition)."""
    try:
        ca = CalculatedAttribute.model_validate(entry, context=DEFER_RULES)
    except ValidationError as exc:
        found = [(path, message) for path, message, _ in explain(exc, CalculatedAttribute, entry)]
        reported = {path for path, _ in found}
        problems = partial_problems(entry)
    else:
        found, reported, problems = [], set(), ca.problems()
    return found + [
        (problem.path, problem.message)
        for problem in problems
        if problem.severity == "error" and problem.path not in reported
    ]


def refused_fields(live: LiveCA, entry: dict[str, Any], file: str) -> list[Located]:
    """A note on each field of `file` (`live`'s entry, exported as it is) that the manifest
    rules refuse, which the export's plan refuses too: the plan's message (its CA named the
    same way), and what the user can do about it."""
    shown = quoted(live.name)
    located = []
    for path, message in rule_errors(entry):
        named = message if shown in message else f"{message} (CA {shown})"
        remedy = REMEDIES.get(str(path[0]) if path else "", FIX_BY_HAND)
        located.append(
            Located(file, path, f"{named}; exported as it is, but plan refuses that file: {remedy}")
        )
    return located


def outlived_retention(live: LiveCA, file: str, retention: tuple[int, date]) -> list[Located]:
    """A note on each field of `file` (the CA's) that sets a time period `retention` (the
    `retention_days` written along, and today in UTC) no longer covers. mParticle checks
    retention on create and update only, so a live CA may have outlived it; the export's
    plan, which checks every CA, unchanged ones too, refuses that file until the period
    moves on. The message is the one the plan gives (its CA named the same way)."""
    definition = exported_definition(live)
    if definition is None:
        return []
    return [
        Located(
            file,
            path,
            f"{message} (CA {quoted(live.name)}); exported as it is, but plan refuses that "
            "file until the time period is changed (which recalculates the CA)",
        )
        for path, message in retention_problems(definition, *retention)
    ]


def file_stems(live: list[LiveCA]) -> dict[int, str]:
    """A distinct file stem for every CA (by id), whatever their names.

    Stems are lowercase and Latin letters fold to ASCII, so names that differ only in
    case or accents (`Sessions`, `sessions`, `Séssions`) share one; stems a file system
    that ignores case and Unicode normalisation (macOS, Windows) takes for one count as
    one too (`same_file`). The first CA of such a group (by name, then id) keeps it; the
    others get their id as a suffix, and a suffix that meets another CA's stem (`Sessions
    2` is `sessions-2`) or a reserved name takes a counter as well: no two CAs ever share
    a file.
    """
    ordered = sorted(live, key=lambda item: (item.name, item.id))
    natural = {ca.id: file_stem(ca.name) for ca in ordered}
    taken: set[str] = {same_file(stem) for stem in RESERVED}
    stems: dict[int, str] = {}
    for ca in ordered:
        if same_file(natural[ca.id]) not in taken:
            stems[ca.id] = natural[ca.id]
            taken.add(same_file(natural[ca.id]))
    # Suffixes avoid every natural stem, so a later CA never loses its own to a suffix.
    taken |= {same_file(stem) for stem in natural.values()}
    for ca in ordered:
        if ca.id in stems:
            continue
        candidate, count = f"{natural[ca.id]}-{ca.id}", 1
        while same_file(candidate) in taken:
            count += 1
            candidate = f"{natural[ca.id]}-{ca.id}-{count}"
        stems[ca.id] = candidate
        taken.add(same_file(candidate))
    return stems


def export(
    live: list[LiveCA],
    protected: set[str] | frozenset[str] = frozenset(),
    drafts: Drafts = "discard",
    retention: tuple[int, date] | None = None,
) -> Exported:
    """One manifest file per CA, named after the CA (ids settle collisions). The CAs named
    in `protected` keep `protect: true`, which the API cannot store (the manifests they
    come from said so). `drafts`: the policy written along, for the notes on stray drafts;
    `retention`: `retention_days` (written along) and today, for the notes on the fields
    that set a time period the account's retention no longer covers. A field the manifest
    rules refuse gets its note too: each field the export's plan will refuse."""
    result = Exported()
    stems = file_stems(live)
    for ca in sorted(live, key=lambda item: (item.name, item.id)):
        entry, notes = ca_document(ca, protect=ca.name in protected, drafts=drafts)
        result.notes += notes
        if entry is None:
            continue
        file = f"{stems[ca.id]}.yaml"
        result.files[file] = {CAS_KEY: [entry]}
        result.protected += ca.name in protected
        result.located += refused_fields(ca, entry, file)
        if retention is not None:
            result.located += outlived_retention(ca, file, retention)
    return result
