"""Seeding, step 4: the checkpoint — which batches of which input the server confirmed.

JSON lines: a header naming the input and the settings that shape the batches, then one
line per confirmed batch, flushed at once and fsynced in groups; a torn last line is dropped.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from reconciler.errors import CheckpointError
from reconciler.seeding.batches import Batch

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock, one run at a time is on the user
    fcntl = None  # type: ignore[assignment]

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
    "catalogue": "the same manifests (a CA's calculation type or cutoff date changed)",
    "target": "the same workspace and MPARTICLE_S2S_URL ({old})",
}


def _entries(path: Path) -> Iterator[tuple[Any, int]]:
    """Each complete line of a checkpoint, parsed, with the offset just after it; streamed,
    and stopping at a line cut short by a crash."""
    if not path.exists():
        return
    offset = 0
    with path.open("rb") as file:
        for raw in file:
            if not raw.endswith(b"\n"):
                return
            try:
                entry = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return
            offset += len(raw)
            yield entry, offset


class Checkpoint:
    """Confirmed batches of one run and the runs it resumes."""

    def __init__(self, path: Path, file: IO[bytes] | None) -> None:
        self.path = path
        self._file = file
        self.confirmed: dict[int, tuple[int, int]] = {}
        #: Users landed and rejected by the server in batches confirmed by earlier runs.
        self.landed_before = 0
        self.rejected_before = 0
        self._written = 0
        self._synced = 0
        self._sync_lock = asyncio.Lock()

    @staticmethod
    def check_input(path: Path, seed: InputId) -> None:
        """Refuse early (before reading the whole file) a checkpoint of another file."""
        if not path.exists():
            return
        header = _header(path)
        if header is not None:
            _compare_input(path, header, seed, full=False)

    @classmethod
    def open(cls, path: Path, seed: InputId, batching: Batching, *, write: bool) -> Checkpoint:
        """Load an existing checkpoint for this input and batching (or refuse it), or start
        one; `write=False` (dry run) never creates or changes the file."""
        checkpoint = cls(path, path.open("a+b") if write else None)
        try:
            checkpoint._lock()
            entries = _entries(path)
            first = next(entries, None)
            if first is None:
                checkpoint._start(seed, batching)
                return checkpoint
            header, good = first
            if not isinstance(header, dict) or "reconciler_checkpoint" not in header:
                raise CheckpointError(
                    f"{path} is not a reconciler checkpoint: choose another --checkpoint file"
                )
            _compare_input(path, header, seed, full=True)
            _compare_batching(path, header, batching)
            for entry, end in entries:
                good = end
                index = int(entry["batch"])
                checkpoint.confirmed[index] = (int(entry["first_line"]), int(entry["users"]))
                checkpoint.landed_before += int(entry["landed"])
                checkpoint.rejected_before += len(entry["rejected"])
            if checkpoint._file is not None:
                checkpoint._file.truncate(good)
        except BaseException:
            checkpoint.close()
            raise
        return checkpoint

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

    def _lock(self) -> None:
        if fcntl is None or self._file is None:
            return
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
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
            yield from entry["rejected"]

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


def _compare_input(path: Path, header: dict[str, Any], seed: InputId, *, full: bool) -> None:
    recorded = header.get("input") or {}
    same = recorded.get("size") == seed.size and recorded.get("head_sha256") == seed.head_sha256
    if same and full:
        same = recorded.get("sha256") == seed.sha256
    if not same:
        raise CheckpointError(
            f"{path} belongs to another input: it was written for {recorded.get('path')} "
            f"({recorded.get('size')} bytes), and {seed.path} ({seed.size} bytes) differs. "
            "Use a new --checkpoint file for this input, or delete the old one to start over"
        )


def _compare_batching(path: Path, header: dict[str, Any], batching: Batching) -> None:
    recorded = header.get("batching") or {}
    for name, value in asdict(batching).items():
        old = recorded.get(name)
        if old != value:
            shown = name.replace("_", "-")
            advice = _BATCHING_ADVICE[name].format(old=old)
            if name == "environment" and old is None:
                advice = "no --environment"
            raise CheckpointError(
                f"{path} was written with other settings ({shown}: {old!r} then, {value!r} "
                f"now): re-run with {advice} to resume, or delete the checkpoint to start over"
            )
