"""Seeding, step 1: stream a seed file (JSONL or CSV) as records with their line numbers.

Holds one record at a time and hashes every byte it reads, so a checkpoint can tell files
apart; a line that is not JSON becomes a record with an error, never a crash.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from reconciler.errors import Issue, SeedFileError

Format = Literal["jsonl", "csv"]

#: The bytes hashed to recognise a file cheaply, before reading all of it.
HEAD_BYTES = 64 * 1024
#: A CSV cell may hold a whole JSON list; the csv module's default limit is 128 KiB.
CSV_FIELD_LIMIT = 1 << 20
_CHUNK = 1 << 20
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
#: A run of digits as long as the longest 64-bit integer's: a line holding one may hold
#: an integer orjson reads as a rounded float (it reads no integer past 64 bits exactly).
_LONG_DIGITS = re.compile(rb"[0-9]{19}")
_INT64 = 2**63


class _BeyondInt64(ValueError):
    """An integer literal of a JSONL line that 64 bits cannot hold (its text)."""


def _exact_int(text: str) -> int:
    number = int(text)
    if not -_INT64 <= number < _INT64:
        raise _BeyondInt64(text)
    return number


def beyond_64_bits(line: bytes) -> str | None:
    """The first integer of a valid JSON line that 64 bits cannot hold, as written; None
    when there is none. Read as orjson reads it, it would be a float: the user's number,
    rounded, in every message and in the rejects file."""
    if _LONG_DIGITS.search(line) is None:
        return None
    try:
        json.loads(line, parse_int=_exact_int)
    except _BeyondInt64 as exc:
        return str(exc)
    except ValueError:
        return None  # not JSON after all: orjson's reading says so
    return None


@dataclass(frozen=True)
class Record:
    """One user as read: JSON (JSONL) or a row's cells (CSV), or why the line is unreadable."""

    line: int
    data: Any
    error: str | None = None


class _Hashing(io.RawIOBase):
    """A raw reader that hashes and counts every byte passing through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        read = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if read:
            self.digest.update(memoryview(buffer)[:read])
            self.count += read
        return int(read or 0)

    def close(self) -> None:
        self._raw.close()
        super().close()


def detect(path: Path) -> Format:
    """By extension (`.csv`; `.jsonl`, `.ndjson`, `.json`), else by the first character."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    with path.open("rb") as file:
        start = file.read(4096).removeprefix(codecs.BOM_UTF8).lstrip()
    return "jsonl" if start.startswith(b"{") else "csv"


