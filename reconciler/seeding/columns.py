"""Seeding, step 1 for CSV: the column convention, from a header row to users in API shape.

`mpid`, identity types and `environment` find the user; a column named exactly as a CA holds
its seed (JSON for lists, most_frequent and average), `<CA>.sum`/`<CA>.count` split an
average, `<CA>.cutoff_date` gives a cutoff, `user_attributes.<name>` sets a user attribute.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from reconciler.errors import DataPath, Issue, SeedFileError, first_few, format_path, quoted
from reconciler.manifest.diagnostics import suggest
from reconciler.models import Problem
from reconciler.models.vocabulary import IDENTITY_TYPES, USER_IDENTITY_TYPES
from reconciler.seeding.attributes import attribute_label
from reconciler.seeding.catalogue import Catalogue
from reconciler.seeding.shapes import (
    NUMERIC_VALUES,
    SEED_FIELD,
    TIMESTAMPS,
    Json,
    as_integer,
    is_number,
)

ColumnKind = Literal[
    "mpid", "identity", "environment", "seed", "sum", "count", "cutoff", "attribute"
]

ATTRIBUTE_PREFIX = "user_attributes."
#: Suffixes of the columns that belong to a CA without being its seed.
CA_SUFFIXES: dict[str, ColumnKind] = {".sum": "sum", ".count": "count", ".cutoff_date": "cutoff"}
_WORKSPACE = ("calculated_attributes", "workspace")
#: A column name longer than this is shown cut short in messages.
COLUMN_SHOWN = 80
#: A number written with a comma (`1,5`, `1.234,5`, `1,500`): digits, dots and commas.
_COMMA_NUMBER = re.compile(r"[+-]?\d[\d.,]*\d")


@dataclass(frozen=True)
class Column:
    """One header cell understood: what it holds, and for which CA, identity or attribute."""

    index: int
    header: str
    kind: ColumnKind
    name: str


@dataclass
class _CaColumns:
    """The columns that carry one CA's seed."""

    name: str
    calculation_type: str
    seed: Column | None = None
    sum: Column | None = None
    count: Column | None = None
    cutoff: Column | None = None
    columns: list[Column] = field(default_factory=list)


def _number(text: str) -> Any:
    """A numeric cell as a JSON number; anything else stays text for the validator to name."""
    stripped = text.strip()
    integer = as_integer(stripped)
    if integer is not None:
        return integer
    if is_number(stripped):
        number = float(stripped)
        if math.isfinite(number):
            return number
    return text


#: The kinds of column that find a user.
_WHO = ("mpid", "identity")


def _no_identity(headers: list[str]) -> Problem:
    """The problem of a row with none of its identity columns (`headers`, one at least:
    the header row needs one) filled."""
    *first, last = [f"`{header}`" for header in headers] or ["identity"]
    cells = f"{', '.join(first)} and {last} cells are" if first else f"{last} cell is"
    return Problem(
        (),
        f"no identity to find the user: its {cells} empty; a row needs `mpid` or an "
        "identity type column (customer_id, email, ...) filled",
    )


