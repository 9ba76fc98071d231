"""The Seeding API's throttling as the default service limits page describes it: a speed
limit in batches (users) per second that seeding shares with the workspace's live Events API
traffic, and an acceleration limit on how fast that rate may grow. Both are measured on the
emulator's clock in sliding windows, so a test moves the clock instead of sleeping.

The model (written down in the emulator README):
- Usage `C` is the batches of the requests admitted in the last `window` seconds, `P` those
  of the `window` seconds before. Every request counts, seeding and simulated live traffic.
- Speed: a request of `n` batches is refused (`workspace`) when `C + n > limit × window`.
- Acceleration: refused (`acceleration`) when `(C + n − P) / window > acceleration`: the
  rate over the last window may exceed the rate over the window before by at most
  `acceleration` batches/s.
- `X-mp-rate-limit-percentage-used` is the larger of `C / (limit × window)` and
  `(C − P) / (acceleration × window)`, in percent, after the request.
- Live traffic: one batch per request, `share × limit` requests a second on average, at
  random (Poisson) times drawn from a fixed seed, flowing since long before the emulator
  started; a refused live request is dropped (and counted), not retried. Live traffic has
  bursts, so a seeder that fills the window to the brim costs it 429s.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field

SPEED = "workspace"
ACCELERATION = "acceleration"
#: The live traffic's arrival times are random, but the same in every run.
LIVE_SEED = 20231001


@dataclass(frozen=True)
class Verdict:
    """The answer for one request: admitted with the percentage used, or refused by a limit
    with the whole seconds to wait."""

    limit: str | None = None
    retry_after: int = 0
    percentage: int | None = None

    @property
    def admitted(self) -> bool:
        return self.limit is None


@dataclass
class LiveStats:
    """What happened to the simulated live traffic."""

    requests: int = 0
    rate_limited: int = 0
    acceleration_limited: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "acceleration_limited": self.acceleration_limited,
        }


@dataclass
class _Window:
    """Admitted requests as (time, batches), oldest first, with their sum."""

    events: deque[tuple[float, int]] = field(default_factory=deque)
    total: int = 0

    def add(self, when: float, batches: int) -> None:
        self.events.append((when, batches))
        self.total += batches

    def pop(self) -> tuple[float, int]:
        when, batches = self.events.popleft()
        self.total -= batches
        return when, batches


class SeedingLimits:
    """Speed and acceleration limits over sliding windows, with simulated live traffic.

    `limit` and `acceleration` in batches/s (0 turns a limit off); `live_share` in [0, 1);
    `window` in seconds; `start` is the clock's time when the limits begin.
    """

    def __init__(
        self,
        *,
        limit: float,
        acceleration: float,
        live_share: float,
        window: float,
        start: float,
    ) -> None:
        self.limit = limit
        self.acceleration = acceleration
        self.window = window
        self.live = LiveStats()
        self._current = _Window()
        self._previous = _Window()
        self._now = start
        self._live_rate = live_share * limit
        self._random = random.Random(LIVE_SEED)
        self._next_live = math.inf
        #: The time of the last admitted request that was not live traffic.
        self._last_other = -math.inf
        if self._live_rate > 0:
            self._steady_live(start)

    @property
    def active(self) -> bool:
        return self.limit > 0 or self.acceleration > 0

    def admit(self, now: float, batches: int) -> Verdict:
        """Judge a seeding request of `batches` batches at `now` (admitted ones count)."""
        now = self._advance(now)
        verdict = self._judge(batches)
        if verdict.admitted:
            self._current.add(now, batches)
            self._last_other = now
            return Verdict(percentage=self.percentage_used())
        return verdict

    def percentage_used(self) -> int:
        """The larger of the speed and acceleration consumption, in percent."""
        used = 0.0
        if self.limit > 0:
            used = self._current.total / (self.limit * self.window)
        if self.acceleration > 0:
            growth = self._current.total - self._previous.total
            used = max(used, growth / (self.acceleration * self.window))
        return max(0, round(used * 100))

    def catch_up(self, now: float) -> None:
        """Run the live traffic up to `now` (before reading its statistics)."""
        self._advance(now)

    def _judge(self, batches: int) -> Verdict:
        if self.limit > 0 and self._current.total + batches > self.limit * self.window:
            return Verdict(SPEED, self._speed_retry_after(batches))
        growth = self._current.total + batches - self._previous.total
        if self.acceleration > 0 and growth > self.acceleration * self.window:
            # The docs ask for a slower increase, not a pause: wait the least allowed.
            return Verdict(ACCELERATION, 1)
        return Verdict()

    def _speed_retry_after(self, batches: int) -> int:
        """Whole seconds until enough of the window expires for `batches` more batches."""
        budget = self.limit * self.window
        if batches > budget:
            return max(1, math.ceil(self.window))
        excess = self._current.total + batches - budget
        for when, counted in self._current.events:
            excess -= counted
            if excess <= 0:
                return max(1, math.ceil(when + self.window - self._now))
        return max(1, math.ceil(self.window))

    def _advance(self, now: float) -> float:
        """Move to `now` (never backwards): live requests due meanwhile are judged in order,
        and requests older than the windows leave them."""
        now = max(now, self._now)
        while self._next_live <= now:
            when = self._next_live
            if when > self._last_other + 4 * self.window:
                # Two windows after the last other request, the live requests in both
                # windows were judged against live traffic alone: steady, all pass.
                self._skip_live(now)
                break
            self._slide(when)
            verdict = self._judge(1)
            self.live.requests += 1
            if verdict.limit == SPEED:
                self.live.rate_limited += 1
            elif verdict.limit == ACCELERATION:
                self.live.acceleration_limited += 1
            else:
                self._current.add(when, 1)
            self._next_live = when + self._gap()
        self._slide(now)
        return now

    def _slide(self, now: float) -> None:
        self._now = max(self._now, now)
        while self._current.events and self._current.events[0][0] <= self._now - self.window:
            self._previous.add(*self._current.pop())
        while self._previous.events and self._previous.events[0][0] <= self._now - 2 * self.window:
            self._previous.pop()

    def _gap(self) -> float:
        return self._random.expovariate(self._live_rate)

    def _skip_live(self, now: float) -> None:
        """Count the live requests up to `now` as admitted without judging each one (the
        count is the expected one: nothing depends on its exactness)."""
        self.live.requests += max(1, round((now - self._next_live) * self._live_rate))
        self._steady_live(now)

    def _steady_live(self, last: float) -> None:
        """Both windows hold live requests of the two windows up to `last` alone."""
        self._current, self._previous = _Window(), _Window()
        times: list[float] = []
        when = last - self._gap()
        while when > last - 2 * self.window:
            times.append(when)
            when -= self._gap()
        for when in reversed(times):
            (self._current if when > last - self.window else self._previous).add(when, 1)
        self._now = max(self._now, last)
        self._next_live = last + self._gap()
