"""The pace of requests after a 429 (used by `http`): a queue released at a measured rate.

Until the first 429 nothing waits here. A 429 holds every request for its `Retry-After`
and starts pacing at the one safe assumption, that the server takes one request a pause;
each request that had to wait for its turn and then succeeded raises the rate by one a
pause (a pause's worth of them doubles it, as TCP's slow start), and a 429 to a request
sent at the current rate halves it again (once for each crowd refused together). The
waiting requests go one at a time, the most refused first, then the oldest: a request
waiting here spends none of its attempts. Why this and not a jitter window: docs/resilience.md.

What stderr hears of it (`RateNotices`): the first hold and retry, then a line a minute at
most counting the 429s since (and a last one when the client closes), and every wait of a
few seconds or more with when it ends.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from reconciler.api.retrying import (
    MAX_RETRY_AFTER,
    Deadline,
    beyond_deadline,
    reason,
    retry_line,
)
from reconciler.api.stopping import Stopped, until_stopped
from reconciler.errors import ApiError, RateLimited, duration, until

log = logging.getLogger("reconciler.http")

#: Waits at least this long are announced (INFO).
NOTICE_AFTER = 1.0
#: The shortest pause a 429 counts as (one without Retry-After and a zero initial wait).
SHORTEST_PAUSE = 0.01
#: A wait at least this long is always announced in full, with when it ends (SPEC §4:
#: every wait longer than a few seconds says until when).
ALWAYS_SAID = 5.0
#: While 429s repeat, shorter waits are counted and summed up in a line at most this often:
#: a rate-limited apply of 2,000 creates said "retrying ..." and "holding requests ..."
#: one and a half times a second.
SUMMARY_EVERY = 60.0


def pace(rate: float) -> str:
    """`2.5 requests a second`, `1 request a second`, `one request every 4 s`."""
    if rate < 1:
        return f"one request every {duration(1 / rate)}"
    shown = f"{rate:.3g}"
    return f"{shown} request{'' if shown == '1' else 's'} a second"


class RateNotices:
    """What stderr hears of 429s (every line also at DEBUG, which --debug shows): the first
    retry and hold in full; after that a line at most every SUMMARY_EVERY counting the 429s
    since (the last of them when the client closes: `finish`), and every wait of
    ALWAYS_SAID or more in full, with when it ends. 429s whose waits are all too short to
    say in full (no `Retry-After`: a quarter of a second) are counted from the first: an
    apply slowed forty-fold by them said not a word of it."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._said = -math.inf  # when the last line of these was said
        self._unsaid = 0  # 429s retried since, not said
        self._counted_from = -math.inf  # the first of them, when no line was said before
        self._hold_due = True  # the next hold is said: a first retry was just said

    def retry(self, wait: float, error: ApiError, doing: str, rate: float | None) -> None:
        """A request refused with a 429 is tried again in `wait` seconds (`rate`: the pace)."""
        now = self._clock()
        quiet = now - self._said >= SUMMARY_EVERY
        first = quiet and (not self._unsaid or math.isinf(self._said))
        if wait >= NOTICE_AFTER and (first or wait >= ALWAYS_SAID):
            if first and self._unsaid:  # short ones came first: said before this one
                self._sum_up(now, rate)
            log.info("%s", retry_line(wait, error, doing))
            if first:
                self._said, self._unsaid, self._hold_due = now, 0, True
            return
        log.debug("%s", retry_line(wait, error, doing))
        if not self._unsaid and math.isinf(self._said):
            self._counted_from = now
        self._unsaid += 1
        if now - self._since() >= SUMMARY_EVERY:
            self._sum_up(now, rate)

    def finish(self) -> None:
        """The client closes: the 429s counted since the last line are summed up now (a
        line a minute at most left those of the last minute unsaid), without the pace,
        which no request follows any more. Nothing if there are none."""
        if self._unsaid:
            self._sum_up(self._clock(), None)

    def _since(self) -> float:
        """Since when the 429s not said yet were counted."""
        return self._said if math.isfinite(self._said) else self._counted_from

    def _sum_up(self, now: float, rate: float | None) -> None:
        pacing = f"; pacing at {pace(rate)}, more often as they succeed" if rate else ""
        more = " more" if math.isfinite(self._said) else ""
        log.info(
            "rate limited: %d%s 429%s in the last %s%s",
            self._unsaid,
            more,
            "" if self._unsaid == 1 else "s",
            duration(now - self._since()),
            pacing,
        )
        self._said, self._unsaid = now, 0

    def hold(self, held: float, text: str) -> None:
        """Every request is held `held` seconds; `text` says so."""
        now = self._clock()
        said = held >= ALWAYS_SAID or self._hold_due or now - self._said >= SUMMARY_EVERY
        log.log(logging.INFO if said else logging.DEBUG, "%s", text)
        if said:
            self._said, self._hold_due = now, False


