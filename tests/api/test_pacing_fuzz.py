"""The pace after a 429 under random load (`api.pacing`, `api.http`), on a fake clock: many
requests at once against a server whose limit changes as it runs and whose Retry-After is
missing, zero, fractional or long, some requests cancelled, the run stopped at a random
moment, a command deadline. Whatever happens, no request hangs or is lost: each succeeds,
or fails after its attempts, past the deadline or stopped; nothing is sent after the stop
but what was already on its way; the queue is empty at the end; the most refused and then
the oldest go first, never during a hold, never after the deadline."""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from unittest import mock

import httpx
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from reconciler.api import http as http_module
from reconciler.api.http import Http, RetryPolicy, Stopped, error_for, until_stopped
from reconciler.api.pacing import Pacer, _Waiter
from reconciler.api.retrying import Deadline
from reconciler.errors import DeadlineExceeded, RateLimited
from tests.support.faketime import FakeTime

SHOWN = "GET https://api.example/x"
#: When a run starts on the fake clock (time.monotonic is never near 0 either), and the
#: fake seconds no run may outlast (the longest Retry-After drawn is 5 s).
START = 1_000.0
LONGEST_RUN = 2_000.0


@dataclass
class Server:
    """A token bucket whose rate changes at the moments `phases` says, answering what it
    cannot take 429 with a Retry-After header drawn from `pauses` in turn (None: none)."""

    time: FakeTime
    phases: list[tuple[float, float]]  # (from this moment, requests a second)
    pauses: list[str | None]
    tokens: float = 1.0
    last: float = START
    sent: list[float] = field(default_factory=list)
    _next_pause: itertools.count[int] = field(default_factory=itertools.count)

    def rate(self) -> float:
        return [rate for start, rate in self.phases if START + start <= self.time.now][-1]

    def take(self) -> httpx.Response:
        """200 when taken, else 429."""
        now, rate = self.time.now, self.rate()
        self.sent.append(now)
        self.tokens = min(max(1.0, rate), self.tokens + (now - self.last) * rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return httpx.Response(200)
        pause = self.pauses[next(self._next_pause) % len(self.pauses)]
        return httpx.Response(429, headers={} if pause is None else {"retry-after": pause})


#: Retry-After headers: none, zero, fractional, long, and what a server should not send.
retry_afters = st.one_of(
    st.none(),
    st.just("0"),
    st.sampled_from(["0.001", "0.25", "0.5", "1", "1.7", "2", "5"]),
    st.floats(0.0, 5.0, allow_nan=False).map(repr),
    st.sampled_from(["-1", "nan", "soon", "Wed, 21 Oct 2015 07:28:00 GMT"]),
    st.sampled_from(["inf", "1e400", "86400"]),
)
#: Those of a server refusing a crowd: none, or a few seconds at most.
short_retry_afters = st.sampled_from([None, "0", "0.25", "0.5", "1", "2"])


@st.composite
def scattered(draw: st.DrawFn) -> dict[str, Any]:
    """A run: the server's phases and pauses, when each request comes, which are cancelled
    and when, when the run is stopped, the deadline, the attempts and the answers' delay."""
    requests = draw(st.integers(1, 24))
    moments = st.sampled_from([0.0, 0.0, 0.0, 0.1, 0.5, 1.0, 2.5, 7.0])
    phases = [(0.0, draw(st.sampled_from([0.5, 1.0, 3.0, 50.0])))]
    for _ in range(draw(st.integers(0, 3))):
        phases.append(
            (draw(st.floats(0.1, 20.0)), draw(st.sampled_from([0.2, 1.0, 2.0, 10.0, 1000.0])))
        )
    return {
        "phases": sorted(phases),
        "pauses": draw(st.lists(retry_afters, min_size=1, max_size=6)),
        "starts": [draw(moments) for _ in range(requests)],
        "cancels": _cancels(draw, requests),
        "stop": draw(st.none() | st.floats(0.0, 20.0)),
        "deadline": draw(st.none() | st.sampled_from([0.5, 3.0, 10.0, 30.0])),
        "attempts": draw(st.integers(1, 6)),
        "latency": draw(st.sampled_from([0.0, 0.0, 0.001, 0.05, 0.3, 1.0])),
    }


@st.composite
def crowds(draw: st.DrawFn) -> dict[str, Any]:
    """A crowd: many requests at one or two moments against a slow server with short
    pauses, most of them refused and retried, and a deadline that cuts the queue they
    form; something after the deadline (the stop, a cancellation) still on the clock."""
    requests = draw(st.integers(16, 40))
    moments = draw(st.lists(st.sampled_from([0.0, 0.0, 0.01, 0.1, 0.5]), min_size=1, max_size=2))
    deadline = draw(st.sampled_from([0.5, 1.0, 2.0, 3.0, 5.0, 10.0]))
    return {
        "phases": [(0.0, draw(st.sampled_from([0.2, 0.5, 1.0, 3.0])))],
        "pauses": draw(st.lists(short_retry_afters, min_size=1, max_size=3)),
        "starts": [draw(st.sampled_from(moments)) for _ in range(requests)],
        "cancels": _cancels(draw, requests),
        "stop": draw(st.none() | st.floats(0.0, 20.0) | st.floats(deadline, deadline + 2.0)),
        "deadline": deadline,
        "attempts": draw(st.integers(2, 6)),
        "latency": draw(st.sampled_from([0.0, 0.0, 0.001, 0.05])),
    }


def _cancels(draw: st.DrawFn, requests: int) -> list[tuple[int, float]]:
    """Up to four requests cancelled, each at a moment of the first 15 s."""
    cancels = st.tuples(st.integers(0, requests - 1), st.floats(0.0, 15.0))
    return draw(st.lists(cancels, max_size=4))


#: Most runs are scattered; a third are crowds, which the scattered draw all but never
#: makes (a queue of 20 once in 400 runs). On the fake clock of before the chain below was
#: fixed, 37 seeds in 40 find it at these tests' example counts; scattered runs only, none.
loads = st.one_of(scattered(), scattered(), crowds())


class Run:
    """One run of `load`: the requests, the stop and the cancellations at their moments,
    and the checks every run must pass at its end. `request` is the subclass's."""

    def __init__(self, load: dict[str, Any]) -> None:
        self.load = load
        self.time = FakeTime(START, LONGEST_RUN)
        self.server = Server(self.time, load["phases"], load["pauses"])
        self.deadline = Deadline(load["deadline"], clock=self.time.clock)
        self.pacer = Pacer(self.deadline, self.time.sleep, self.time.clock)
        self.stopped_at = math.inf
        self.cancelled: set[int] = set()
        self.finished: dict[int, float] = {}
        self.work: list[asyncio.Task[str]] = []
        self.longest_queue = 0  # the most requests seen waiting for their turn at once

    async def request(self, number: int) -> str:
        raise NotImplementedError

    def send(self) -> httpx.Response:
        """The server's answer to a request sent now; the queue behind it is noted."""
        self.longest_queue = max(self.longest_queue, len(self.pacer._waiting))
        return self.server.take()

    def stop(self) -> None:
        self.stopped_at = self.time.now

    async def outcome(self, number: int) -> str:
        try:
            await self.time.sleep(self.load["starts"][number])
            return await self.request(number)
        except DeadlineExceeded:
            return "deadline"
        except Stopped:
            assert self.time.now >= self.stopped_at, "Stopped before the stop"
            return "stopped"
        except asyncio.CancelledError:
            assert number in self.cancelled, f"request {number} cancelled by nobody"
            return "cancelled"
        finally:
            self.finished[number] = self.time.now

    def cancel(self, number: int) -> None:
        if not self.work[number].done():
            self.cancelled.add(number)
            self.work[number].cancel()

    async def at(self, moment: float, act: Callable[[], object]) -> None:
        await self.time.sleep(START + moment - self.time.now)
        act()

    async def run(self) -> list[str]:
        """Every request's outcome, once all have one; bounded by real time too: a safety
        net for a hang the fake clock does not see."""
        self.work = [
            asyncio.ensure_future(self.outcome(n)) for n in range(len(self.load["starts"]))
        ]
        actions = [
            asyncio.ensure_future(self.at(moment, functools.partial(self.cancel, number)))
            for number, moment in self.load["cancels"]
        ]
        if self.load["stop"] is not None:
            actions.append(asyncio.ensure_future(self.at(self.load["stop"], self.stop)))
        try:
            await asyncio.wait_for(self.time.run(self.work), 30)
        finally:
            for action in actions:
                action.cancel()
            await asyncio.gather(*actions, return_exceptions=True)
        outcomes = [task.result() for task in self.work]
        self.check()
        return outcomes

    def check(self) -> None:
        """Nothing left waiting; nothing sent after the deadline; no request outlived it
        but by the answer it was waiting for."""
        assert not self.pacer._waiting, "a request left in the queue"
        assert self.pacer._head is None, "a head left behind"
        if self.deadline.seconds is None:
            return
        end = START + self.deadline.seconds
        assert all(moment < end for moment in self.server.sent), "sent after the deadline"
        for number, moment in self.finished.items():  # a request made later fails at once
            came = START + self.load["starts"][number]
            assert moment <= max(end, came) + self.load["latency"], "it outlived the deadline"


class PacerRun(Run):
    """The requests go through the pacer as `Http.request` sends them, and each turn is
    checked the moment it comes."""

    def __init__(self, load: dict[str, Any]) -> None:
        super().__init__(load)
        self.stopping = asyncio.Event()

    def stop(self) -> None:
        super().stop()
        self.stopping.set()

    def released(self, refusals: int, before: set[_Waiter], asked: float, waited: bool) -> None:
        """The checks at the moment a request's turn comes, before anything else runs:
        not during a hold nor before its own Retry-After, the most refused and then the
        oldest first, within the deadline."""
        now, pacer = self.time.now, self.pacer
        assert now >= pacer.hold_until, ("released during a hold", now, pacer.hold_until)
        assert now >= asked - 1e-9, ("released before its own Retry-After", now)
        for other in pacer._waiting:
            assert other.refusals <= refusals, ("a more refused request is still waiting", now)
            assert not (other in before and other.refusals == refusals), "an older one waits"
        if waited and self.deadline.seconds is not None:  # else `Http._attempt_timeout`'s
            assert now < self.deadline.started + self.deadline.seconds, ("past the deadline", now)

    async def checked_turn(self, refusals: int, least: float) -> bool:
        before = set(self.pacer._waiting)
        asked = self.time.now + least if self.pacer.rate is not None else 0.0
        waited = await self.pacer.turn(refusals, SHOWN, least)
        self.released(refusals, before, asked, waited)
        return waited

    async def request(self, number: int) -> str:
        least = 0.0
        for refusals in range(self.load["attempts"]):
            waited = await until_stopped(self.checked_turn(refusals, least), self.stopping)
            remaining = self.deadline.remaining()
            if remaining is not None and remaining <= 0:
                return "deadline"
            sent = self.time.now
            answer = self.send()
            await self.time.sleep(self.load["latency"])
            if answer.is_success:
                self.pacer.succeeded(sent, waited)
                return "succeeded"
            refusal = error_for(answer, "GET", SHOWN)
            assert isinstance(refusal, RateLimited)
            self.pacer.refused(sent, refusal, 0.25)
            least = refusal.retry_after or 0.0
            if not self.deadline.allows(self.pacer.estimate(refusals + 1, least)):
                return "deadline"
        return "refused"

    def check(self) -> None:
        super().check()
        assert all(moment <= self.stopped_at for moment in self.server.sent), "sent after stop"


class HttpRun(Run):
    """The requests go through a whole Http, to the server over httpx.MockTransport."""

    def __init__(self, load: dict[str, Any]) -> None:
        super().__init__(load)
        self.client = httpx.AsyncClient(transport=httpx.MockTransport(self.answer))
        policy = RetryPolicy(attempts=load["attempts"], deadline=load["deadline"])
        self.http = Http(self.client, policy=policy, sleep=self.time.sleep, deadline=self.deadline)
        self.http.pacer = self.pacer
        self.on_the_wire_at_stop = 0
        self.sent_after_stop = 0
        self.refusals: list[str] = []  # the messages of those refused to the last attempt

    async def answer(self, request: httpx.Request) -> httpx.Response:
        self.sent_after_stop += self.time.now >= self.stopped_at
        answer = self.send()
        await self.time.sleep(self.load["latency"])
        return answer

    def stop(self) -> None:
        super().stop()
        self.on_the_wire_at_stop = self.http.on_the_wire
        self.http.stop()

    async def request(self, number: int) -> str:
        try:
            await self.http.request("GET", "https://api.example/x", idempotent=number % 2 == 0)
        except RateLimited as error:
            self.refusals.append(error.message)
            return "refused"
        return "succeeded"

    async def run(self) -> list[str]:
        clock = SimpleNamespace(monotonic=self.time.clock)
        try:
            with mock.patch.object(http_module, "time", clock):
                return await super().run()
        finally:
            await self.client.aclose()

    def check(self) -> None:
        super().check()
        assert self.http.on_the_wire == 0
        assert self.sent_after_stop <= self.on_the_wire_at_stop, "sent after the stop"
        attempts = self.load["attempts"]
        if attempts > 1:
            assert all(f"gave up after {attempts} attempts" in m for m in self.refusals)


#: The longest queue a run made, counted in these classes: a crowd (20 or more) is what
#: a deadline can cut in a chain of failing turns, each waking the next.
QUEUES = [(20, "20+"), (10, "10-19"), (1, "1-9"), (0, "none")]


def counted(outcomes: list[str], run: Run) -> None:
    """What the run came to, for --hypothesis-show-statistics (the examples must reach
    every outcome, not succeed only)."""
    refused = len(run.server.sent) - outcomes.count("succeeded")
    event(f"429s: {min(refused, 9)}{'+' if refused > 9 else ''}")
    queue = run.longest_queue
    event("longest queue: " + next(name for least, name in QUEUES if queue >= least))
    for kind in sorted(set(outcomes)):
        event(kind)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loads)
def test_the_pacer_lets_every_request_go_in_order_or_fail_and_never_hangs(
    load: dict[str, Any],
) -> None:
    run = PacerRun(load)
    counted(asyncio.run(run.run()), run)


#: Found by a CI run: 23 requests refused at once, 19 of them then past the deadline in
#: a chain (each failing turn wakes the next), longer than the fake clock then let run.
CHAIN_PAST_THE_DEADLINE = {
    "phases": [(0.0, 0.5)],
    "pauses": [None, "1"],
    "starts": [0.0] * 24,
    "cancels": [],
    "stop": 4.0,
    "deadline": 3.0,
    "attempts": 2,
    "latency": 0.0,
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loads)
@example(load=CHAIN_PAST_THE_DEADLINE)
def test_every_request_through_http_ends_whatever_the_429s_the_stop_or_the_deadline(
    load: dict[str, Any],
) -> None:
    run = HttpRun(load)
    counted(asyncio.run(run.run()), run)
