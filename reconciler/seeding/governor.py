"""Seeding, step 5a: the send rate, in users per second (mParticle counts each user of a bulk
request as one Events API batch), governed so that seeding never crowds out the workspace's
live traffic, which shares the same budget (default 270 batches/s).

`Governor` is a pure controller on an injected clock: it schedules sends (`reserve`) and
adapts the rate to what the Seeding API says. No library fitted (aiolimiter cannot change
its rate or run on another clock; the AIMD packages on PyPI are young and adapt concurrency,
not a rate, to latency): the control law is small and tested on a fake clock.

- Slow start: the rate begins at a tenth of the configured one (`--rate`, `seed_rate`), 10
  users/s at most (a jump from nothing is an acceleration too), and climbs by 2% of it
  (of mParticle's default 270/s at most) a second: a `--rate` far above the limit no
  longer climbs, and falls, by 100 users/s a second. It climbs along the slots' own
  times, not the clock's: the workers take their slots ahead, and slots taken by the
  clock went out in a leap once those before them ended (`_adjust`).
- `X-mp-rate-limit-percentage-used` (the highest consumption of the speed and acceleration
  limits, live traffic included) is smoothed, and corrected for its lag: the server
  measures over a window (assumed at most 10 s), so right after a climb it still shows the
  lower rate. Within `band` points under the ceiling the climb slows, to nothing at the
  ceiling; once the server reports a usage over it the rate falls, up to twice as fast
  (the prediction alone only stops the climb: it overshoots while live traffic makes
  most of the usage, and a fall on its word was a see-saw).
- A speed 429 (`X-mp-rate-limit-exceeded` other than `acceleration`) halves the rate, pauses
  sending for its Retry-After, and holds the rate there for an interval more
  (multiplicative decrease). An acceleration 429 ("slow the increase", the docs ask) says
  our sends' growth from one window to the next was about the limit: from then on the
  rate keeps it to `growth` (70%) of the median of those readings (one a window, never
  raised), cut if need be (`_learn_growth`). One
  that finds no growth of ours halves the climb instead (AIMD on the climb); each `quiet` period
  (20 s) with no acceleration 429 undoes one halving, as TCP reopens its window after a
  loss.
- Without the header (a server that sends none) the rate climbs to the configured one.

A request larger than half the growth allowed is sent in halves (`largest_request`, which
the sender asks before each request): a request is a step of the windows the acceleration
limit compares, and no pacing smooths a step that large.

For a caller that seeds programmatically (`apply --seeds` builds on it): make one
`Governor(RatePolicy(rate=..., ceiling=...))` per run, `await asyncio.sleep(governor
.reserve(users))` before each request, and feed every answer to `observe_response`
(`attach` does it for an httpx client). `rate` (that of the last slot taken), `rate_now`
(that of the request going now), `peak_rate` and `changes` (the 429s it answered) say what
it did.
"""

from __future__ import annotations

import math
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from reconciler.api.answers import retry_after_text

#: Far below mParticle's default 270 batches/s, which the workspace's live traffic shares.
DEFAULT_RATE = 100.0
DEFAULT_CEILING = 80.0
#: mParticle's default limit, batches (users) per second: the climb is sized for it.
DEFAULT_LIMIT = 270.0
PERCENTAGE_USED = "x-mp-rate-limit-percentage-used"
LIMIT_EXCEEDED = "x-mp-rate-limit-exceeded"
ACCELERATION = "acceleration"
#: Around the limit's name: the docs print it quoted (`"LIMIT"`, `“acceleration”`).
_QUOTES = "\"'\u201c\u201d "


def _limit_name(raw: str | None) -> str | None:
    """Which limit a 429 names, read as the docs print it too: quoted, in any case."""
    return None if raw is None else raw.strip(_QUOTES).lower()


#: Each answer moves the smoothed usage this share of the way to what it says.
SMOOTHING = 0.3


