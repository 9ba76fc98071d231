"""Reading one YAML file into plain data plus the position of every key and value.

The first step of manifest loading. Positions let every later error say `file:line:column`.
The composing itself (`composing`: libyaml through PyYAML, YAML 1.2 rules, the data built
by us) is imported when a file is first parsed or a position first asked for: a plan whose
manifests all come from the cache reads no YAML.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from reconciler.errors import DataPath, Issue, format_path
from reconciler.manifest.depth import too_deep

if TYPE_CHECKING:
    from yaml.nodes import Node

MAX_FILE_BYTES = 32 * 1024 * 1024
#: Nesting deeper than this is an error when building, and where positions stop looking.
MAX_DEPTH = 64

#: Spellings that name the same field; a position under one is found under the other.
SAME_FIELD = {"datapoint": "data_point", "data_point": "datapoint"}


@dataclass(frozen=True)
class Position:
    """A place in a file, 1-based."""

    line: int
    column: int


class Mark(Protocol):
    """The parser's mark of where a node starts (0-based); kept as it is until asked for."""

    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...


@dataclass
class Document:
    """A parsed file: `data` as plain Python values, and the composed nodes (`root`), from
    which the place of any key or value is found when asked for (errors and warnings,
    and each CA's own line: a handful per file), instead of being recorded for every
    node while building."""

    file: str
    data: Any
    root: Node | None = None

    def position(self, path: Sequence[str | int], *, key: bool = False) -> Position | None:
        """Where `path` is written; the nearest written ancestor when it is not (a missing key).
        Data reached through `*anchor` or `<<: *anchor` is written where the anchor is."""
        current: DataPath = tuple(path)
        while True:
            for candidate in _spellings(current):
                found = self._mark(candidate, key)
                if found is not None:
                    return Position(found.line + 1, found.column + 1)
            if not current:
                return None
            current = current[:-1]

    def item_positions(self, path: Sequence[str | int], count: int) -> list[Position | None]:
        """`position((*path, index))` of each index below `count` (each CA of a file),
        the sequence at `path` found once rather than once per item."""
        from yaml.nodes import SequenceNode

        found = self._nodes(tuple(path)) if not any(p in SAME_FIELD for p in path) else None
        items = found[1].value if found is not None and isinstance(found[1], SequenceNode) else ()
        if len(items) < count:  # not one written sequence: each found on its own
            return [self.position((*path, index)) for index in range(count)]
        return [Position(n.start_mark.line + 1, n.start_mark.column + 1) for n in items[:count]]

    def _mark(self, path: DataPath, key: bool) -> Mark | None:
        found = self._nodes(path)
        if found is None:
            return None
        written, node = found
        return written.start_mark if key and written is not None else node.start_mark

    def _nodes(self, path: DataPath) -> tuple[Node | None, Node] | None:
        """(key node, value node) of `path`; None when it is not written."""
        from reconciler.manifest.composing import child

        node = self.root
        if node is None:
            return None
        written: Node | None = None
        for part in path:
            found = child(node, part, MAX_DEPTH)
            if found is None:
                return None
            written, node = found
        return written, node

    def plain_text(self, path: Sequence[str | int]) -> str | None:
        """The text of the plain (unquoted) scalar at `path` as written (`007` where the
        data holds the number 7); None when it is quoted, not a scalar, or not written."""
        from yaml.nodes import ScalarNode

        found = self._nodes(tuple(path))
        if found is None:
            return None
        node = found[1]
        if not isinstance(node, ScalarNode) or node.style:  # libyaml: "" for plain
            return None
        text: str = node.value
        return text

    def issue(self, path: Sequence[str | int], message: str, *, key: bool = False) -> Issue:
        where = self.position(path, key=key)
        return Issue(
            self.file,
            where.line if where else None,
            where.column if where else None,
            format_path(path),
            message,
        )


def _spellings(path: DataPath) -> list[DataPath]:
    variants = [path]
    for index, part in enumerate(path):
        if isinstance(part, str) and part in SAME_FIELD:
            variants.append((*path[:index], SAME_FIELD[part], *path[index + 1 :]))
    return variants


class SourceError(Exception):
    """The file cannot be read as YAML; `issues` says where and why. `document`: its data
    as far as it could be built (a duplicate key drops the later value, a key that is not
    text its entry), for a reader that reports every other problem of the file too; None
    when nothing usable was built."""

    def __init__(self, issues: list[Issue], document: Document | None = None) -> None:
        super().__init__("; ".join(map(str, issues)))
        self.issues = issues
        self.document = document


def parse_yaml(text: str, file: str) -> Document:
    """Parse YAML text; raises SourceError with every problem found."""
    deep = too_deep(text, file)  # before the composer, which would crash on it
    if deep is not None:
        raise SourceError([deep])
    from reconciler.manifest.composing import compose

    return compose(text, file)


def read_bytes(path: Path, display: str) -> bytes:
    """A file's bytes, refusing oversized files before reading them."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SourceError(
                [
                    Issue(
                        display,
                        None,
                        None,
                        "",
                        f"file is {size / 1024 / 1024:.1f} MiB; the limit is "
                        f"{MAX_FILE_BYTES // 1024 // 1024} MiB per manifest file; split it",
                    )
                ]
            )
        return path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if path.is_symlink():
            target = os.readlink(path)
            reason = f"it is a symbolic link to {target}, which cannot be read ({reason})"
        raise SourceError([Issue(display, None, None, "", f"cannot read: {reason}")]) from None


def _utf32(raw: bytes) -> bool:
    """Whether text is UTF-32: its byte order mark, or three NULs beside the first
    character's other byte (UTF-32's mark begins with UTF-16's, so this is asked first)."""
    head = raw[:4]
    return head in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff") or (
        len(head) == 4 and (head[1:] == b"\0\0\0") != (head[:3] == b"\0\0\0")
    )


def _utf16(raw: bytes) -> bool:
    """Whether text is UTF-16 (as some Windows editors save): its byte order mark, or a NUL
    beside the first character's other byte."""
    return raw[:2] in (b"\xff\xfe", b"\xfe\xff") or (
        len(raw) >= 2 and (raw[0] == 0) != (raw[1] == 0)
    )


def parse_bytes(raw: bytes, display: str) -> Document:
    """Decode UTF-8 (refusing other encodings with the line) and parse."""
    wide = "UTF-32" if _utf32(raw) else "UTF-16" if _utf16(raw) else None
    if wide is not None:
        message = f"saved as {wide}; save it as UTF-8 (the YAML files are read as UTF-8)"
        raise SourceError([Issue(display, 1, None, "", message)])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = "not valid UTF-8 text; save the file as UTF-8"
        raise SourceError([Issue(display, line, None, "", message)]) from None
    return parse_yaml(text, display)


def read_yaml(path: Path, display: str) -> Document:
    """Read and parse one file, refusing oversized or non-UTF-8 files before parsing."""
    return parse_bytes(read_bytes(path, display), display)