class CsvLayout:
    """What each column of a seed CSV means, checked against the manifests."""

    def __init__(
        self, header: list[str], columns: list[Column], cas: list[_CaColumns], file: str = ""
    ) -> None:
        self.header = header
        self.file = file
        self._columns = columns
        self._cas = cas
        #: The columns whose cells are numbers (read with `_number`).
        self._numeric = [column for column in columns if _numeric(column, cas)]
        #: A row whose identity cells are all empty, in this CSV's words (it has no
        #: `identities`): its identity columns, and which ones find a user.
        self.no_identity = _no_identity([c.header for c in columns if c.kind in _WHO])

    @classmethod
    def from_header(
        cls,
        header: list[str],
        catalogue: Catalogue,
        file: str,
        line: int = 1,
        *,
        needs_environment: bool = False,
    ) -> CsvLayout:
        """Read the header row; every unknown or inconsistent column is one located issue.
        `needs_environment`: no --environment gives users one, so the header needs an
        `environment` column (else every row would be refused for want of one)."""
        problems: list[tuple[str, str]] = []
        columns: list[Column] = []
        cas: dict[str, _CaColumns] = {}
        seen: set[str] = set()
        for index, raw in enumerate(header):
            name = raw.strip()
            if not name:
                problems.append((f"column {index + 1}", "has no name"))
                continue
            if name in seen:
                problems.append((name, "appears twice"))
                continue
            seen.add(name)
            column = cls._column(index, name, catalogue, problems)
            if column is None:
                continue
            columns.append(column)
            if column.kind in ("seed", "sum", "count", "cutoff"):
                target = catalogue.get(column.name)
                assert target is not None
                group = cas.setdefault(
                    column.name, _CaColumns(column.name, target.calculation_type)
                )
                setattr(group, column.kind, column)
                group.columns.append(column)
        unknown = bool(problems)
        problems += cls._coherence(columns, list(cas.values()), unknown=unknown)
        # An unknown column may be the environment's under another name (`env`: "did you
        # mean `environment`?"): "no environment column" would be a guess.
        if needs_environment and not unknown:
            problems += _no_environment(header, columns)
        if problems:
            issues = [Issue(file, line, None, where, message) for where, message in problems]
            count = len(issues)
            raise SeedFileError(
                issues,
                heading=(
                    f"{count} problem{'s' if count != 1 else ''} in the CSV header of {file}; "
                    "nothing was sent (the convention is in docs/seeding.md):"
                ),
            )
        return cls(header, columns, list(cas.values()), file)

    @staticmethod
    def _column(
        index: int, name: str, catalogue: Catalogue, problems: list[tuple[str, str]]
    ) -> Column | None:
        if name == "mpid":
            return Column(index, name, "mpid", name)
        if name == "environment":
            return Column(index, name, "environment", name)
        if name in IDENTITY_TYPES:
            return Column(index, name, "identity", name)
        if catalogue.get(name) is not None:
            return Column(index, name, "seed", name)
        if name.startswith(ATTRIBUTE_PREFIX):
            attribute = name[len(ATTRIBUTE_PREFIX) :].strip()
            if not attribute:
                problems.append((name, "names no user attribute: use user_attributes.<name>"))
                return None
            return Column(index, name, "attribute", attribute)
        for suffix, kind in CA_SUFFIXES.items():
            base = name.removesuffix(suffix)
            target = catalogue.get(base) if base != name else None
            if target is None:
                continue
            if kind in ("sum", "count") and target.calculation_type != "average":
                problems.append(
                    (
                        name,
                        f"`{suffix}` columns are for average CAs; {base} is "
                        f"{target.calculation_type}: name the column `{base}`",
                    )
                )
                return None
            return Column(index, name, kind, base)
        hint = _hint(name, catalogue)
        advice = (
            f"did you mean `{hint}`?"
            if hint
            else "expected mpid, an identity type, environment, a CA name of the manifests, "
            "<CA>.sum/.count/.cutoff_date or user_attributes.<name>"
        )
        problems.append((name, f"unknown column; {advice}"))
        return None

    @staticmethod
    def _coherence(
        columns: list[Column], cas: list[_CaColumns], *, unknown: bool
    ) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        kinds = {column.kind for column in columns}
        if not kinds & set(_WHO):
            problems.append(
                ("", "no identity column: add `mpid` or an identity type (customer_id, email, ...)")
            )
        # A misspelt CA column is the likelier story than a file with nothing to seed.
        if not unknown and not kinds & {"seed", "sum", "count", "attribute"}:
            problems.append(("", "no CA or user attribute column: nothing to seed"))
        for group in cas:
            if group.calculation_type == "average":
                if group.seed is not None and (group.sum or group.count):
                    problems.append(
                        (
                            group.name,
                            f"give {group.name} either as one JSON column or as "
                            f"{group.name}.sum and {group.name}.count, not both",
                        )
                    )
                elif (group.sum is None) != (group.count is None):
                    problems.append(
                        (group.name, f"needs both {group.name}.sum and {group.name}.count")
                    )
            if group.seed is None and group.sum is None and group.cutoff is not None:
                problems.append((group.cutoff.header, f"there is no seed column for {group.name}"))
        return problems

    def record(self, cells: list[str]) -> dict[str, str]:
        """A row as a mapping of column to cell (for the rejects file)."""
        names = [
            self.header[i] if i < len(self.header) else f"column {i + 1}" for i in range(len(cells))
        ]
        return dict(zip(names, cells, strict=True))

    def user(
        self, cells: list[str], line: int
    ) -> tuple[Json, dict[DataPath, str], list[tuple[str, str]]]:
        """A row (at `line`) as a user in the API's body shape (to validate), where each
        part came from, and the cells that cannot be read at all (column, message). A
        number written with a comma refuses the file (SeedFileError), not the row."""
        problems: list[tuple[str, str]] = []
        if len(cells) != len(self.header):
            problems.append(("", f"has {len(cells)} cells but the header has {len(self.header)}"))
            return {}, {}, problems
        self._decimal_commas(cells, line)
        user, origin = self._who(cells)
        user["calculated_attributes"] = {"workspace": self._seeds(cells, origin, problems)}
        attributes = self._attributes(cells, origin)
        if attributes:
            user["user_attributes"] = {"workspace": attributes}
        return user, origin, problems

    def _decimal_commas(self, cells: list[str], line: int) -> None:
        """Refuse the file at the first number written with a comma: the export of a
        spreadsheet set to a language that writes `1,5` for 1.5. Every number of it would
        be refused, one row at a time, and reading them would be a guess (`1,500`)."""
        for column in self._numeric:
            cell = cells[column.index]
            if "," in cell and _COMMA_NUMBER.fullmatch(cell := cell.strip()):
                message = (
                    f'"{cell}" reads as a number with a decimal comma (as a spreadsheet set to '
                    "a language that writes 1,5 for 1.5 exports it), but a comma may as well "
                    "separate thousands (1,500): no number is guessed. This is the first such "
                    "cell: export the file with decimal points and no thousands separators "
                    "(1.5, 1500), or as JSONL"
                )
                raise SeedFileError(
                    [Issue(self.file, line, None, shown_column(column.header), message)],
                    heading="the seed file writes numbers with commas; nothing was sent:",
                )

    def _who(self, cells: list[str]) -> tuple[Json, dict[DataPath, str]]:
        """The cells that find the user: mpid, environment and identities."""
        user: Json = {}
        origin: dict[DataPath, str] = {}
        identities: Json = {}
        for column in self._columns:
            cell = cells[column.index]
            if not cell.strip():
                continue
            if column.kind == "mpid":
                user["mpid"] = _number(cell)
                origin[("mpid",)] = column.header
            elif column.kind == "environment":
                user["environment"] = cell.strip()
                origin[("environment",)] = column.header
            elif column.kind == "identity":
                identities[column.name] = cell
                origin[("identities", column.name)] = column.header
        if identities:
            user["identities"] = identities
        return user, origin

    def _attributes(self, cells: list[str], origin: dict[DataPath, str]) -> list[Json]:
        attributes: list[Json] = []
        for column in self._columns:
            cell = cells[column.index]
            if column.kind == "attribute" and cell.strip():
                origin[("user_attributes", "workspace", len(attributes))] = column.header
                attributes.append({"attribute_name": column.name, "attribute_value": cell})
        return attributes

    def _seeds(
        self, cells: list[str], origin: dict[DataPath, str], problems: list[tuple[str, str]]
    ) -> list[Json]:
        """One seed entry per CA with cells in this row, each part's column in `origin`."""
        seeds: list[Json] = []
        for group in self._cas:
            entry = self._seed_entry(group, cells, problems)
            if entry is None:
                continue
            base = (*_WORKSPACE, len(seeds))
            first = group.seed or group.sum or group.count
            assert first is not None
            origin[base] = first.header
            for part, half in (("count", group.count), ("sum", group.sum)):
                if half is not None:
                    pair: DataPath = (*base, "seed", "key_value_pairs", part)
                    origin[pair] = half.header
            if group.cutoff is not None:
                cutoff: DataPath = (*base, "cutoff_date")
                origin[cutoff] = group.cutoff.header
            seeds.append(entry)
        return seeds

    @staticmethod
    def _seed_entry(
        group: _CaColumns, cells: list[str], problems: list[tuple[str, str]]
    ) -> Json | None:
        def cell(column: Column | None) -> str:
            return cells[column.index] if column is not None else ""

        cutoff = cell(group.cutoff).strip()
        if group.sum is not None and group.count is not None:
            total, count = cell(group.sum), cell(group.count)
            if not total.strip() and not count.strip():
                return None
            if not total.strip() or not count.strip():
                empty = group.sum if not total.strip() else group.count
                problems.append(
                    (empty.header, f"is empty but the other half of {group.name} is not")
                )
                return None
            seed: Json = {"key_value_pairs": {"sum": _number(total), "count": _number(count)}}
        else:
            text = cell(group.seed)
            if not text.strip():
                return None
            assert group.seed is not None
            field = SEED_FIELD[group.calculation_type]
            if field == "value":
                value: Any = (
                    text if group.calculation_type.endswith("_occurrence") else _number(text)
                )
            else:
                try:
                    value = orjson.loads(text)
                except orjson.JSONDecodeError as exc:
                    shape = "array" if field == "list" else "object"
                    problems.append((group.seed.header, f"not a JSON {shape}: {exc}"))
                    return None
            seed = {field: value}
        entry: Json = {"attribute_name": group.name, "seed": seed}
        if cutoff:
            entry["cutoff_date"] = cutoff
        return entry


