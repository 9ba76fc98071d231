"""Seeding, step 4: the checkpoint — which batches of which input the server confirmed.

JSON lines: a header naming the input and the settings that shape the batches, then one
line per confirmed batch, flushed at once and fsynced in groups; a torn last line is dropped.
A checkpoint is input like any other: every line is validated (types, ranges, a batch's
users all landed or refused, each batch once, within the batches of this input) before
anything is skipped or counted, and one that fails is refused, naming the line.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from reconciler.errors import CheckpointError, printable
from reconciler.files import hold, open_private
from reconciler.seeding.batches import Batch

FORMAT = 1
_HEADER_START = b'{"reconciler_checkpoint":'


@dataclass(frozen=True)
class InputId:
    """The seed file a checkpoint belongs to."""

    path: str
    size: int
    head_sha256: str
    sha256: str = ""


@dataclass(frozen=True)
class Batching:
    """Everything that decides how users are cut into batches and where they go."""

    batch_size: int
    max_bytes: int
    skip_invalid: bool
    environment: str | None
    catalogue: str
    target: str


_BATCHING_ADVICE = {
    "batch_size": "--batch-size {old}",
    "max_bytes": "the same reconciler version",
    "skip_invalid": "--skip-invalid as before ({old})",
    "environment": "--environment {old}",
    "target": "the same workspace and MPARTICLE_S2S_URL ({old})",
}


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class _Input(_Strict):
    path: StrictStr
    size: StrictInt = Field(ge=0)
    head_sha256: StrictStr
    sha256: StrictStr = ""


class _Batching(_Strict):
    batch_size: StrictInt
    max_bytes: StrictInt
    skip_invalid: bool
    environment: StrictStr | None
    catalogue: StrictStr
    target: StrictStr


class _Header(_Strict):
    reconciler_checkpoint: StrictInt
    input: _Input
    batching: _Batching


class _Rejected(_Strict):
    line: StrictInt = Field(ge=1)
    errors: list[StrictStr]
    record: Any
    stage: StrictStr


class _Entry(_Strict):
    """One confirmed batch: its users all landed or were refused, each exactly once."""

    batch: StrictInt = Field(ge=0)
    first_line: StrictInt = Field(ge=1)
    users: StrictInt = Field(ge=1)
    landed: StrictInt = Field(ge=0)
    rejected: list[_Rejected]


def _damaged(path: Path, line: int, why: str) -> CheckpointError:
    return CheckpointError(
        f"{path}:{line}: the checkpoint is damaged ({why}): nothing was sent. Delete it to "
        "start over (seeds overwrite, so sending again is safe)"
    )


def _problem(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(map(str, first["loc"])) or "the line"
    return f"{where}: {first['msg']}"


def _entries(path: Path) -> Iterator[tuple[Any, int]]:
    """Each complete line of a checkpoint, parsed, with the offset just after it; streamed.
    A last line cut short by a crash (no newline, or not JSON) ends it; a line that is not
    JSON before other lines is damage, refused."""
    if not path.exists():
        return
    offset = 0
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            if not raw.endswith(b"\n"):
                return
            try:
                entry = orjson.loads(raw)
            except orjson.JSONDecodeError:
                # The first line is the header: `_start` tells a torn one from another file.
                if number > 1 and file.read(1):
                    raise _damaged(path, number, "a line that is not JSON") from None
                return
            offset += len(raw)
            yield entry, offset


def _header_of(path: Path, entry: Any) -> _Header:
    """The header line, validated; a checkpoint of another format version is refused."""
    if not isinstance(entry, dict) or "reconciler_checkpoint" not in entry:
        raise CheckpointError(
            f"{path} is not a reconciler checkpoint: choose another --checkpoint file"
        )
    version = entry["reconciler_checkpoint"]
    if version != FORMAT:
        raise CheckpointError(
            f"{path} was written in checkpoint format {printable(repr(version))}, and this "
            f"reconciler reads format {FORMAT}: finish that run with the reconciler that "
            "started it, or delete the checkpoint to start over"
        )
    try:
        return _Header.model_validate(entry)
    except ValidationError as exc:
        raise _damaged(path, 1, _problem(exc)) from None


def _entry_of(path: Path, line: int, data: Any, seen: dict[int, tuple[int, int]]) -> _Entry:
    """One batch line, validated: types and ranges, users == landed + refused, each batch
    once."""
    try:
        entry = _Entry.model_validate(data)
    except ValidationError as exc:
        raise _damaged(path, line, _problem(exc)) from None
    if entry.landed + len(entry.rejected) != entry.users:
        raise _damaged(
            path,
            line,
            f"batch {entry.batch} holds {entry.users} users, but {entry.landed} landed and "
            f"{len(entry.rejected)} were refused",
        )
    if entry.batch in seen:
        raise _damaged(path, line, f"batch {entry.batch} is confirmed twice")
    return entry


class Checkpoint:
    """Confirmed batches of one run and the runs it resumes."""

    def __init__(self, path: Path, file: IO[bytes] | None) -> None:
        self.path = path
        self._file = file
        self.confirmed: dict[int, tuple[int, int]] = {}
        #: Users landed and rejected by the server in batches confirmed by earlier runs.
        self.landed_before = 0
        self.rejected_before = 0
        #: Batches an earlier run confirmed with refused users, to be sent again
        #: (`retry_refused`).
        self.retried = 0
        self._written = 0
        self._synced = 0
        self._sync_lock = asyncio.Lock()

    @staticmethod
    def check_input(path: Path, seed: InputId) -> None:
        """Refuse early (before reading the whole file) a checkpoint of another file, or a
        path that cannot hold one (a directory)."""
        if path.is_dir():
            raise CheckpointError(
                f"--checkpoint {path} is a directory: name a file to record confirmed batches"
            )
        if not path.exists():
            return
        header = _header(path)
        if header is not None and "reconciler_checkpoint" in header:
            _compare_input(path, _header_of(path, header), seed, full=False)

    @classmethod
    def open(
        cls,
        path: Path,
        seed: InputId,
        batching: Batching,
        *,
        write: bool,
        batches: int | None = None,
        retry_refused: bool = False,
        refused: str = "",
    ) -> Checkpoint:
        """Load an existing checkpoint for this input and batching (or refuse it), or start
        one; `write=False` (dry run) never creates or changes the file. `batches`: how many
        batches the input makes (a confirmed one beyond them is refused). `retry_refused`:
        a batch the server refused users of is no longer confirmed (and leaves the file),
        so that the run sends it again: refused users may land now, and seeds overwrite.
        `refused`: the end of `batching.catalogue` that names the CAs the workspace would not
        take seeds for (`refusals`), whose users the batches leave out."""
        try:
            handle = open_private(path, "a+b") if write else None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise CheckpointError(f"--checkpoint {path}: cannot write it: {reason}") from None
        checkpoint = cls(path, handle)
        try:
            checkpoint._lock()
            entries = _entries(path)
            first = next(entries, None)
            if first is None:
                checkpoint._start(seed, batching)
                return checkpoint
            header, good = _header_of(path, first[0]), first[1]
            _compare_input(path, header, seed, full=True)
            _compare_batching(path, header, batching, refused)
            kept = [first[0]]
            for line, (data, end) in enumerate(entries, start=2):
                good = end
                entry = _entry_of(path, line, data, checkpoint.confirmed)
                if retry_refused and entry.rejected:
                    checkpoint.retried += 1
                    continue
                checkpoint._confirm(entry, batches)
                kept.append(data)
            if checkpoint._file is not None:
                checkpoint._file.truncate(good)
                if checkpoint.retried:
                    checkpoint._rewrite(kept)
        except BaseException:
            checkpoint.close()
            raise
        return checkpoint

    def _confirm(self, entry: _Entry, batches: int | None) -> None:
        if batches is not None and entry.batch >= batches:
            raise CheckpointError(
                f"{self.path}: batch {entry.batch} is confirmed, but this input makes "
                f"{batches} batch(es): the checkpoint does not belong to it. Delete it to "
                "start over"
            )
        self.confirmed[entry.batch] = (entry.first_line, entry.users)
        self.landed_before += entry.landed
        self.rejected_before += len(entry.rejected)

    def _start(self, seed: InputId, batching: Batching) -> None:
        """Write the header of a new checkpoint (over at most a header cut short)."""
        head = b""
        if self.path.exists():
            with self.path.open("rb") as file:
                head = file.read(len(_HEADER_START))
        # Empty, or a header cut short by a crash: anything else is someone else's file.
        if not _HEADER_START.startswith(head):
            raise CheckpointError(
                f"{self.path} is not a reconciler checkpoint: choose another --checkpoint file"
            )
        if self._file is None:
            return
        self._file.truncate(0)
        self._append(
            {"reconciler_checkpoint": FORMAT, "input": asdict(seed), "batching": asdict(batching)}
        )
        os.fsync(self._file.fileno())

    def _rewrite(self, lines: list[Any]) -> None:
        """The file as these lines, in place (the lock is on this file): a crash meanwhile
        loses confirmations, and their batches are sent again, which seeds survive."""
        assert self._file is not None
        self._file.truncate(0)
        for line in lines:
            self._append(line)
        os.fsync(self._file.fileno())

    def _lock(self) -> None:
        if self._file is not None and not hold(self._file.fileno(), self.path):
            self._file.close()
            raise CheckpointError(
                f"{self.path} is in use by another seeding run; wait for it or use another "
                "--checkpoint file"
            ) from None

    def skips(self, batch: Batch) -> bool:
        """Whether an earlier run confirmed this batch (which must be the same batch)."""
        known = self.confirmed.get(batch.index)
        if known is None:
            return False
        if known != (batch.first_line, len(batch.users)):
            raise CheckpointError(
                f"{self.path}: batch {batch.index} was lines from {known[0]} ({known[1]} users) "
                f"but is now lines from {batch.first_line} ({len(batch.users)} users): the "
                "input or settings changed; delete the checkpoint to start over"
            )
        return True

    def previous_rejects(self) -> Iterator[dict[str, Any]]:
        """Users the server rejected in batches confirmed by earlier runs."""
        if not self.confirmed:
            return
        entries = _entries(self.path)
        next(entries, None)  # the header
        for entry, _ in entries:
            yield from entry["rejected"]  # validated by `open`

    async def record(self, batch: Batch, landed: int, rejected: list[dict[str, Any]]) -> None:
        """Note a batch as confirmed: written and flushed at once, fsynced in groups."""
        if self._file is None:
            return
        self._append(
            {
                "batch": batch.index,
                "first_line": batch.first_line,
                "users": len(batch.users),
                "landed": landed,
                "rejected": rejected,
            }
        )
        self._written += 1
        wanted = self._written
        async with self._sync_lock:
            if self._synced < wanted:
                # Everything written so far rides on this fsync (group commit).
                upto = self._written
                await asyncio.to_thread(os.fsync, self._file.fileno())
                self._synced = upto

    def _append(self, entry: dict[str, Any]) -> None:
        assert self._file is not None
        self._file.write(orjson.dumps(entry) + b"\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _header(path: Path) -> dict[str, Any] | None:
    with path.open("rb") as file:
        first = file.readline()
    try:
        header = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None
    return header if isinstance(header, dict) else None


def _compare_input(path: Path, header: _Header, seed: InputId, *, full: bool) -> None:
    recorded = header.input
    same = recorded.size == seed.size and recorded.head_sha256 == seed.head_sha256
    if same and full:
        same = recorded.sha256 == seed.sha256
    if not same:
        # A file edited in place keeps its path, and often its size: "(346292 bytes), and
        # ... (346292 bytes) differs" left the reader to spot what did.
        if recorded.size == seed.size:
            differs = f"{seed.path} has as many bytes ({seed.size:,}) but other content"
        else:
            differs = f"{seed.path} has {seed.size:,} bytes"
        raise CheckpointError(
            f"{path} belongs to another input: it was written for {recorded.path} "
            f"({recorded.size:,} bytes), and {differs}: the file changed, or is another. "
            "Use a new --checkpoint file for this input, or delete the old one to start over"
        )


#: Where a batching's `catalogue` names the CAs whose users its batches leave out.
_REFUSED = " without "


def refusals(names: Sequence[str]) -> str:
    """The end of a batching's `catalogue` naming the CAs the workspace would not take seeds
    for (the preflight's): their users are not in the batches, so it is another batching."""
    return f"{_REFUSED}{','.join(names)}" if names else ""


def _compare_batching(path: Path, header: _Header, batching: Batching, refused: str) -> None:
    recorded = header.batching.model_dump()
    for name, value in asdict(batching).items():
        old = recorded.get(name)
        if old != value and name == "catalogue":  # two digests would tell nobody anything
            base = value.removesuffix(refused)
            rest = old[len(base) :] if isinstance(old, str) and old.startswith(base) else None
            if rest is not None and (not rest or rest.startswith(_REFUSED)):
                then = printable(rest.removeprefix(_REFUSED)) or "none"
                now = printable(refused.removeprefix(_REFUSED)) or "none"
                raise CheckpointError(
                    f"{path} was written while the workspace would not take the seeds of "
                    f"other CAs (then: {then}; now: {now}), whose users its batches left out: "
                    "a CA was applied or changed in the workspace since. Delete the checkpoint "
                    "to start over (seeds overwrite, so sending again is safe)"
                )
            raise CheckpointError(
                f"{path} was written for other manifests: a calculation type or cutoff date "
                "of a CA changed since. Re-run with the manifests as they were to resume, or "
                "delete the checkpoint to start over"
            )
        if old != value:
            shown = name.replace("_", "-")
            advice = _BATCHING_ADVICE[name].format(old=old)
            if name == "environment" and old is None:
                advice = "no --environment"
            raise CheckpointError(
                f"{path} was written with other settings ({shown}: {old!r} then, {value!r} "
                f"now): re-run with {advice} to resume, or delete the checkpoint to start over"
            )
