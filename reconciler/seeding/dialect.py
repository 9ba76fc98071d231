"""Seeding, step 1, before reading: the file is UTF-8 text, a CSV is comma-separated, and
a JSONL file without --environment gives its users one.

A file that is not says so once, at its first line, rather than as a header of one
unknown column (`mpid;email;LTV`) or an error per row. Other delimiters are refused, not
read: they come from spreadsheets set to a language that writes decimal commas (`10,5`),
and reading their numbers would be a guess (`1,234` is over a thousand in English).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import orjson

from reconciler.errors import Issue, SeedFileError, first_few
from reconciler.manifest.diagnostics import suggest
from reconciler.seeding.columns import ALIASES, shown_column

#: The delimiters a CSV may have been written with instead of commas, named for messages.
DELIMITERS = {";": "semicolons (;)", "\t": "tabs", "|": "vertical bars (|)"}
#: How far into a line the header is looked for (a header is short; a file may be one line).
_LINE_LIMIT = 1 << 20
_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def check(
    path: Path, csv_file: bool, known: Callable[[str], bool], *, needs_environment: bool = False
) -> None:
    """Raise SeedFileError (one issue, at the header's line) when the file is UTF-16, or
    is a CSV (`csv_file`) whose header names no column `known` when split on commas but
    does when split on `;`, a tab or `|`, or (`needs_environment`: no --environment) is
    JSONL of users none of whom has an `environment` member."""
    with path.open("rb") as raw:
        start = raw.read(2)
    if start in _UTF16:
        _refuse(
            path,
            1,
            "the file is UTF-16 text (it starts with a UTF-16 byte-order mark, as a spreadsheet's "
            '"Unicode Text" is saved): save or export it as UTF-8',
            "the seed file is not UTF-8; nothing was sent:",
        )
    if not csv_file:
        if needs_environment:
            _environment(path)
        return
    line, text = _header(path)
    found = other_delimiter(text, known)
    if found is None:
        return
    delimiter, columns = found
    names = first_few([shown_column(name) for name in columns if name], ", ", ", ")
    decimal = (
        ", with a decimal point in numbers (10.5, not 10,5; a spreadsheet that writes `;` "
        "between cells writes decimal commas)"
        if delimiter == ";"
        else ""
    )
    _refuse(
        path,
        line,
        f"the header is separated by {DELIMITERS[delimiter]}, not commas: {names}. Seed "
        f"files are comma-separated CSV (RFC 4180): save or export it comma-separated"
        f"{decimal}, or as JSONL",
        "the seed file is not comma-separated; nothing was sent:",
    )


def other_delimiter(header: str, known: Callable[[str], bool]) -> tuple[str, list[str]] | None:
    """The delimiter the header line `header` was written with, and its columns so split,
    when commas split it into no `known` column and that delimiter into two or more, at
    least one known; None otherwise (a comma-separated header, or nothing recognisable)."""
    if any(known(cell) for cell in _cells(header, ",")):
        return None
    best: tuple[int, str, list[str]] | None = None
    for delimiter in DELIMITERS:
        cells = _cells(header, delimiter)
        recognised = sum(1 for cell in cells if known(cell))
        if len(cells) > 1 and recognised and (best is None or recognised > best[0]):
            best = (recognised, delimiter, cells)
    return None if best is None else (best[1], best[2])


@dataclass(frozen=True)
class Unplaced:
    """The users of a JSONL file when none has an `environment` member."""

    #: The line of the first user.
    line: int
    users: int
    #: A member of the first user meant as the environment (`env`, `Environment`), if any.
    meant: str | None = None


def without_environment(path: Path) -> Unplaced | None:
    """The users (lines that are JSON objects) of a JSONL file when none has an
    `environment` member; None when one has (a file of a few without is a few invalid
    users, each said at its line, as a CSV's empty `environment` cells are) or when none
    is a user. Reads until the first user with one: the first line, in a file that has
    them."""
    first, users, meant = 0, 0, None
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            text = (raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw).strip()
            if not text:
                continue
            try:
                user = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue  # not a user: the reader says so at its line
            if not isinstance(user, dict):
                continue
            if "environment" in user:
                return None
            if not users:
                first, meant = number, _meant(user)
            users += 1
    return Unplaced(first, users, meant) if users else None


def _meant(user: dict[str, object]) -> str | None:
    """The member of a user most likely meant as its `environment`, if one is near."""
    for key in user:
        if ALIASES.get(key.lower()) == "environment" or suggest(key, ["environment"]):
            return key
    return None


def _environment(path: Path) -> None:
    found = without_environment(path)
    if found is None:
        return
    meant = f"; did you mean `environment` for `{found.meant}`?" if found.meant is not None else ""
    _refuse(
        path,
        found.line,
        f"no line has an `environment` member (all {found.users:,} lines of users lack "
        f"it{meant}), and no --environment: each user needs its environment (development "
        'or production). Add `"environment": "production"` (or "development") to each '
        "line, or give `reconciler seed` --environment for a file of one environment",
        "the seed file gives its users no environment; nothing was sent:",
    )


def _cells(line: str, delimiter: str) -> list[str]:
    """The line's cells, read leniently (a header cell may hold a quote of its own)."""
    row = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter, skipinitialspace=True), [])
    return [cell.strip() for cell in row]


def _header(path: Path) -> tuple[int, str]:
    """The first line holding more than blanks and delimiters (where the CSV reader finds
    the header), and its number; (1, "") for a file with none."""
    blank = " \r\n," + "".join(DELIMITERS)
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as text:
        number = 0
        while line := text.readline(_LINE_LIMIT):
            number += 1
            if line.strip(blank):
                return number, line
    return 1, ""


def _refuse(path: Path, line: int, message: str, heading: str) -> NoReturn:
    raise SeedFileError([Issue(str(path), line, None, "", message)], heading=heading)