#: Names of a known column that no spelling distance finds (`env` is 3 letters of 11).
ALIASES = {"env": "environment"}


def _hint(name: str, catalogue: Catalogue) -> str | None:
    """The column an unknown header cell most likely meant, if one is near."""
    alias = ALIASES.get(name.lower())
    if alias is not None:
        return alias
    choices = [
        "mpid",
        "environment",
        *USER_IDENTITY_TYPES,
        *sorted(IDENTITY_TYPES - set(USER_IDENTITY_TYPES)),
        *catalogue.names,
        *(
            f"{ca}{suffix}"
            for ca in catalogue.names
            for suffix in CA_SUFFIXES
            if suffix == ".cutoff_date" or _is_average(catalogue, ca)
        ),
    ]
    return suggest(name, choices)


def _numeric(column: Column, cas: list[_CaColumns]) -> bool:
    """Whether the column's cells are numbers: an MPID, an average's halves, the seed of a
    count, sum, min, max or timestamp CA."""
    if column.kind in ("mpid", "sum", "count"):
        return True
    if column.kind != "seed":
        return False
    types = {group.name: group.calculation_type for group in cas}
    return types.get(column.name) in NUMERIC_VALUES | TIMESTAMPS


def _no_environment(header: list[str], columns: list[Column]) -> list[tuple[str, str]]:
    """The header's problem when it has no `environment` column and the run gives users
    none: one, rather than one per row."""
    if any(column.kind == "environment" for column in columns):
        return []
    found = first_few([shown_column(cell.strip()) for cell in header], ", ", ", ")
    return [
        (
            "",
            "no `environment` column, and no --environment: each user needs its environment "
            "(development or production). Add the column, or give `reconciler seed` "
            f"--environment for a file of one environment (the columns: {found})",
        )
    ]