class SeedFile:
    """A seed file on disk: its format, size and content hashes, read as a stream."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            stat = path.stat()
        except OSError as exc:
            raise SeedFileError(
                [], heading=f"cannot read the seed file {path}: {exc.strerror}"
            ) from None
        if not path.is_file():
            raise SeedFileError([], heading=f"the seed file {path} is not a file")
        self.size = stat.st_size
        self.format: Format = detect(path)
        self._hashing: _Hashing | None = None
        #: Where the CSV header row is (the first row that is not blank), and its cells.
        self.header_line = 1
        self._header: list[str] = []

    @property
    def bytes_read(self) -> int:
        """How far the current read has come (for progress)."""
        return self._hashing.count if self._hashing is not None else 0

    @property
    def sha256(self) -> str:
        """The hash of every byte read so far: the whole file once `records()` is done."""
        return self._hashing.digest.hexdigest() if self._hashing is not None else ""

    def head_sha256(self) -> str:
        """The hash of the first 64 KiB: recognises the file without reading all of it."""
        with self.path.open("rb") as file:
            return hashlib.sha256(file.read(HEAD_BYTES)).hexdigest()

    def _open(self) -> io.BufferedReader:
        self._hashing = _Hashing(self.path.open("rb"))
        return io.BufferedReader(self._hashing, _CHUNK)

    def read(self) -> tuple[list[str] | None, Iterator[Record]]:
        """The CSV header (None for JSONL) and the records, streamed."""
        if self.format == "jsonl":
            return None, self._jsonl()
        return self._csv()

    def _jsonl(self) -> Iterator[Record]:
        with self._open() as file:
            for number, raw in enumerate(file, start=1):
                text = raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw
                text = text.strip()
                if not text:
                    continue
                try:
                    record = orjson.loads(text)
                except orjson.JSONDecodeError as exc:
                    shown = text.decode("utf-8", "replace")
                    yield Record(number, shown, f"not valid JSON: {exc}")
                    continue
                big = beyond_64_bits(text)
                if big is not None:
                    yield Record(
                        number,
                        text.decode("utf-8", "replace"),
                        f"holds the integer {big}, beyond 64 bits: mParticle cannot take it "
                        "exactly. Write it as text (in quotes) if it is a value; no MPID is "
                        "that large",
                    )
                    continue
                yield Record(number, record)

    def _csv(self) -> tuple[list[str] | None, Iterator[Record]]:
        csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
        # Bytes that are not UTF-8 survive as surrogates, so the row holding them can be
        # reported with its line number rather than failing a whole 1 MiB chunk.
        text = io.TextIOWrapper(
            self._open(), encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        # Strict: a quote that is never closed is an error, not every following row read
        # into one cell; so is text after a closing quote (`"5"0`).
        reader = csv.reader(text, strict=True)
        header: list[str] | None = None
        while header is None:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                text.close()
                return None, iter(())
            except csv.Error as exc:
                text.close()
                raise self._unreadable(start, reader.line_num, exc) from None
            if any(cell.strip() for cell in row):
                header = _readable(row) or row
                self.header_line = reader.line_num
        self._header = header
        return header, self._rows(text, reader)

    def _rows(self, text: io.TextIOWrapper, reader: Any) -> Iterator[Record]:
        with text:
            while True:
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise self._unreadable(start, reader.line_num, exc) from None
                # Blank lines and rows of empty cells (spreadsheets add them) are not users.
                if any(cell.strip() for cell in row):
                    fixed = _readable(row)
                    if fixed is None:
                        yield Record(start, row)
                    else:
                        yield Record(start, fixed, "not UTF-8 text: export the file as UTF-8")

    def _unreadable(self, start: int, line: int, exc: csv.Error) -> SeedFileError:
        """The error for a row that cannot be read, located like every other input error
        (`file:line: ...`, so editors and CI jump to it): a quote that is never closed at
        the line that opens it, anything else where reading stopped."""
        heading = "the seed file cannot be read; nothing was sent:"
        if "unexpected end of data" not in str(exc):
            issue = Issue(str(self.path), max(line, 1), None, "", f"cannot read as CSV: {exc}")
            return SeedFileError([issue], heading=heading)
        opened, index = self._unclosed_quote(start)
        columns = self._header
        column = columns[index] if index < len(columns) else f"column {index + 1}"
        message = (
            "a quote opened here is never closed, so every line after it would be read as "
            'this one cell: close the quote (or double it, "", to write one)'
        )
        return SeedFileError(
            [Issue(str(self.path), opened, None, column, message)], heading=heading
        )

    def _unclosed_quote(self, start: int) -> tuple[int, int]:
        """The line and the cell index of the quote that is never closed, in the row that
        starts at line `start`: read leniently, that row runs to the end of the file and
        its last cell is the one the quote opens; the line breaks in the cells before it
        say on which line the quote is."""
        with self.path.open(
            "r", encoding="utf-8-sig", errors="surrogateescape", newline=""
        ) as text:
            for _ in range(start - 1):
                text.readline()
            row = next(csv.reader(text), [""])
        breaks = sum(len(cell.splitlines()) - 1 + cell.endswith(("\n", "\r")) for cell in row[:-1])
        return start + breaks, len(row) - 1


def _readable(row: list[str]) -> list[str] | None:
    """None when every cell is UTF-8 text; else the cells with bad bytes shown as U+FFFD."""
    joined = "".join(row)
    if joined.isascii():
        return None
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        return [cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for cell in row]
    return None
