"""A fake clock for asyncio code that sleeps through an injected `sleep`: time moves only
when every task is waiting, to the next sleep's end, and every sleep due at that moment
ends together, as an event loop's timers do. A run in which every task waits and no sleep
is left to end is a hang, said so at once instead of waiting forever."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Iterable
from typing import Any


class Hung(AssertionError):
    """Every task waits and no timer is left to wake one: a request would wait forever."""


async def _settle() -> None:
    """Let every task that can run do so, before the clock moves: until the loop has
    nothing ready to run (asyncio's loops keep that queue as `_ready`), or 10,000 turns.
    A fixed 30 turns moved the clock while a chain of waiters was still failing one
    after another (19 requests past the deadline, each waking the next): the last two
    ended a second late, at the next timer, and the check blamed the pacer."""
    ready = getattr(asyncio.get_running_loop(), "_ready", None)
    for _ in range(10_000):
        await asyncio.sleep(0)
        if ready is not None and not ready:
            return


class FakeTime:
    """`clock` and `sleep` to hand to the code under test; `run` moves the time on."""

    def __init__(self, start: float = 0.0, longest: float | None = None) -> None:
        self.start = self.now = start
        #: The fake seconds no run may outlast (None: any).
        self.longest = longest
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(seconds, 0.0), next(self._order), future))
        await future

    async def run(self, *work: asyncio.Future[Any] | Iterable[asyncio.Future[Any]]) -> None:
        """Move the clock on from sleep to sleep until all of `work` (futures, or lists of
        them) is done; Hung when nothing can move any more, AssertionError past `longest`."""
        tasks = [w for item in work for w in ([item] if isinstance(item, asyncio.Future) else item)]
        idle = 0
        while not all(task.done() for task in tasks):
            await _settle()
            while self._timers and self._timers[0][2].cancelled():
                heapq.heappop(self._timers)
            if not self._timers:
                idle += 1
                if idle > 20 and not all(task.done() for task in tasks):
                    raise Hung(f"at {self.now}: {sum(not t.done() for t in tasks)} left")
                continue
            idle = 0
            due = self._timers[0][0]
            self.now = max(self.now, due)
            if self.longest is not None:
                assert self.now <= self.start + self.longest, "the run outlasted every wait"
            while self._timers and self._timers[0][0] == due:  # all at once, as a loop does
                future = heapq.heappop(self._timers)[2]
                if not future.cancelled():
                    future.set_result(None)