@dataclass(eq=False)
class _Waiter:
    """A request waiting for its turn: its place in the queue and its planned moment."""

    refusals: int
    order: int
    earliest: float  # its own Retry-After, counted from when it came
    slot: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def rank(self) -> tuple[int, int]:
        return -self.refusals, self.order


class Pacer:
    """Holds requests after a 429, then lets them go at a rate learnt from the answers."""

    def __init__(
        self,
        deadline: Deadline,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.deadline = deadline
        self._sleep = sleep
        self._clock = clock
        #: Requests a second let go; None until the first 429 (nothing is paced).
        self.rate: float | None = None
        self.pause = 0.0  # the last 429's Retry-After: the unit of the rate's changes
        self.hold_until = 0.0  # no request goes before (the latest 429's Retry-After)
        self.paused_by: RateLimited | None = None
        self._last_cut = -math.inf
        self._last_release = -math.inf
        self._announced = -math.inf  # the end of the last hold announced
        self._waiting: list[_Waiter] = []
        self._head: _Waiter | None = None  # the first in line: the only one on a timer
        self._orders = itertools.count()
        self.notices = RateNotices(clock)

    # -- what the answers say ------------------------------------------------------------

    def refused(self, sent: float, error: RateLimited, least: float) -> None:
        """A 429 answered a request sent at `sent` (this clock): hold every request for its
        `Retry-After` (`least` seconds when it has none), and halve the rate, unless the
        request went out before the last cut (one cut for a crowd refused together)."""
        now = self._clock()
        pause = max(error.retry_after if error.retry_after is not None else least, 0.0)
        unit = max(pause, least, SHORTEST_PAUSE)
        if not math.isfinite(unit):  # `Retry-After: 1e400`: the hold fails at once; no rate
            unit = MAX_RETRY_AFTER
        if now + pause > self.hold_until or self.paused_by is None:
            # The first 429 is always the hold's cause (a `Retry-After: 0` at the clock's
            # start moved no end), which a turn beyond the deadline names.
            self.hold_until = max(self.hold_until, now + pause)
            self.paused_by = error
        if self.rate is None or sent > self._last_cut:
            self.rate = 1 / unit if self.rate is None else max(self.rate / 2, 1 / unit)
            self.pause = unit
            self._last_cut = now
            log.debug("pacing requests at %.3g a second after a 429", self.rate)
        self._schedule(now)

    def succeeded(self, sent: float, waited: bool) -> None:
        """A request sent at `sent` succeeded: if it had waited for its turn (the rate was
        what held it back) and went out since the last cut, one more a pause."""
        if self.rate is None or not waited or sent <= self._last_cut:
            return
        self.rate += 1 / self.pause
        self._schedule(self._clock())

    def announce_retry(self, wait: float, error: ApiError, doing: str) -> None:
        """A request refused with a 429 waits `wait` seconds for its turn (`notices`)."""
        self.notices.retry(wait, error, doing, self.rate)

    # -- waiting for a turn --------------------------------------------------------------

    def estimate(self, refusals: int, least: float = 0.0) -> float:
        """Seconds a request refused `refusals` times would wait if it came now, at least
        `least`: the hold, then its turn after those ahead of it if they succeed (each
        success raises the rate by one a pause, so n go in about pause * ln(1 + n / (rate *
        pause)) seconds)."""
        if self.rate is None:
            return least
        now = self._clock()
        ahead = sum(1 for w in self._waiting if w.rank < (-refusals, math.inf))
        turn = self.pause * math.log1p(ahead / (self.rate * self.pause))
        return max(self._start(now) - now + turn, least)

    async def turn(self, refusals: int, shown: str, least: float = 0.0) -> bool:
        """Wait for this request's turn: after the hold, at the rate, the most refused and
        then the oldest first; at least `least` seconds (its own Retry-After). Whether it
        had to wait at all. Raises DeadlineExceeded for a turn beyond the deadline."""
        if self.rate is None:
            return False
        now = self._clock()
        if not self._waiting:  # the first after an idle moment: no credit for the idle time
            self._last_release = max(self._last_release, now - 1 / self.rate)
        waiter = _Waiter(refusals, next(self._orders), now + least)
        self._waiting.append(waiter)
        self._schedule(now)
        waited = released = False
        try:
            wait = max(waiter.slot - now, least)
            while True:
                if waiter is not self._head:
                    waiter.wake.clear()
                    await waiter.wake.wait()
                    waited = True
                else:
                    if wait <= 0:
                        break
                    if not self.deadline.allows(wait) and self.paused_by is not None:
                        raise beyond_deadline(self.deadline, wait, shown, self.paused_by, held=True)
                    self._announce(now, wait)
                    waited = True
                    waiter.wake.clear()
                    if await self._slept(wait, waiter.wake):  # else look again
                        break
                now = self._clock()
                wait = max(waiter.slot, waiter.earliest) - now
            released = True
        finally:
            self._waiting.remove(waiter)
            if released:
                self._last_release = max(self._last_release, waiter.slot, waiter.earliest)
            self._schedule(self._clock())
        return waited

    async def _slept(self, wait: float, woken: asyncio.Event) -> bool:
        """Sleep `wait` seconds; False if woken first, or at the sleep's very end (the queue
        changed: a 429 answered then moved the hold on, or a more refused request came)."""
        try:
            await until_stopped(self._sleep(wait), woken)
        except Stopped:
            return False
        return True

    def _start(self, now: float) -> float:
        """The moment the next request may go."""
        assert self.rate is not None
        return max(self.hold_until, self._last_release + 1 / self.rate, now)

    def _schedule(self, now: float) -> None:
        """Give every waiting request its moment, in order; wake the first if it is new or
        its moment moved (only the first is on a timer)."""
        if self.rate is None or not self._waiting:
            self._head = None
            return
        start = self._start(now)
        for place, waiter in enumerate(sorted(self._waiting, key=lambda w: w.rank)):
            slot = start + place / self.rate
            if place == 0 and (waiter is not self._head or slot != waiter.slot):
                if self._head is not None and self._head is not waiter:
                    self._head.wake.set()  # no longer first: off its timer
                self._head = waiter
                waiter.wake.set()
            waiter.slot = slot

    def _announce(self, now: float, wait: float) -> None:
        """Once a hold (a 429 that moves its end on by moments does not count): the
        refused request announced its own retry; the others held wait too."""
        if wait < NOTICE_AFTER or self.hold_until < self._announced + NOTICE_AFTER:
            return
        assert self.rate is not None
        self._announced = self.hold_until
        held = max(self.hold_until - now, 0.0)
        cause = reason(self.paused_by) if self.paused_by is not None else "429"
        self.notices.hold(
            held,
            f"holding requests for {duration(held)} (until {until(held)}), then sending "
            f"{pace(self.rate)}, more often as they succeed: the API asked to slow down "
            f"({cause})",
        )
