"""Sending: bisection isolates exactly the users the server refuses, workers keep at most
`concurrency` batches in flight, and a failure or a stop starts no new batch.

`post` is the seam: here a coroutine that judges bodies like the all-or-nothing bulk API
(the real HTTP path is covered against the emulator server in tests/commands/test_seed.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import httpx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.api.http import Http
from reconciler.errors import ApiError, AuthError, ValidationFailed
from reconciler.seeding.batches import Batch, cut
from reconciler.seeding.governor import Governor, RatePolicy
from reconciler.seeding.sender import BatchOutcome, Sender, deliver, poster
from tests.support.platform import Sleeps


class FakeBulkApi:
    """Refuses a whole body (400, the server's message) when any of its users is bad."""

    def __init__(self, bad: set[int], status: int = 400) -> None:
        self.bad = bad
        self.status = status
        self.requests = 0
        self.landed: list[int] = []

    async def post(self, part: Batch) -> None:
        self.requests += 1
        users = [user["mpid"] for user in orjson.loads(part.body)]
        refused = [mpid for mpid in users if mpid in self.bad]
        if refused:
            messages = [f"LTV: user {mpid} refused" for mpid in refused]
            if self.status == 400:
                raise ValidationFailed(
                    "the API rejected the request", status=400, messages=messages
                )
            raise ApiError("unexpected HTTP 413", status=self.status)
        self.landed += users


def batch_of(count: int, index: int = 0) -> Batch:
    lines = tuple(range(1, count + 1))
    return Batch(index, lines, tuple(orjson.dumps({"mpid": line}) for line in lines))


@given(
    size=st.integers(min_value=1, max_value=200),
    bad=st.sets(st.integers(min_value=1, max_value=200), max_size=8),
)
@settings(max_examples=60)
def test_bisection_isolates_exactly_the_refused_users(size: int, bad: set[int]) -> None:
    api = FakeBulkApi(bad)
    outcome = asyncio.run(deliver(batch_of(size), api.post))
    refused = sorted(line for line in bad if line <= size)
    assert sorted(line for line, _, _ in outcome.rejected) == refused
    assert sorted(api.landed) == [line for line in range(1, size + 1) if line not in bad]
    assert outcome.landed == size - len(refused)
    assert outcome.requests == api.requests
    for line, user, messages in outcome.rejected:
        assert orjson.loads(user) == {"mpid": line}
        assert messages == [f"LTV: user {line} refused"]


async def test_one_refused_user_in_100_costs_two_requests_a_halving() -> None:
    api = FakeBulkApi({37})
    outcome = await deliver(batch_of(100), api.post)
    # 100 -> 50 -> 25 -> 13 -> 7 -> 4 -> 2 -> 1: seven halvings after the first request.
    assert api.requests == 1 + 2 * 7
    assert [line for line, _, _ in outcome.rejected] == [37]


async def test_a_body_too_large_is_halved_too() -> None:
    api = FakeBulkApi({3}, status=413)
    outcome = await deliver(batch_of(4), api.post)
    assert [line for line, _, _ in outcome.rejected] == [3]
    assert outcome.rejected[0][2] == ["unexpected HTTP 413"]


async def test_a_batch_larger_than_the_governor_allows_goes_in_halves_each_paced() -> None:
    """Under an acceleration limit of 20 batches/s a window the growth allowed is about 140
    users, and a request of 100 was half of it: each request is a step of the windows the
    limit compares. Once the governor has learnt it (an acceleration 429) a larger batch
    is sent in halves, each waiting for its own slot; the batch is done once, whole."""
    paced: list[int] = []

    async def pace(users: int) -> None:
        paced.append(users)

    api = FakeBulkApi(bad={7})
    done: list[tuple[Batch, BatchOutcome]] = []

    async def confirm(batch: Batch, outcome: BatchOutcome) -> None:
        done.append((batch, outcome))

    sender = Sender(api.post, concurrency=1, pace=pace, largest=lambda: 30)
    await sender.run(iter([batch_of(100)]), confirm)
    # 100 -> 50 -> 25: four requests of 25, the one holding user 7 bisected after its 400.
    assert paced.count(25) == 4, paced
    assert max(paced) == 25, paced
    assert sorted(api.landed) == [line for line in range(1, 101) if line != 7]
    assert len(done) == 1
    assert done[0][1].landed == 99
    assert [line for line, _, _ in done[0][1].rejected] == [7]


def test_the_largest_request_is_half_the_growth_an_acceleration_429_allowed() -> None:
    clock = [0.0]
    gov = Governor(RatePolicy(rate=1000, first=1000, start=1), clock=lambda: clock[0])
    for second in range(20):
        clock[0] = second + 0.5
        gov.reserve(10 if second < 10 else 30)
    clock[0] = 20
    assert gov.largest_request() is None
    gov.throttled("acceleration", 1)  # our windows grew by 170: 119 allowed
    assert gov.largest_request() == 59


async def test_errors_that_are_not_about_the_users_propagate() -> None:
    async def refuse(part: Batch) -> None:
        raise AuthError("authentication failed (credentials refused)", status=403)

    with pytest.raises(AuthError):
        await deliver(batch_of(10), refuse)


def batches(count: int) -> Iterator[Batch]:
    users = ((line, orjson.dumps({"mpid": line})) for line in range(1, count * 10 + 1))
    return cut(users, batch_size=10)


async def test_workers_keep_at_most_concurrency_batches_in_flight() -> None:
    in_flight = 0
    peak = 0
    done: list[int] = []

    async def post(part: Batch) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1

    async def confirm(batch: Batch, outcome: BatchOutcome) -> None:
        done.append(batch.index)

    await Sender(post, concurrency=4).run(batches(50), confirm)
    assert peak == 4
    assert sorted(done) == list(range(50))


async def test_a_failure_stops_new_batches_and_is_raised_after_those_in_flight() -> None:
    started: list[int] = []
    finished: list[int] = []
    release = asyncio.Event()

    async def post(part: Batch) -> None:
        first = orjson.loads(part.body)[0]["mpid"]
        started.append(first)
        if first == 21:
            raise AuthError("authentication failed (credentials refused)", status=403)
        await release.wait()

    async def confirm(batch: Batch, outcome: BatchOutcome) -> None:
        finished.append(batch.index)

    sender = Sender(post, concurrency=3)
    running = asyncio.create_task(sender.run(batches(50), confirm))
    while not sender.stopping.is_set():
        await asyncio.sleep(0)
    release.set()
    with pytest.raises(AuthError):
        await running
    assert started == [1, 11, 21]
    assert sorted(finished) == [0, 1]


async def test_stop_lets_the_batches_in_flight_finish_and_report() -> None:
    release = asyncio.Event()
    finished: list[int] = []
    on_the_wire = 0

    async def post(part: Batch) -> None:
        nonlocal on_the_wire
        on_the_wire += 1
        await release.wait()
        on_the_wire -= 1

    async def confirm(batch: Batch, outcome: BatchOutcome) -> None:
        finished.append(batch.index)

    sender = Sender(post, concurrency=2)
    running = asyncio.create_task(sender.run(batches(50), confirm))
    while on_the_wire < 2:
        await asyncio.sleep(0)
    sender.stop()
    release.set()
    await running
    assert sorted(finished) == [0, 1]


async def test_stop_abandons_the_batches_waiting_for_their_slot_unsent_and_unreported() -> None:
    posted: list[int] = []
    finished: list[int] = []
    forever = asyncio.Event()

    async def post(part: Batch) -> None:
        posted.append(orjson.loads(part.body)[0]["mpid"])

    slots = 0

    async def pace(users: int) -> None:
        nonlocal slots
        slots += 1
        if slots > 1:  # the first request goes at once, the others wait for a slot
            await forever.wait()

    async def confirm(batch: Batch, outcome: BatchOutcome) -> None:
        finished.append(batch.index)

    sender = Sender(post, concurrency=3, pace=pace)
    running = asyncio.create_task(sender.run(batches(50), confirm))
    while not finished:
        await asyncio.sleep(0)
    assert posted == [1]  # three batches hold a worker, none is on the wire
    sender.stop()
    await asyncio.wait_for(running, 10)
    assert posted == [1]
    assert finished == [0]


async def test_a_retry_notice_names_the_users_and_lines_it_sends_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Eight workers retry at once: the notices said `retrying 2/12 POST .../v2/bulk...`,
    all alike, with nothing to tell which users waited (apply's name their step). Each
    names its users by their lines of the file, a split batch's half its own."""
    answers = iter([503, 400, 503, 202, 202])

    def answer(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        return httpx.Response(status, json={"errors": [{"message": f"answer {status}"}]})

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    http = Http(client, sleep=Sleeps())
    post = poster(http, "https://s2s.example", "key", "secret", "seeds.csv")
    part = Batch(0, (2, 3, 5, 6), tuple(orjson.dumps({"mpid": n}) for n in range(4)))
    with caplog.at_level(logging.DEBUG, logger="reconciler.http"):
        outcome = await deliver(part, post)
    await http.aclose()
    assert outcome.landed == 4
    said = [record.getMessage().split(" in ")[0] for record in caplog.records]
    shown = "(POST https://s2s.example/v2/bulkcalculatedattributes)"
    assert [line for line in said if line.startswith("retrying")] == [
        f"retrying 2/12 seed 4 users of seeds.csv, lines 2-6 {shown}",
        f"retrying 2/12 seed 2 users of seeds.csv, lines 2-3 {shown}",
    ]
    assert Batch(0, (57,), (b"{}",)).named("seeds.csv") == "seed 1 user of seeds.csv, line 57"
