"""The pace after a 429 (`api.pacing`), on a fake clock: no test sleeps for real."""

from __future__ import annotations

import asyncio
import heapq
import math

import pytest

from reconciler.api.pacing import Pacer
from reconciler.api.retrying import Deadline
from reconciler.errors import DeadlineExceeded, RateLimited
from tests.support.faketime import FakeTime

SHOWN = "GET https://api.example/x"


def refusal(retry_after: float | None = 1.0) -> RateLimited:
    return RateLimited("rate limited", retry_after=retry_after, status=429)


def paced(time: FakeTime, deadline: float | None = None) -> Pacer:
    return Pacer(Deadline(deadline, clock=time.clock), time.sleep, time.clock)


async def test_nothing_waits_before_the_first_429() -> None:
    time = FakeTime()
    pacer = paced(time)
    assert not await pacer.turn(0, SHOWN)
    assert time.now == 0


async def test_after_a_429_requests_go_one_a_pause_then_faster_as_they_succeed() -> None:
    """The safe assumption first (one request a Retry-After), then one more a pause for
    each request that waited and succeeded: eight refused together are all out within
    about pause * (1 + ln 8) seconds, not spread over 2 * 7 pauses as before."""
    time = FakeTime()
    pacer = paced(time)
    pacer.refused(-0.1, refusal(1.0), 0.25)
    released: list[float] = []

    async def one() -> None:
        waited = await pacer.turn(1, SHOWN)
        sent = time.now
        released.append(sent)
        pacer.succeeded(sent, waited)

    work = [asyncio.ensure_future(one()) for _ in range(8)]
    await time.run(*work)
    expected = [1.0]
    for rate in range(2, 9):  # each success: one more a second
        expected.append(expected[-1] + 1 / rate)
    assert released == pytest.approx(expected)
    assert released[-1] < 1 + math.log(8) + 0.5 < 2 * 7


async def test_a_429_halves_the_rate_once_for_a_crowd_refused_together() -> None:
    time = FakeTime()
    pacer = paced(time)
    pacer.refused(0.0, refusal(1.0), 0.25)  # the first: one a pause
    assert pacer.rate == 1.0
    for _ in range(7):
        pacer.succeeded(time.now + 0.5, waited=True)
    assert pacer.rate == 8.0
    pacer.succeeded(time.now + 0.5, waited=False)  # not held back: no evidence of room
    assert pacer.rate == 8.0
    time.now = 2.0
    pacer.refused(1.5, refusal(1.0), 0.25)  # sent at the pace: halves it
    assert pacer.rate == 4.0
    pacer.refused(1.9, refusal(1.0), 0.25)  # sent before that cut: the same crowd
    assert pacer.rate == 4.0
    pacer.succeeded(1.9, waited=True)  # nor does a success sent before the cut count
    assert pacer.rate == 4.0
    for now in (3.0, 4.0, 5.0):
        time.now = now
        pacer.refused(now - 0.01, refusal(1.0), 0.25)
    assert pacer.rate == 1.0  # never below one a pause
    assert pacer.hold_until == 6.0


async def test_the_most_refused_go_first_then_the_oldest() -> None:
    time = FakeTime()
    pacer = paced(time)
    pacer.refused(0.0, refusal(1.0), 0.25)
    order: list[str] = []

    async def one(name: str, refusals: int) -> None:
        await pacer.turn(refusals, SHOWN)
        order.append(name)

    work = []
    for name, refusals in (("new", 0), ("once", 1), ("twice", 2), ("newer", 0), ("also", 1)):
        work.append(asyncio.ensure_future(one(name, refusals)))
        await asyncio.sleep(0)
    await time.run(*work)
    assert order == ["twice", "once", "also", "new", "newer"]


async def test_a_refused_request_waits_its_own_retry_after_at_least() -> None:
    time = FakeTime()
    pacer = paced(time)
    pacer.refused(0.0, refusal(1.0), 0.25)
    pacer.rate = 100.0
    time.now = 0.5
    waiting = asyncio.ensure_future(pacer.turn(1, SHOWN, least=3.0))
    await time.run(waiting)
    assert time.now == 3.5
    assert pacer.estimate(1, least=2.0) == 2.0


async def test_a_429_at_the_moment_a_hold_ends_holds_the_first_in_line_too() -> None:
    """The first in line sleeps until the hold ends; a 429 answered at that very moment
    (its timer and the answer in the same turn of the loop) moves the hold on. It waits
    the new hold: before, its sleep having ended, it went at once, into the new hold."""
    time = FakeTime()
    pacer = paced(time)
    pacer.refused(0.0, refusal(1.0), 0.25)
    going = asyncio.ensure_future(pacer.turn(1, SHOWN))
    for _ in range(5):
        await asyncio.sleep(0)
    due, _, sleep_ends = heapq.heappop(time._timers)
    assert due == 1.0
    time.now = due
    sleep_ends.set_result(None)
    pacer.refused(0.5, refusal(1.0), 0.25)  # another request's 429, the same moment
    await time.run(going)
    assert time.now == 2.0 == pacer.hold_until