@dataclass(frozen=True)
class RatePolicy:
    """How fast seeding may go: at most `rate` users/s, keeping the workspace's usage under
    `ceiling` percent."""

    rate: float = DEFAULT_RATE
    ceiling: float = DEFAULT_CEILING
    #: The rate at the start, as a share of `rate`, and at most `first` users/s: going from
    #: nothing to a rate is itself an acceleration.
    start: float = 0.1
    first: float = 10.0
    #: The climb: a share of `rate` (of the default limit at most) added each second while
    #: the usage is well under the ceiling (the acceleration limit caps how fast the rate
    #: may grow).
    ramp: float = 0.02
    #: Seconds without an acceleration 429 after which one halving of the climb is undone.
    quiet: float = 20.0
    #: Within this many points under the ceiling the climb slows down, to nothing at it.
    band: float = 15.0
    #: Over the ceiling the rate falls up to this many times faster than it climbs.
    cut: float = 2.0
    #: Seconds between two adjustments of the rate.
    interval: float = 1.0
    #: The longest window the server may measure its usage over, in seconds.
    window: float = 10.0
    #: After an acceleration 429, our sends may grow from one window to the next by this
    #: share of the growth they had when it came (about the limit: live traffic's own
    #: growth is noise around none, and that noise needs the rest).
    growth: float = 0.7
    #: Once an acceleration 429 taught the growth allowed, a request carries at most this
    #: share of it (`Governor.largest_request`): one of 100 users under a limit of 20
    #: batches/s a window was half the growth allowed, a step no pacing could smooth.
    split: float = 0.5

    @property
    def floor(self) -> float:
        """The rate never falls below this: a hundredth of the configured one."""
        return max(self.rate / 100, 0.1)


@dataclass(frozen=True)
class Change:
    """A 429 the governor answered: when (its clock), the rate after it, and what it did."""

    at: float
    rate: float
    reason: str


