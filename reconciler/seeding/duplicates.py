"""Seeding, step 2b: users a seed file lists twice, found in flat memory.

Pass 1 puts every valid user's identity into a Bloom filter of fixed size (16 MiB, 7
hashes), whatever the file's size; a user the filter has seen is a suspect, and the first
`KEPT` suspects are kept. Then, only if there are any, one read of the spool confirms them
exactly (a 128-bit hash of the identity, read back in file order) and finds the line of each
one's first occurrence. A false positive of the filter costs that read, never a false
warning: the filter's false-positive rate is under 1e-9 per user for a file of a million
users, under 0.2% at ten million, about 5% at twenty million (`false_positive_rate`); a
suspect beyond the first `KEPT` is counted only.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from reconciler.seeding.shapes import Json

#: The filter's size in bits (16 MiB) and hashes per user: a false-positive rate under
#: 0.2% up to ten million users (k = 7 is near the optimum, m/n ln 2, for that many).
BITS = 1 << 27
HASHES = 7
#: Suspects kept (with their lines) for the exact check; the rest are only counted.
KEPT = 1000
#: Duplicates named by their lines in the warning.
SHOWN = 5


def identity(user: Json) -> bytes:
    """What finds the user in mParticle: its environment and MPID (the Seeding API then
    ignores identities), else its identities."""
    if "mpid" in user:
        return f"{user['environment']}|{user['mpid']}".encode()
    identities = orjson.dumps(user.get("identities", {}), option=orjson.OPT_SORT_KEYS)
    return f"{user['environment']}|".encode() + identities


def _digest(key: bytes) -> bytes:
    return hashlib.blake2b(key, digest_size=16).digest()


def false_positive_rate(users: int, bits: int = BITS, hashes: int = HASHES) -> float:
    """The chance that a new user is taken for one already seen, after `users` users."""
    return float((1 - math.exp(-hashes * users / bits)) ** hashes)


@dataclass(frozen=True)
class Duplicate:
    """A user listed again at `line`, first at `first`."""

    first: int
    line: int


class Duplicates:
    """The identities seen so far, in a Bloom filter; the suspects, for `confirm`."""

    def __init__(self, bits: int = BITS, hashes: int = HASHES) -> None:
        self._bits = bytearray(bits // 8)
        self._size = bits
        self._hashes = hashes
        #: digest -> line of the first few users the filter says it has seen.
        self.suspects: dict[bytes, int] = {}
        #: Every user the filter says it has seen, kept or not.
        self.suspected = 0

    def add(self, line: int, user: Json) -> None:
        """Note the user at `line` (a valid one, as it will be sent)."""
        digest = _digest(identity(user))
        # Double hashing (Kirsch and Mitzenmacher): k positions from two 64-bit halves.
        low = int.from_bytes(digest[:8], "little")
        step = int.from_bytes(digest[8:], "little") | 1
        bits, size = self._bits, self._size
        seen = True
        for i in range(self._hashes):
            at = (low + i * step) % size
            byte, mask = at >> 3, 1 << (at & 7)
            if not bits[byte] & mask:
                seen = False
                bits[byte] |= mask
        if seen:
            self.suspected += 1
            if len(self.suspects) < KEPT:
                self.suspects.setdefault(digest, line)

    def confirm(self, users: Iterable[tuple[int, bytes]]) -> list[Duplicate]:
        """The suspects that are users listed twice, with the line of their first
        occurrence; `users`: the valid users as spooled (line, JSON), in file order."""
        if not self.suspects:
            return []
        first: dict[bytes, int] = {}
        found: list[Duplicate] = []
        for line, encoded in users:
            digest = _digest(identity(orjson.loads(encoded)))
            suspect = self.suspects.get(digest)
            if suspect is None:
                continue
            if line < suspect:
                first.setdefault(digest, line)
            elif line == suspect and digest in first:
                found.append(Duplicate(first[digest], line))
        return found