async def test_the_first_in_line_cancelled_hands_its_turn_to_the_next() -> None:
    """A request cancelled while it is first in line (asleep on its timer) leaves the
    queue, and the next one takes its moment: none is left waiting with no timer."""
    time = FakeTime()
    pacer = paced(time)
    pacer.refused(0.0, refusal(1.0), 0.25)
    first = asyncio.ensure_future(pacer.turn(2, SHOWN))
    others = [asyncio.ensure_future(pacer.turn(1, SHOWN)) for _ in range(2)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert pacer._head is not None
    assert pacer._head.refusals == 2
    first.cancel()
    await time.run(*others)
    assert first.cancelled()
    assert time.now == 2.0  # the hold, then one a second: the first's moment, then the next
    assert not pacer._waiting
    assert pacer._head is None


async def test_a_turn_beyond_the_deadline_fails_at_once_naming_the_retry_after() -> None:
    time = FakeTime()
    pacer = paced(time, deadline=10.0)
    pacer.refused(0.0, refusal(30.0), 0.25)
    with pytest.raises(DeadlineExceeded, match=r"asked to wait 30 s \(Retry-After\)"):
        await pacer.turn(0, SHOWN)
    assert time.now == 0
    assert pacer.estimate(0) == 30.0  # what the refused request itself is told


async def test_a_turn_beyond_the_deadline_quotes_the_429_as_the_one_that_holds_requests() -> None:
    """A create that had never been refused, held in line near the deadline, failed with
    "The last answer: rate limited (POST .../57/activation -> 429)": another request's
    429, given as this request's own answer."""
    time = FakeTime()
    pacer = paced(time, deadline=10.0)
    other = RateLimited(
        "rate limited", status=429, method="POST", path=".../57/activation", retry_after=30.0
    )
    pacer.refused(0.0, other, 0.25)
    with pytest.raises(DeadlineExceeded) as caught:
        await pacer.turn(0, SHOWN)
    said = caught.value.message
    assert "its turn after a 429 is due in 30 s: the server asked to wait 30 s" in said, said
    assert "The last answer" not in said, said
    assert said.endswith(
        "The 429 that holds requests: rate limited (POST .../57/activation -> 429)"
    ), said


class TokenBucket:
    """A server that takes `rate` requests a second, in bursts of up to a second's worth,
    and answers the rest 429 with the whole seconds until there is room (the emulator)."""

    def __init__(self, time: FakeTime, rate: float) -> None:
        self.time = time
        self.rate = rate
        self.tokens = max(1.0, rate)
        self.last = 0.0
        self.refused = 0

    def take(self) -> RateLimited | None:
        now = self.time.now
        self.tokens = min(max(1.0, self.rate), self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        self.refused += 1
        return refusal(max(1, math.ceil((1 - self.tokens) / self.rate)))


async def drive(rate: float, workers: int, requests: int, latency: float) -> tuple[float, int]:
    """`workers` each sending their share of `requests` through a pacer to a server that
    takes `rate` a second, each answer `latency` seconds after it is sent. The time it
    took and the most 429s any one request met."""
    time = FakeTime()
    pacer = paced(time)
    server = TokenBucket(time, rate)
    most = 0
    left = list(range(requests))

    async def worker() -> None:
        nonlocal most
        while left:
            left.pop()
            refusals = 0
            while True:
                waited = await pacer.turn(refusals, SHOWN)
                sent = time.now
                answer = server.take()
                await time.sleep(latency)
                if answer is None:
                    pacer.succeeded(sent, waited)
                    break
                refusals += 1
                most = max(most, refusals)
                pacer.refused(sent, answer, 0.25)

    await time.run(*(asyncio.ensure_future(worker()) for _ in range(workers)))
    return time.now, most


async def test_one_request_a_second_at_eight_workers_costs_each_request_few_attempts() -> None:
    """The guarantee of tests/resilience/test_rate_limit.py, here on a fake clock and with
    answers slow and fast: after each cut only the most refused request goes, when the
    server has room again, so no request meets more than a few 429s."""
    for latency in (0.001, 0.05, 0.3, 0.9):
        took, most = await drive(rate=1, workers=8, requests=14, latency=latency)
        assert most <= 3, (latency, most)
        assert took < 14 * 2.5, (latency, took)


async def test_raising_the_workers_does_not_slow_a_rate_limited_run() -> None:
    """About 1,000 requests to a server that takes 50 a second (the benchmark's case):
    64 workers take no longer than 8 (before: 113 s against 33 s)."""
    eight, most_eight = await drive(rate=50, workers=8, requests=1000, latency=0.005)
    sixty_four, most_64 = await drive(rate=50, workers=64, requests=1000, latency=0.005)
    assert eight < 26, eight
    assert sixty_four < 26, sixty_four
    assert sixty_four <= eight * 1.1
    assert max(most_eight, most_64) <= 3


def test_the_first_429_is_the_holds_cause_even_when_it_moves_no_end() -> None:
    """A `Retry-After: 0` at the clock's first moment moved no end, so the hold kept no
    cause: a turn beyond the deadline then went unchecked (it needs the 429 to name)."""
    time = FakeTime()  # at 0
    pacer = paced(time, deadline=10)
    first = refusal(0.0)
    pacer.refused(0.0, first, 0.0)
    assert pacer.paused_by is first
