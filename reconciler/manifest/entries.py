"""A loaded CA's entry in its manifest file, read again: where one of its fields is written.

For the few errors found after loading (a plan's refusals, the CAs a promotion gate holds
back, an outlived retention): only a CA with such an error has its file parsed again, so a
plan of cached manifests reads no YAML unless it has something to point at. A field an
environment's override writes is placed in the override.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import DataPath, Issue, format_path
from reconciler.manifest.document import Document, SourceError, parse_yaml, read_bytes
from reconciler.manifest.overrides import written_in_override

if TYPE_CHECKING:
    from reconciler.manifest.desired import DesiredCA

CAS_KEY = "calculated_attributes"
OVERRIDES = "overrides"


#: Lines of a file per entry parsed on its own before the whole file is parsed instead:
#: one entry's lines parse in milliseconds where a file of 10,000 CAs (45,000 lines) takes
#: 2.5 s, but entries one by one cost more than the whole file once they are many.
LINES_PER_ENTRY = 1000


class Entries:
    """Entries found again, each file read once: an entry is parsed from its own lines
    where they can be told apart (a block list item), the whole file once a file has had
    one such entry per LINES_PER_ENTRY of its lines, or when they cannot be; so placing
    one CA of a large file does not parse it all, nor placing many CAs of a file parse it
    many times."""

    def __init__(self) -> None:
        self._files: dict[str, _File | None] = {}

    def entry(self, desired: DesiredCA) -> tuple[Document, int, Any] | None:
        """The CA's entry parsed again, the CA's index in what was parsed and its raw item;
        None when the file cannot be read or no longer holds a CA where `desired` was read."""
        if desired.file not in self._files:
            self._files[desired.file] = _File.read(desired.file)
        found = self._files[desired.file]
        return None if found is None else found.entry(desired.line, desired.column)


class _File:
    """A manifest file read again: its lines, and once parsed whole, where its CAs start."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.split("\n")
        self.alone = max(1, len(self.lines) // LINES_PER_ENTRY)
        self.whole: _Parsed | None = None

    @classmethod
    def read(cls, file: str) -> _File | None:
        try:
            raw = read_bytes(Path(file), file)
            text = raw.decode("utf-8")
        except (SourceError, OSError, UnicodeDecodeError):
            return None
        return cls(file, text)

    def entry(self, line: int | None, column: int | None) -> tuple[Document, int, Any] | None:
        if line is None:
            return None
        if self.whole is None and self.alone > 0:
            self.alone -= 1
            found = self._alone(line, column)
            if found is not None:
                return found
        if self.whole is None:
            self.whole = _Parsed.of(self.file, "\n".join(self.lines))
        return self.whole.entry(line, column) if self.whole else None

    def _alone(self, line: int, column: int | None) -> tuple[Document, int, Any] | None:
        """The entry that starts at `line` parsed from its own lines, at the lines and
        columns of the file (blank lines stand for those before it); None when its lines
        cannot be told apart, or do not parse as that one entry (an alias of an anchor
        written elsewhere, a flow list, a file changed since): the whole file decides."""
        first = self.lines[line - 1] if 2 <= line <= len(self.lines) else ""
        dash = len(first) - len(first.lstrip(" "))
        item = first[dash + 1 :]
        if not first[dash:].startswith("-") or not item[:1].isspace():
            return None
        end = line
        while end < len(self.lines):
            text = self.lines[end].lstrip(" ")
            if (
                text.strip()
                and not text.startswith("#")
                and len(self.lines[end]) - len(text) <= dash
            ):
                break
            end += 1
        text = f"{CAS_KEY}:\n" + "\n" * (line - 2) + "\n".join(self.lines[line - 1 : end]) + "\n"
        found = _Parsed.of(self.file, text)
        if found is None or len(found.items) != 1:
            return None
        return found.entry(line, column)


class _Parsed:
    """Manifest text parsed, and where each of its CAs starts."""

    def __init__(self, document: Document, items: list[Any]) -> None:
        self.document = document
        self.items = items
        self.starts: dict[int, list[tuple[int, int]]] = {}
        for index, where in enumerate(document.item_positions((CAS_KEY,), len(items))):
            if where is not None:
                self.starts.setdefault(where.line, []).append((where.column, index))

    @classmethod
    def of(cls, file: str, text: str) -> _Parsed | None:
        try:
            document = parse_yaml(text, file)
        except SourceError:
            return None
        items = document.data.get(CAS_KEY) if isinstance(document.data, dict) else None
        return cls(document, items) if isinstance(items, list) else None

    def entry(self, line: int, column: int | None) -> tuple[Document, int, Any] | None:
        """The CA that starts at `line` (and `column`, when known), its index and item."""
        for start, index in self.starts.get(line, []):
            if column in (None, start):
                return self.document, index, self.items[index]
        return None


def entry(desired: DesiredCA) -> tuple[Document, int, Any] | None:
    """The CA's file parsed again, the CA's index in it and its raw item; None when the
    file cannot be read or no longer holds a CA where `desired` was read."""
    return Entries().entry(desired)


def overridden(item: Any, environment: str, path: Sequence[str | int]) -> bool:
    """Whether `environment`'s override of `item` writes the field at `path` (or a value
    above it, which replaces it whole)."""
    overrides = item.get(OVERRIDES) if isinstance(item, dict) else None
    if not isinstance(overrides, dict) or environment not in overrides:
        return False
    return written_in_override(overrides[environment], path)


def field_issue(
    desired: DesiredCA,
    environment: str | None,
    path: DataPath,
    message: str,
    entries: Entries | None = None,
) -> Issue:
    """`message` at the line (and column) that writes the field `path` of `desired`'s
    entry, in `environment`'s override when that writes it: `file:line:column: path:
    message`, as loading's own errors read. A field not written is placed where its
    nearest written parent is; an entry the file no longer holds, at the CA as loaded.
    `entries`: the files already read again, for placing many CAs."""
    found = (entries or Entries()).entry(desired)
    if found is None:
        return Issue(desired.file, desired.line, desired.column, format_path(path), message)
    document, index, item = found
    origin: DataPath = ()
    if environment is not None and overridden(item, environment, path):
        origin = (OVERRIDES, environment)
    where = document.position((CAS_KEY, index, *origin, *path), key=True)
    return Issue(
        desired.file,
        where.line if where else desired.line,
        where.column if where else desired.column,
        format_path((*origin, *path)),
        message,
    )
