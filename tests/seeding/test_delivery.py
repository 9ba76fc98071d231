"""Pass 2's pacing (`seeding.delivery`): how a queue of requests waiting for their slots at
the governed rate is announced, on a fake clock."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.errors import ValidationFailed
from reconciler.seeding.batches import Batch
from reconciler.seeding.delivery import Delivery, Plan
from reconciler.seeding.governor import Governor, RatePolicy
from reconciler.seeding.observer import Quiet
from reconciler.seeding.report import RejectsFile, SeedReport
from reconciler.seeding.sender import BatchOutcome, Sender
from tests.support.faketime import FakeTime
from tests.support.readme import DOCS


class Said(Quiet):
    """An observer that keeps what was announced, with when (the fake clock's)."""

    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self.lines: list[tuple[float, str]] = []

    def announce(self, message: str) -> None:
        self.lines.append((self.time.now, message))


GOING = r"going at (?:\S+ )?\d\d:\d\d:\d\d \S+"
PACING = (
    r"pacing: one request of 100 users every (\d+) s \(seeding at [\d.]+ users/s\); "
    rf"(\d+) waiting, the last(?: {GOING}(?:; then ([\d,]+) users more, at up to 10\.0 "
    rf"users/s as the workspace allows)?|, which ends the file, {GOING})"
)


#: The pacing line of any request's size, the users after the queue (if any) its group.
PACING_ANY = (
    r"pacing: one request of \d+ users? every [\d.]+ s \(seeding at [\d.]+ users/s\); "
    rf"\d+ waiting, the last(?: {GOING}(?:; then ([\d,]+) users? more, at up to 10\.0 "
    rf"users/s as the workspace allows)?|, which ends the file, {GOING})"
)


def paced(tmp_path: Path, time: FakeTime, watch: Said) -> Delivery:
    """A delivery of batches of 100 users by 8 workers at `--rate 10` (1 user/s at first,
    so that the workers queue), on `time`, its lines said to `watch`."""
    policy = RatePolicy(rate=10)
    plan = Plan(batch_size=100, max_bytes=256_000, concurrency=8, seed_wait=600, policy=policy)
    report = SeedReport(file="seeds.jsonl", format="jsonl", dry_run=False)
    rejects = RejectsFile(tmp_path / "rejects.jsonl", hold=False)
    delivery = Delivery(plan, None, rejects, report, watch, {}, sleep=time.sleep)
    delivery.governor = Governor(policy, clock=time.clock)
    return delivery


async def test_a_queue_of_workers_waiting_for_their_slots_is_announced_as_one_cadence(
    tmp_path: Path,
) -> None:
    """At the start of a seed at `--rate 10` (1 user/s at first), each of 8 workers said
    "pacing: the next request of 100 users waits 100s" ... "waits 700s": a reader took the
    run for idle for minutes, though a request went out every 100 s. One line says the
    cadence and the queue, and it is said again at most once a minute."""
    time = FakeTime()
    watch = Said(time)
    delivery = paced(tmp_path, time, watch)
    sent: list[float] = []

    async def worker() -> None:
        for _ in range(6):
            await delivery.pace(100)
            sent.append(time.now)
            await time.sleep(0.05)  # the request's answer

    await time.run([asyncio.ensure_future(worker()) for _ in range(8)])
    assert len(sent) == 48
    first = [line for at, line in watch.lines if at == 0]
    assert len(first) == 1, watch.lines
    found = re.fullmatch(PACING, first[0])
    assert found is not None, first[0]
    assert (found[1], found[2]) == ("100", "7")  # the first goes at once
    # Later, as the rate climbs and the queue keeps waiting: a line a minute at most.
    moments = [at for at, _ in watch.lines]
    assert all(b - a >= 60 for a, b in itertools.pairwise(moments)), moments
    assert all(re.fullmatch(PACING, line) for _, line in watch.lines), watch.lines
    assert len(watch.lines) > 1


async def test_the_pacing_line_counts_the_users_after_the_queue_and_says_the_files_end(
    tmp_path: Path,
) -> None:
    """ "7 waiting, the last until 12:04:31 UTC" read as the end of the seed, though it was
    the moment the last of 8 workers' requests went, with most of the file still to queue.
    The line counts the users after the queue (their end is not known: the rate adapts),
    and says when the queue holds the file's last request, whose moment is then the end."""
    time = FakeTime()
    watch = Said(time)
    delivery = paced(tmp_path, time, watch)
    delivery.users_to_send = 4_600
    requests = delivery.queue(batches(46))

    async def worker() -> None:
        for _ in requests:
            await delivery.pace(100)
            await time.sleep(0.05)  # the request's answer

    await time.run([asyncio.ensure_future(worker()) for _ in range(8)])
    said = [re.fullmatch(PACING, line) for _, line in watch.lines]
    assert all(said), watch.lines
    first = said[0]
    assert first is not None
    assert (first[2], first[3]) == ("7", "3,800")  # 8 took a slot, the first went at once
    assert "which ends the file" in watch.lines[-1][1], watch.lines
    assert all("which ends the file" not in line for _, line in watch.lines[:-1]), watch.lines


@pytest.mark.parametrize("count", [41, 44, 47, 52, 63])
async def test_the_queue_that_holds_the_files_last_request_is_said_whenever_it_comes(
    tmp_path: Path, count: int
) -> None:
    """docs/seeding.md promises that the line says when the queue holds the file's last
    request: it was said only when a line happened to be due (a minute after the one
    before) as a worker took the last batch, one batch count in six. It is said as the
    last batch is taken, whatever the line before."""
    time = FakeTime()
    watch = Said(time)
    delivery = paced(tmp_path, time, watch)
    delivery.users_to_send = 100 * count
    requests = delivery.queue(batches(count))
    last_taken: list[float] = []

    async def worker() -> None:
        for batch in requests:
            if batch.index == count - 1:
                last_taken.append(time.now)
            await delivery.pace(100)
            await time.sleep(0.05)  # the request's answer

    await time.run([asyncio.ensure_future(worker()) for _ in range(8)])
    ends = [(at, line) for at, line in watch.lines if "which ends the file" in line]
    assert [at for at, _ in ends] == last_taken, watch.lines
    assert re.fullmatch(PACING, ends[0][1]), ends
    assert ends[0] == watch.lines[-1]


class Counting(Said):
    """`Said`, keeping with each line the users of the batches `taken` by then."""

    def __init__(self, time: FakeTime, taken: list[int]) -> None:
        super().__init__(time)
        self.taken = taken
        self.counted: list[int] = []

    def announce(self, message: str) -> None:
        super().announce(message)
        self.counted.append(sum(self.taken))


async def test_the_users_after_the_queue_count_each_user_once_when_batches_split(
    tmp_path: Path,
) -> None:
    """A batch a 400 splits takes a slot for each part it is sent in: counted by their
    slots, the users of the file were counted up to eight times over, and the line said
    the queue held the file's last request for most of the run (here 14 minutes of it,
    with hundreds of users still to queue). Each is counted once, as its batch is taken."""
    time = FakeTime()
    taken: list[int] = []
    watch = Counting(time, taken)
    delivery = paced(tmp_path, time, watch)
    delivery.users_to_send = 4_700

    async def post(part: Batch) -> None:
        await time.sleep(0.05)
        if b'"refused"' in part.body:  # one user of each batch: split down to it
            raise ValidationFailed("refused", status=400)

    def pulled() -> Iterator[Batch]:
        for batch in batches(47, refused_at=7):
            taken.append(len(batch.users))
            yield batch

    async def done(batch: Batch, outcome: BatchOutcome) -> None:
        return None

    sender = Sender(post, delivery.plan.concurrency, delivery.pace)
    await time.run(asyncio.ensure_future(sender.run(delivery.queue(pulled()), done)))
    assert len(watch.lines) > 10, watch.lines
    assert watch.counted[0] < watch.counted[-1] == 4_700, watch.counted
    for (_, line), then in zip(watch.lines, watch.counted, strict=True):
        found = re.fullmatch(PACING_ANY, line)
        assert found is not None, line
        if then < 4_700:
            assert found[1] == f"{4_700 - then:,}", (then, line)
        else:
            assert "which ends the file" in line, line


async def test_once_an_acceleration_429_taught_the_growth_the_requests_keep_under_half(
    tmp_path: Path,
) -> None:
    """Batches of 100 under an acceleration limit of 20 batches/s a window: one request
    was half the growth allowed, a step no pacing could smooth. Once the governor has
    learnt the growth (here 119 users a window), the run's requests carry at most half
    of it: each batch goes in halves of 50."""
    time = FakeTime()
    delivery = paced(tmp_path, time, Said(time))
    gov = Governor(RatePolicy(rate=1000, first=1000, start=1), clock=time.clock)
    delivery.governor = gov
    for second in range(20):
        time.now = second + 0.5
        gov.reserve(10 if second < 10 else 30)
    time.now = 20
    gov.throttled("acceleration", 1)  # our windows grew by 170: 70% of it allowed
    sizes: list[int] = []

    async def post(part: Batch) -> None:
        sizes.append(len(part.users))
        await time.sleep(0.05)  # the request's answer

    async def done(batch: Batch, outcome: BatchOutcome) -> None:
        assert outcome.landed == 100

    sender = delivery.sender(post)
    await time.run(asyncio.ensure_future(sender.run(batches(3), done)))
    assert sizes == [50] * 6


def batches(count: int, refused_at: int | None = None) -> Iterator[Batch]:
    """`count` batches of 100 users; the user at `refused_at` of each is one a 400 refuses."""
    for index in range(count):
        lines = tuple(range(index * 100, index * 100 + 100))
        users = tuple(b'{"refused": 1}' if line % 100 == refused_at else b"{}" for line in lines)
        yield Batch(index, lines, users)


def test_the_seeding_doc_shows_the_pacing_line_as_it_is_said() -> None:
    shown = [
        line.strip()
        for line in (DOCS / "seeding.md").read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("pacing: ")
    ]
    assert len(shown) == 1
    assert re.fullmatch(PACING, shown[0]), shown[0]


def test_a_429_line_just_said_is_not_said_again_and_again(tmp_path: Path) -> None:
    """Three batches met nine acceleration 429s, and nine lines said the same thing,
    `the Seeding API answered 429 (acceleration limit: a slower climb): seeding at 100.0
    users/s now`, within ten seconds. A line like the last is said once a minute at most;
    another reason or rate is said at once."""
    time = FakeTime()
    watch = Said(time)
    delivery = paced(tmp_path, time, watch)
    gov = delivery.governor
    for at in (0.0, 1.0, 2.0, 30.0):
        time.now = at
        gov.throttled("acceleration", 1)
        delivery._tell_changes()
    time.now = 31.0
    gov.throttled("workspace", 1)  # another reason, another rate: said at once
    delivery._tell_changes()
    time.now = 70.0
    gov.throttled("acceleration", 1)  # like the one before: said
    delivery._tell_changes()
    time.now = 140.0
    gov.throttled("acceleration", 1)  # a minute after the last said
    delivery._tell_changes()
    said = [(at, line.split("(")[1].split(")")[0]) for at, line in watch.lines]
    assert said == [
        (0.0, "acceleration limit: a slower climb"),
        (31.0, "the workspace limit: rate halved"),
        (70.0, "acceleration limit: a slower climb"),
        (140.0, "acceleration limit: a slower climb"),
    ]