def known_column(name: str, catalogue: Catalogue) -> bool:
    """Whether a header cell names a column of the convention (in any case, for the
    columns whose names are fixed: `MPID` is recognisably meant)."""
    fixed = name.lower()
    if fixed in ("mpid", "environment") or fixed in IDENTITY_TYPES:
        return True
    if catalogue.get(name) is not None or name.startswith(ATTRIBUTE_PREFIX):
        return True
    return any(
        name.endswith(suffix) and catalogue.get(name.removesuffix(suffix)) is not None
        for suffix in CA_SUFFIXES
    )


def _is_average(catalogue: Catalogue, name: str) -> bool:
    target = catalogue.get(name)
    return target is not None and target.calculation_type == "average"


def locate(path: DataPath, origin: dict[DataPath, str]) -> str | None:
    """The column a problem at `path` came from (the longest known prefix), if any."""
    for end in range(len(path), 0, -1):
        column = origin.get(path[:end])
        if column is not None:
            return column
    return None


def in_column(path: DataPath, message: str, origin: dict[DataPath, str]) -> tuple[str, str]:
    """A CSV problem by column; `LTV: "LTV": ...` reads `LTV: ...` when the column names
    the CA the message names (`LTV` or `LTV.sum`), or the user attribute
    (`user_attributes.Tier`)."""
    column = locate(path, origin)
    if column is None:
        return format_path(path), message
    label, _, rest = message.partition(": ")
    named = [column] + [column[:at] for at, char in enumerate(column) if char == "."]
    attribute = column.removeprefix(ATTRIBUTE_PREFIX).strip()
    if rest and (
        any(label == quoted(name) for name in named)
        or (column.startswith(ATTRIBUTE_PREFIX) and label == attribute_label(attribute))
    ):
        return shown_column(column), rest
    return shown_column(column), message


def shown_column(header: str) -> str:
    """A column's name for a message, cut short when long (`user_attributes.<name>` with a
    name over mParticle's limit may run to thousands of characters)."""
    if len(header) <= COLUMN_SHOWN:
        return header
    return f"{header[:COLUMN_SHOWN]}... ({len(header):,} characters)"
