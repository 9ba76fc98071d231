"""How many requests may be on the wire at once, as 429s teach it: part of the network
seam (`http`). `Window` is the arithmetic (AIMD); `Gate` holds requests to it.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass


@dataclass
class Window:
    """How many requests may be on the wire at once: additive increase, multiplicative
    decrease (AIMD), as TCP paces itself by what the network delivers.

    Unbounded (the caller's concurrency) until a 429. A 429 halves it, from the number of
    requests that were on the wire with the refused one, down to one at least; once for
    each crowd refused together (answers to requests sent before the last cut add nothing:
    that crowd was counted). Each success widens it by 1/limit: one more place for each
    window's worth of successes, so it creeps back rather than leaping into the next 429.

    Between two cuts it counts the successes: the rate the server admitted. The requests
    refused together then need as many pauses as they fill windows or that rate's worth
    of a pause (whichever is more): `crowd`, which sizes the jitter that spreads them.
    Against a server that takes one request a pause, that is one request each, as before.
    """

    #: When counting began (the caller's monotonic clock): the first cut measures from it.
    counted_from: float = 0.0
    limit: float = math.inf
    #: When the last cut happened.
    cut_at: float = -math.inf
    cuts: int = 0
    successes: int = 0
    #: Successes a second between the last two cuts (before the first: since counting).
    admitted: float = 0.0

    @property
    def places(self) -> int | None:
        """The whole number of requests allowed on the wire (None: no limit yet)."""
        return None if math.isinf(self.limit) else max(1, int(self.limit))

    def allows(self, on_the_wire: int) -> bool:
        """Whether one more request may go while `on_the_wire` are out."""
        places = self.places
        return places is None or on_the_wire < places

    def refused(self, on_the_wire: int, sent_at: float, now: float) -> bool:
        """A 429 answered a request sent at `sent_at`, with `on_the_wire` requests out (it
        included): halve the window unless this crowd was counted already. Whether it
        was cut."""
        if sent_at <= self.cut_at:
            return False
        elapsed = now - self.counted_from
        self.admitted = self.successes / elapsed if elapsed > 0 else 0.0
        self.successes = 0
        self.counted_from = now
        self.limit = max(1.0, min(self.limit, on_the_wire) / 2)
        self.cut_at = now
        self.cuts += 1
        return True

    def succeeded(self) -> None:
        self.successes += 1
        if not math.isinf(self.limit):
            self.limit += 1 / self.limit

    def crowd(self, waiting: int, pause: float) -> int:
        """Pauses of `pause` seconds that `waiting` requests refused by 429s need to come
        back: a window's worth each, or what the server admitted in as long, if more
        (before any cut: one request each, the most cautious)."""
        places = self.places
        if places is None or waiting <= 0:
            return waiting
        return math.ceil(waiting / max(places, math.floor(self.admitted * pause)))


class Gate:
    """The requests that hold a place in a window (from their turn to their answer), and
    those waiting for one, oldest first. A wait for a place lasts as long as the answers of
    the requests out take, each bounded by its own timeout."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self.taken = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._open = False

    async def enter(self, stopping: asyncio.Event) -> bool:
        """Take a place, waiting while the window is full; False (no place taken) once
        `stopping` is set."""
        while not self.window.allows(self.taken) and not stopping.is_set():
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            finally:
                if not waiter.done():
                    self._waiting.remove(waiter)
        if stopping.is_set():
            return False
        self.taken += 1
        return True

    def leave(self) -> None:
        """An attempt is over: its place goes to the next request waiting."""
        self.taken -= 1
        self._hand_on()

    def open_all(self) -> None:
        """Wake every request waiting (stopping: they are to give up)."""
        self._open = True
        self._hand_on()

    def _hand_on(self) -> None:
        places = self.window.places
        free = len(self._waiting) if places is None or self._open else places - self.taken
        while free > 0 and self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1
