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

#: Events API limit: 256 KB per request. Kept under both 256 kB and 256 KiB.
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
    return len(user) + 2 <= max_bytes


def cut(
    users: Iterable[tuple[int, bytes]],
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_bytes: int = MAX_BODY_BYTES,
) -> Iterator[Batch]:
    """Consecutive users in batches of at most `batch_size` users and `max_bytes` of body."""
    lines: list[int] = []
    bodies: list[bytes] = []
    size = 2
    index = 0
    for line, user in users:
        if not fits_alone(user, max_bytes):
            raise ValueError(f"the user of line {line} is too large for one request")
        grown = size + len(user) + (1 if bodies else 0)
        if bodies and (len(bodies) >= batch_size or grown > max_bytes):
            yield Batch(index, tuple(lines), tuple(bodies))
            index += 1
            lines, bodies, size = [], [], 2
            grown = size + len(user)
        lines.append(line)
        bodies.append(user)
        size = grown
    if bodies:
        yield Batch(index, tuple(lines), tuple(bodies))


class Spool:
    """Validated users waiting to be sent, in a temporary file (never all in memory).

    One line per user: `<source line>\\t<user JSON>`; JSON from orjson holds no raw tab or
    newline, so the split is unambiguous.
    """

    def __init__(self, directory: Path | None = None) -> None:
        # Closed by close() / __exit__; unlinked at once, so even a killed run leaves nothing.
        self._file: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115
            dir=directory, prefix="reconciler-seed-"
        )
        self.users = 0
        self.bytes = 0

    def add(self, line: int, user: bytes) -> None:
        self._file.write(b"%d\t%s\n" % (line, user))
        self.users += 1
        self.bytes += len(user)

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
