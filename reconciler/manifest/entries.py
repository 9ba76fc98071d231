"""A loaded CA's entry in its manifest file, read again: where one of its fields is written.

For the few errors found after loading (a plan's refusals, an outlived retention): only a
CA with such an error has its file parsed again, so a plan of cached manifests reads no
YAML unless it has something to point at. A field an environment's override writes is
placed in the override.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import DataPath, Issue, format_path
from reconciler.manifest.document import (
    Document,
    SourceError,
    parse_bytes,
    read_bytes,
)
from reconciler.manifest.overrides import written_in_override

if TYPE_CHECKING:
    from reconciler.manifest.desired import DesiredCA

CAS_KEY = "calculated_attributes"
OVERRIDES = "overrides"


def entry(desired: DesiredCA) -> tuple[Document, int, Any] | None:
    """The CA's file parsed again, the CA's index in it and its raw item; None when the
    file cannot be read or no longer holds a CA where `desired` was read."""
    try:
        document = parse_bytes(read_bytes(Path(desired.file), desired.file), desired.file)
    except (SourceError, OSError):
        return None
    items = document.data.get(CAS_KEY) if isinstance(document.data, dict) else None
    if not isinstance(items, list):
        return None
    for index, where in enumerate(document.item_positions((CAS_KEY,), len(items))):
        if (
            where is not None
            and where.line == desired.line
            and desired.column in (None, where.column)
        ):
            return document, index, items[index]
    return None


def overridden(item: Any, environment: str, path: Sequence[str | int]) -> bool:
    """Whether `environment`'s override of `item` writes the field at `path` (or a value
    above it, which replaces it whole)."""
    overrides = item.get(OVERRIDES) if isinstance(item, dict) else None
    if not isinstance(overrides, dict) or environment not in overrides:
        return False
    return written_in_override(overrides[environment], path)


def field_issue(desired: DesiredCA, environment: str | None, path: DataPath, message: str) -> Issue:
    """`message` at the line (and column) that writes the field `path` of `desired`'s
    entry, in `environment`'s override when that writes it: `file:line:column: path:
    message`, as loading's own errors read. A field not written is placed where its
    nearest written parent is; an entry the file no longer holds, at the CA as loaded."""
    found = entry(desired)
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
