"""Events files: JSONL of Events API batches (one `POST /v2/events` body a line), read,
checked line by line (`file:line: path: message`), and handed out to the test users each
batch names by `mpid` or `user_identities`.

Part of test-file loading; the checks are the strict models of `testfiles.events`.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from reconciler.errors import Issue, format_path
from reconciler.manifest.diagnostics import explain
from reconciler.testfiles.events import Batch

Json = dict[str, Any]


@dataclass(frozen=True)
class LoadedBatch:
    """A valid batch: who it is about, and its events as plain JSON."""

    line: int
    mpid: int | None
    identities: dict[str, str]
    events: list[Json]


@dataclass
class _Index:
    """Where each mpid and identity occurs among an events file's batches (positions in
    file order), so that every user of a shared file is found without reading all of it."""

    size: int
    by_mpid: dict[int, list[int]] = field(default_factory=dict)
    by_identity: dict[tuple[str, str], list[int]] = field(default_factory=dict)


@dataclass
class EventsFile:
    """The valid batches of one events file and the problems of the others."""

    display: str
    batches: list[LoadedBatch] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    _index: _Index | None = field(default=None, repr=False, compare=False)

    def of(self, mpid: int | None, identities: dict[str, str] | None) -> list[LoadedBatch]:
        """The batches of a user, in file order: naming its mpid, or one of its identities;
        every batch when the user names neither."""
        if mpid is None and not identities:
            return list(self.batches)
        index = self._indexed()
        found: set[int] = set(index.by_mpid.get(mpid, ())) if mpid is not None else set()
        for pair in (identities or {}).items():
            found.update(index.by_identity.get(pair, ()))
        return [self.batches[position] for position in sorted(found)]

    def _indexed(self) -> _Index:
        """The index of the batches, built once (again should a batch have been added)."""
        if self._index is None or self._index.size != len(self.batches):
            index = _Index(len(self.batches))
            for position, batch in enumerate(self.batches):
                if batch.mpid is not None:
                    index.by_mpid.setdefault(batch.mpid, []).append(position)
                for pair in batch.identities.items():
                    index.by_identity.setdefault(pair, []).append(position)
            self._index = index
        return self._index


def _check(raw: object, display: str, line: int) -> tuple[LoadedBatch | None, list[Issue]]:
    try:
        batch = Batch.model_validate(raw)
    except ValidationError as exc:
        return None, [
            Issue(display, line, None, format_path(path), message)
            for path, message, _ in explain(exc, Batch, raw)
        ]
    issues = [
        Issue(display, line, None, format_path(("events", index, *path)), message)
        for index, event in enumerate(batch.events)
        for path, message in event.problems()
    ]
    assert isinstance(raw, dict)
    events = raw.get("events") or []
    return LoadedBatch(line, batch.mpid, dict(batch.user_identities or {}), events), issues


def read(path: Path, display: str) -> EventsFile:
    """Every batch of an events file, with every problem located by line."""
    loaded = EventsFile(display)
    try:
        handle = path.open("rb")
    except OSError as exc:
        loaded.issues.append(Issue(display, None, None, "", f"cannot read: {exc.strerror}"))
        return loaded
    with handle:
        for number, line in enumerate(handle, start=1):
            # A byte order mark, as Windows editors write: invisible, no part of the JSON.
            text = line.removeprefix(codecs.BOM_UTF8) if number == 1 else line
            if not text.strip():
                continue
            try:
                raw = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                loaded.issues.append(
                    Issue(display, number, exc.colno, "", f"invalid JSON: {exc.msg}")
                )
                continue
            if not isinstance(raw, dict):
                message = "each line is one Events API batch: a JSON object with `events`"
                loaded.issues.append(Issue(display, number, None, "", message))
                continue
            batch, issues = _check(raw, display, number)
            loaded.issues += issues
            if batch is not None and not issues:
                loaded.batches.append(batch)
    return loaded