@dataclass
class Governor:
    """Paces seeding requests at a rate in users/s and adapts it to the server's answers."""

    policy: RatePolicy = field(default_factory=RatePolicy)
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        policy = self.policy
        self.rate = max(policy.floor, min(policy.rate * policy.start, policy.first))
        self.peak_rate = self.rate
        self.changes: list[Change] = []
        self.speed_limited = 0
        self.acceleration_limited = 0
        self._ramp = 1.0
        #: When the climb was last halved, or last recovered a halving.
        self._ramp_since = self.clock()
        self._next_free = self.clock()
        #: When the first slot began (its clock), once a request took one.
        self.first_slot: float | None = None
        self._adjusted = self._next_free
        self._hold_until = self._next_free
        #: The usage the server reports, smoothed over the last few answers.
        self._used: float | None = None
        #: A lower bound of the server's limit in users/s, learnt from the answers.
        self._limit = 0.0
        #: Our sends (the slots taken) of the last windows, and how many users each
        #: carried: the usage's lag and the acceleration limit are read from them.
        self._history: deque[tuple[float, int]] = deque()
        #: How many users more our sends of a window may carry than those of the window
        #: before: unbounded until an acceleration 429 tells (`_learn_growth`).
        self._growth_budget = math.inf
        #: Our sends' growth at each acceleration 429 that taught the budget (one a
        #: window), and when the last one came.
        self._readings: list[int] = []
        self._last_reading = -math.inf
        #: The slots taken and not over yet: when each ends (its clock), and its rate.
        self._slots: deque[tuple[float, float]] = deque()

    def reserve(self, users: int) -> float:
        """Take the next slot for a request of `users` users: the seconds to wait before
        sending it (0 when it may go now)."""
        now = self.clock()
        start = max(now, self._next_free)
        self._adjust(now, start)
        if self.first_slot is None:
            self.first_slot = start
        self._next_free = start + users / self.rate
        self._forget(now)
        self._history.append((start, users))
        self._slots.append((self._next_free, self.rate))
        return start - now

    @property
    def rate_now(self) -> float:
        """The rate of the slot going now (or, in a pause, of the next to go): `rate` is
        that of the last slot taken, which may be several slots ahead and has climbed
        since. With no slot ahead, `rate`."""
        now = self.clock()
        return next((rate for end, rate in self._slots if end > now), self.rate)

    def largest_request(self) -> int | None:
        """The most users one request should carry: `split` of the growth allowed, once an
        acceleration 429 taught it (None before: any size the batches have).

        Each request is a step of the windows the acceleration limit compares: it enters
        one at once, and leaves it for the window before at once. With batches of 100
        under a limit of 20 batches/s (200 users a window, 140 allowed) one request was
        half the growth allowed, and live traffic met 962 429s in 20,000 users (the mean of
        20 draws in `simulate_workers`; 305 with the requests halved to 50). Against the
        emulator server the command met 806 instead of 1,473 (three draws, 8,000 users),
        seeding 17% slower."""
        if not math.isfinite(self._growth_budget):
            return None
        return max(1, int(self.policy.split * self._growth_budget))

    @property
    def slots_end(self) -> float:
        """When the last slot taken ends (its clock): a request of n users at rate r
        holds n/r seconds of the schedule, even the first one, which goes at once."""
        return self._next_free

    def observe(self, used: float | None) -> None:
        """A 2xx answer and its `X-mp-rate-limit-percentage-used` (None: not sent)."""
        if used is not None:
            before = self._used
            self._used = used if before is None else before + SMOOTHING * (used - before)

    def throttled(self, limit: str | None, retry_after: float | None) -> None:
        """A 429, with its `X-mp-rate-limit-exceeded` and `Retry-After`."""
        now = self.clock()
        pause = retry_after if retry_after is not None else self.policy.interval
        if limit == ACCELERATION:
            self.acceleration_limited += 1
            self._learn_growth(now)
            if math.isfinite(self._growth_budget):
                # Cut now, not at the next adjustment: the line saying this 429 gives
                # the rate it leaves, and the next slot is already within the budget.
                self._set(now, min(self.rate, self._growth_cap(max(now, self._next_free))))
            else:
                # No growth of ours to learn from (none sent, or fewer than the window
                # before): a slower climb, as before.
                self._ramp /= 2
            self._ramp_since = now
            self._hold_until = max(self._hold_until, now + self.policy.interval)
            self.changes.append(Change(now, self.rate, "acceleration limit: a slower climb"))
            return
        self.speed_limited += 1
        if now >= self._hold_until:
            # Once per hold: the other requests in flight met the same full window.
            before = self.rate
            self._set(now, before / 2)
            named = f"the {limit} limit" if limit else "a rate limit"
            # At the floor the rate cannot halve: "rate halved" with the same rate misled.
            did = "rate halved" if self.rate < before else "rate kept at its floor (--rate/100)"
            self.changes.append(Change(now, self.rate, f"{named}: {did}"))
        self._hold_until = max(self._hold_until, now + pause + self.policy.interval)
        self._next_free = max(self._next_free, now + pause)

    def observe_response(self, response: httpx.Response) -> None:
        """Feed one answer of the Seeding API to the governor."""
        if response.status_code == 429:
            self.throttled(_limit_name(response.headers.get(LIMIT_EXCEEDED)), _seconds(response))
        elif response.is_success:
            self.observe(_number(response.headers.get(PERCENTAGE_USED)))

    def attach(self, client: httpx.AsyncClient) -> None:
        """Observe every answer `client` receives (an httpx response hook)."""

        async def hook(response: httpx.Response) -> None:
            self.observe_response(response)

        client.event_hooks["response"].append(hook)

    def _adjust(self, now: float, at: float) -> None:
        """The rate of a slot that starts at `at`, taken `now`: it climbs (or falls) by the
        seconds since the last slot it was adjusted for, on the slots' own times.

        The workers take their slots ahead: at the start, eight at once at 10 users/s
        (20 s of slots at 25 users each). Climbing by the clock, every slot taken during
        those 20 s was spaced at the rate climbed meanwhile and went out after them, all
        at once: the sends leapt from 10 to about 70 users/s, past an acceleration limit
        (our windows grew by 1,425 users where the climb alone grows them by 540). On the
        slots' times the sends climb as the rate does. What the server says (the usage,
        the 429s' holds) is still read on the clock: it is about the sends so far."""
        policy = self.policy
        elapsed = at - self._adjusted
        if elapsed < policy.interval:
            return
        self._adjusted = at
        room = self._room(now)
        if room > 0 and now < self._hold_until:
            return
        self._recover(now)
        step = min(policy.rate, DEFAULT_LIMIT) * policy.ramp * min(elapsed, 5 * policy.interval)
        if room > 0:
            step *= self._ramp
        self._set(now, min(self.rate + step * room, self._growth_cap(at)))

    def _room(self, now: float) -> float:
        """How far the rate may climb (1: all of a step), or fall (negative) this interval.

        The predicted usage may slow or stop the climb; only the usage the server reports
        makes the rate fall. The prediction's bound of the limit is low while our share of
        the usage is small (live traffic counts too), so it overshoots: a fall on its word
        alone was a see-saw, down to a fraction and back."""
        policy = self.policy
        predicted = self._predicted(now)
        if predicted is None or self._used is None:
            return 1.0
        room = min(1.0, (policy.ceiling - predicted) / policy.band)
        if self._used <= policy.ceiling:
            return max(0.0, room)
        return max(-policy.cut, (policy.ceiling - self._used) / policy.band)

    def _recover(self, now: float) -> None:
        """Undo one halving of the climb per quiet period without an acceleration 429."""
        while self._ramp < 1 and now - self._ramp_since >= self.policy.quiet:
            self._ramp = min(1.0, self._ramp * 2)
            self._ramp_since += self.policy.quiet

    def _predicted(self, now: float) -> float | None:
        """The usage the server will report once its window holds the current rate.

        The server measures over a window (assumed at most `policy.window` seconds), so its
        figure lags a rate that just grew. Our part of it is at most all of it, which bounds
        the limit from below (`_limit`) and the usage still to come from above.

        Our part is that of the requests sent: the slots taken ahead, counted too, made it
        seem larger and the limit higher than they were, so the usage to come was
        guessed low, and the rate climbed past the ceiling into speed 429s.
        """
        used = self._used
        if used is None:
            return None
        window = self.policy.window
        recent = self._users_sent(now - window, now) / window
        if used > 0 and recent > 0:
            self._limit = max(self._limit, 100 * recent / used)
        if self._limit <= 0:
            return used
        return used + max(0.0, self.rate - recent) * 100 / self._limit

    def _learn_growth(self, now: float) -> None:
        """An acceleration 429: our sends' growth from the window before to this one, less
        the request refused, was about the limit (less what live traffic grew meanwhile).
        Keep ours to `growth` of the readings' median from now on (`_growth_cap`), instead
        of halving the climb: halved again and again, it left the windows at the limit
        while the rate stood still, and live traffic met the 429s.

        One reading is one draw of live traffic's noise (its growth from one window to the
        next is about 40 users either way at 30% of 270/s): learnt from the first 429
        alone, the budget stood 25% above the limit on one run in several, and that run
        cost live traffic hundreds of 429s. The median of the readings, one a window (the
        429s of the same window met the same burst), lowers the budget as 429s keep coming
        and is moved by no single reading. It is never raised: a later 429 comes at
        whatever growth our sends had then (a lump of requests sent again, a burst), and a
        budget raised on it crept up with the rate (332 live 429s in 20,000 users against
        the emulator, 24 with the first standing)."""
        window = self.policy.window
        if now - self._last_reading < window:
            return
        grown = self._users_sent(now - window, now) - self._users_sent(
            now - 2 * window, now - window
        )
        # The request refused is not in the windows the limit compared, though its slot
        # counts as sent: the last slot begun stands for it (requests are of one size).
        grown -= next((users for sent, users in reversed(self._history) if sent <= now), 0)
        if grown > 0:
            self._last_reading = now
            self._readings.append(grown)
            learnt = self.policy.growth * statistics.median(self._readings)
            self._growth_budget = min(self._growth_budget, learnt)

    def _users_sent(self, after: float, until: float) -> int:
        """Users of our sends (the slots taken) after `after`, up to `until`."""
        return sum(users for sent, users in self._history if after < sent <= until)

    def _growth_cap(self, at: float) -> float:
        """The highest rate for a slot at `at` that keeps our sends' growth within the
        budget: the rate of our sends over the window before the one that ends there,
        plus the budget spread over a window. Right after the 429 it is below the rate
        (the windows are at the limit): the cut brings the growth down at once, where a
        climb stopped there still leaves it high for a window."""
        window = self.policy.window
        return (self._users_sent(at - 2 * window, at - window) + self._growth_budget) / window

    def _forget(self, now: float) -> None:
        """Drop the sends older than the two windows an acceleration 429 compares (and a
        third, for the slots taken ahead), and the slots over."""
        window = self.policy.window
        while self._history and self._history[0][0] <= now - 3 * window:
            self._history.popleft()
        while self._slots and self._slots[0][0] <= now:
            self._slots.popleft()

    def _set(self, now: float, rate: float) -> None:
        self.rate = min(self.policy.rate, max(self.policy.floor, rate))
        self.peak_rate = max(self.peak_rate, self.rate)


def _number(text: str | None) -> float | None:
    """A header's number; None when absent, not a number, or not finite (`NaN` would stay
    in the smoothed usage for good, and the rate would climb as if no header came)."""
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is None or math.isfinite(value) else None


def _seconds(response: httpx.Response) -> float | None:
    """`Retry-After` in whole seconds (the docs' form); None when absent or not a number."""
    value = _number(retry_after_text(response))
    return None if value is None or value < 0 else value
