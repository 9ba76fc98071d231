"""Seeding, step 3: the spool of validated users and the batches cut from it, deterministically.

Batches depend only on the spool's order, the batch size and the byte limit, so a resumed
run cuts the same batches and can skip the ones a checkpoint confirmed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: Events API limit: "the total request size must be under 256kb". A body is kept under
#: both readings of kb (1,000 or 1,024 bytes): always shorter than this many bytes.
MAX_BODY_BYTES = 256_000
DEFAULT_BATCH_SIZE = 100


@dataclass(frozen=True)
class Batch:
    """Users sent in one request: their source lines and their JSON, in file order."""

    index: int
    lines: tuple[int, ...]
    users: tuple[bytes, ...]

    @property
    def body(self) -> bytes:
        return b"[" + b",".join(self.users) + b"]"

    @property
    def size(self) -> int:
        """The body's length in bytes, without building it."""
        return body_size(self.users)

    @property
    def first_line(self) -> int:
        return self.lines[0]

    def named(self, source: str = "") -> str:
        """What a retry notice says this request is for: `seed 100 users of seeds.csv,
        lines 2-101` (a half of a split batch names its own users; `source`, the file)."""
        users = f"{len(self.users)} user{'s' if len(self.users) != 1 else ''}"
        first, last = self.lines[0], self.lines[-1]
        lines = f"line {first}" if first == last else f"lines {first}-{last}"
        return f"seed {users} of {source}, {lines}" if source else f"seed {users}, {lines}"

    def halves(self) -> tuple[Batch, Batch]:
        """The two halves bisection sends when the server refuses the whole."""
        middle = len(self.users) // 2
        return (
            Batch(self.index, self.lines[:middle], self.users[:middle]),
            Batch(self.index, self.lines[middle:], self.users[middle:]),
        )


def body_size(users: Iterable[bytes]) -> int:
    """`[a,b,c]`: the brackets, the users and the commas between them."""
    count = 0
    total = 2
    for user in users:
        total += len(user)
        count += 1
    return total + max(count - 1, 0)


def fits_alone(user: bytes, max_bytes: int = MAX_BODY_BYTES) -> bool:
    """Whether a user can be sent at all: alone in a request under the byte limit."""
    return len(user) + 2 < max_bytes


class _Packer:
    """The one rule for where a batch ends, shared by `cut` and the spool's count."""

    def __init__(self, batch_size: int, max_bytes: int) -> None:
        self.batch_size = batch_size
        self.max_bytes = max_bytes
        self.users = 0
        self.size = 2
        self.batches = 0

    def add(self, user_size: int) -> bool:
        """Count a user in; True when it starts a new batch (the previous one is full)."""
        grown = self.size + user_size + (1 if self.users else 0)
        starts = self.users == 0 or self.users >= self.batch_size or grown >= self.max_bytes
        if starts:
            self.batches += 1
            self.users, self.size = 0, 2
            grown = self.size + user_size
        self.users += 1
        self.size = grown
        return starts


def cut(
    users: Iterable[tuple[int, bytes]],
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_bytes: int = MAX_BODY_BYTES,
) -> Iterator[Batch]:
    """Consecutive users in batches of at most `batch_size` users and under `max_bytes` of
    body."""
    packer = _Packer(batch_size, max_bytes)
    lines: list[int] = []
    bodies: list[bytes] = []
    for line, user in users:
        if not fits_alone(user, max_bytes):
            raise ValueError(f"the user of line {line} is too large for one request")
        if packer.add(len(user)) and bodies:
            yield Batch(packer.batches - 2, tuple(lines), tuple(bodies))
            lines, bodies = [], []
        lines.append(line)
        bodies.append(user)
    if bodies:
        yield Batch(packer.batches - 1, tuple(lines), tuple(bodies))


class Spool:
    """Validated users waiting to be sent, in a temporary file (never all in memory).

    One line per user: `<source line>\\t<user JSON>`; JSON from orjson holds no raw tab or
    newline, so the split is unambiguous.
    """

    def __init__(
        self,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_bytes: int = MAX_BODY_BYTES,
        directory: Path | None = None,
    ) -> None:
        # Closed by close() / __exit__; unlinked at once, so even a killed run leaves nothing.
        self._file: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115
            dir=directory, prefix="reconciler-seed-"
        )
        self._packer = _Packer(batch_size, max_bytes)
        self.batch_size = batch_size
        self.max_bytes = max_bytes
        self.users = 0

    @property
    def batches(self) -> int:
        """How many batches `cut` will make of the users spooled so far."""
        return self._packer.batches

    def add(self, line: int, user: bytes) -> None:
        self._file.write(b"%d\t%s\n" % (line, user))
        self._packer.add(len(user))
        self.users += 1

    def read(self) -> Iterator[tuple[int, bytes]]:
        """Every spooled user, from the start, in the order added."""
        self._file.flush()
        self._file.seek(0)
        for raw in self._file:
            line, _, user = raw.rstrip(b"\n").partition(b"\t")
            yield int(line), user

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
