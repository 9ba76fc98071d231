"""Seeding, step 5: pass 2 — cut the spool into batches and send them at the governed rate,
keeping the checkpoint and the rejects file; announce the waits; stop sending on a
signal. (`pipeline` runs pass 1 and calls `send` or `count`.)"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import httpx
import orjson

from reconciler import threads
from reconciler.api.http import Http, RetryPolicy
from reconciler.api.retrying import Deadline
from reconciler.api.transports import http_for, warn_plaintext
from reconciler.errors import ApiError, duration, until
from reconciler.seeding.batches import Batch, Spool, body_size, cut
from reconciler.seeding.checkpoint import Checkpoint
from reconciler.seeding.governor import DEFAULT_CEILING, DEFAULT_RATE, Governor, RatePolicy
from reconciler.seeding.observer import Observer
from reconciler.seeding.propagation import PropagationWait
from reconciler.seeding.report import RejectsFile, SeedReport
from reconciler.seeding.sender import BatchOutcome, Post, Sender, poster
from reconciler.settings import Settings

#: A wait for a request's slot longer than this is announced (a low rate, large batches).
ANNOUNCE_PACING = 10.0
#: While requests keep waiting that long, the pace is said again at most this often.
PACING_EVERY = 60.0


@dataclass(frozen=True)
class Plan:
    """What pass 2 sends and how: the batch shape, the run's limits and the rate."""

    batch_size: int
    max_bytes: int
    concurrency: int
    seed_wait: float
    policy: RatePolicy
    #: The retry waits (settings.Tuning), which the propagation wait polls on too.
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def policy_for(settings: Settings) -> RatePolicy:
    """The rate and ceiling of the settings (flag > environment > reconciler.yaml), or the
    defaults: 100 users/s, 80% used."""
    return RatePolicy(
        rate=settings.seed_rate or DEFAULT_RATE,
        ceiling=settings.seed_rate_ceiling or DEFAULT_CEILING,
    )


def batches(
    spool: Spool, plan: Plan, checkpoint: Checkpoint | None, report: SeedReport
) -> Iterator[Batch]:
    """The batches still to send; those an earlier run confirmed are counted and skipped."""
    report.batches_total = spool.batches
    for batch in cut(spool.read(), plan.batch_size, plan.max_bytes):
        if checkpoint is not None and checkpoint.skips(batch):
            report.batches_skipped += 1
            continue
        yield batch


def count(spool: Spool, plan: Plan, checkpoint: Checkpoint | None, report: SeedReport) -> None:
    """A dry run: what would be sent, and how much of it a checkpoint already covers."""
    for batch in batches(spool, plan, checkpoint, report):
        report.bytes += body_size(batch.users)
    if checkpoint is not None:
        report.users_already_sent = checkpoint.landed_before
        report.users_rejected_server = checkpoint.rejected_before


class Delivery:
    """One run of pass 2: the sender, the rate governor and the propagation wait."""

    def __init__(
        self,
        plan: Plan,
        checkpoint: Checkpoint | None,
        rejects: RejectsFile,
        report: SeedReport,
        watch: Observer,
        written: dict[str, float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.plan = plan
        self._sleep = sleep
        self.checkpoint = checkpoint
        self.rejects = rejects
        self.report = report
        self.watch = watch
        self.governor = Governor(plan.policy)
        # Polled on the retry policy's back-off (RECONCILER_RETRY_INITIAL_WAIT / _MAX_WAIT).
        retry = plan.retry
        self.propagation = PropagationWait(
            plan.seed_wait,
            watch.announce,
            written=written,
            first_delay=retry.initial_wait,
            max_delay=retry.max_wait,
        )
        self._told = 0
        #: The last 429 line said, and when (the governor's clock).
        self._change_said: tuple[float, str] | None = None
        #: The end of the last slot whose request went (the governor's clock).
        self._paced_until: float | None = None
        #: Requests waiting for their slot, and the start of the last slot taken.
        self._waiting = 0
        self._last_slot = 0.0
        #: The users this run sends (`send` sets it: the file less what a checkpoint
        #: confirmed), and those of the batches taken so far (`queue`): counted once each,
        #: though a batch split after a 400, or sent again after a propagation wait, takes
        #: several slots.
        self.users_to_send: int | None = None
        self._taken = 0
        #: When the pace was last said (the governor's clock), and whether a line is due.
        self._paced_said: float | None = None
        self._pacing_due = False
        #: Whether a line said the queue holds the file's last request.
        self._end_said = False

    async def pace(self, users: int) -> None:
        """Wait for the slot of a request of `users` users at the governed rate."""
        delay = self.governor.reserve(users)
        slot_end = self.governor.slots_end
        if delay > 0:
            self._waiting += 1
            self._last_slot = self.governor.clock() + delay
            if delay > ANNOUNCE_PACING and not self._pacing_due:
                # Said once the workers that take a slot at this moment have taken theirs
                # (at the start, every worker at once): one line for the queue.
                self._pacing_due = True
                asyncio.get_running_loop().call_soon(self._say_pacing, users)
            try:
                await self._sleep(delay)
            finally:
                self._waiting -= 1
        # Not reached by a request abandoned while it waited (a stop): its slot was unused.
        self._paced_until = max(self._paced_until or slot_end, slot_end)

    def sender(self, post: Post) -> Sender:
        """The run's sender: each request waits for its slot (`pace`) and carries no more
        users than the governor allows (`Governor.largest_request`: once an acceleration
        429 taught the growth allowed, a larger batch goes in halves)."""
        plan = self.plan
        return Sender(
            post, plan.concurrency, self.pace, self.propagation, self.governor.largest_request
        )

    def queue(self, batches: Iterator[Batch]) -> Iterator[Batch]:
        """`batches`, counting the users of each as a worker takes it: those after the
        queue are the others (`_say_pacing`)."""
        for batch in batches:
            self._taken += len(batch.users)
            yield batch

    def _say_pacing(self, users: int) -> None:
        """`pacing: one request of 100 users every 10 s (...); 7 waiting, the last going at
        ...; then 4,200 users more, ...`: the cadence, which each worker's own wait (its
        place in the line: 20 s, ..., 80 s) made read as a pause, and when the last in line
        goes. Once a PACING_EVERY, and at once when the queue first holds the file's last
        request (a worker took the last batch).

        That moment is the end of the run only when the queue holds the file's last users,
        and is said so then; otherwise the users still to queue are counted, with no end:
        the rate they go at adapts to the Seeding API's answers (it climbs slower than its
        most at a low rate, stops under the ceiling, halves on a 429), so an end at the
        current rate came out several times too late, and one at the fastest climb too
        early."""
        self._pacing_due = False
        now = self.governor.clock()
        left = None if self.users_to_send is None else self.users_to_send - self._taken
        # The queue's end is the run's end once it holds the file's last request: said
        # then, whenever the line said before (it was said only when a line happened to
        # be due as a worker took the last batch, one run in several).
        ends = left is not None and left <= 0 and not self._end_said
        if self._paced_said is not None and now - self._paced_said < PACING_EVERY and not ends:
            return
        self._paced_said = now
        self._end_said = self._end_said or ends
        # The rate of the request going now: `rate` is that of the last slot taken, at
        # the queue's end, where the rate has climbed along the slots' times.
        rate = self.governor.rate_now
        going = until(max(self._last_slot - now, 0.0))
        if left is None:
            queue = f"the last going at {going}"
        elif left <= 0:
            queue = f"the last, which ends the file, going at {going}"
        else:
            queue = (
                f"the last going at {going}; then {left:,} user{'s' if left != 1 else ''} "
                f"more, at up to {self.governor.policy.rate:.1f} users/s as the workspace allows"
            )
        self.watch.announce(
            f"pacing: one request of {users} user{'s' if users != 1 else ''} every "
            f"{duration(users / rate)} (seeding at {rate:.1f} users/s); {self._waiting} "
            f"waiting, {queue}"
        )

    async def done(self, batch: Batch, outcome: BatchOutcome) -> None:
        refused = [
            {"line": line, "errors": messages, "record": orjson.loads(user), "stage": "server"}
            for line, user, messages in outcome.rejected
        ]
        for entry in refused:
            self.rejects.write_entry(entry)
            self.report.count_refused(entry["record"])
        self.rejects.flush()
        if self.checkpoint is not None:
            await self.checkpoint.record(batch, outcome.landed, refused)
        report = self.report
        report.batches_sent += 1
        report.users_sent += outcome.landed
        report.users_rejected_server += len(refused)
        report.bytes += body_size(batch.users)
        self.watch.confirmed(len(batch.users))
        self._tell_changes()

    def _tell_changes(self) -> None:
        """Announce the 429s the governor answered since the last batch; a line just said
        (the same reason and rate, within PACING_EVERY) is not said again: the retries'
        own notices count the 429s (`rate limited: 8 more 429s ...`), and the summary."""
        for change in self.governor.changes[self._told :]:
            line = (
                f"the Seeding API answered 429 ({change.reason}): seeding at "
                f"{change.rate:.1f} users/s now"
            )
            said = self._change_said
            if said is not None and said[1] == line and change.at - said[0] < PACING_EVERY:
                continue
            self._change_said = (change.at, line)
            self.watch.announce(line)
        self._told = len(self.governor.changes)

    def finish(self, elapsed: float) -> None:
        """Record what the governor and the propagation wait did."""
        report = self.report
        governor = self.governor
        # The average is taken over the slots the requests held, not only the time they
        # took: the first request goes at once, so a short run would seem faster than the
        # governed rate (3 users in 4 ms is not 750 users/s). It cannot exceed the peak.
        paced = 0.0
        if self._paced_until is not None and governor.first_slot is not None:
            paced = self._paced_until - governor.first_slot
        report.rate_configured = self.plan.policy.rate
        report.rate_ceiling = self.plan.policy.ceiling
        report.rate_peak = governor.peak_rate
        report.rate_limited = governor.speed_limited
        report.acceleration_limited = governor.acceleration_limited
        report.propagation_retries = self.propagation.retries
        report.propagation_waited = sorted(self.propagation.waited)
        report.send_seconds = max(elapsed, paced)


def send(
    spool: Spool,
    delivery: Delivery,
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None,
    deadline: Deadline | None = None,
) -> None:
    """Send every batch still to send; an API error that stops the run is in the report."""
    threads.run(send_async(spool, delivery, settings, transport, deadline))


async def send_async(
    spool: Spool,
    delivery: Delivery,
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None,
    deadline: Deadline | None = None,
) -> None:
    """`send` on the caller's event loop (its signal handlers are this run's meanwhile);
    `deadline`: the command's, when RECONCILER_DEADLINE set one (`pipeline.command_deadline`)."""
    report = delivery.report
    checkpoint = delivery.checkpoint
    if checkpoint is not None:
        report.users_already_sent = checkpoint.landed_before
        report.users_rejected_server = checkpoint.rejected_before
        for entry in checkpoint.previous_rejects():
            delivery.rejects.write_entry(entry)
            report.count_refused(entry["record"])
    # Paced in users per second by the governor; a request rate of the settings (if any)
    # still caps the requests.
    # No command deadline unless RECONCILER_DEADLINE sets one: a long file takes hours by
    # design; every request still has its own, and Ctrl-C stops cleanly and resumably.
    warn_plaintext(settings, "s2s_url")
    http = http_for(settings, transport, deadline=None, shared=deadline)
    delivery.governor.attach(http.client)
    post = poster(http, settings.s2s_url, settings.api_key, settings.api_secret, report.file)
    sender = delivery.sender(post)
    loop = asyncio.get_running_loop()
    watched = _on_signals(loop, sender, http, report, delivery.watch, asyncio.current_task())
    already = checkpoint.landed_before + checkpoint.rejected_before if checkpoint else 0
    delivery.users_to_send = max(spool.users - already, 0)
    delivery.watch.sending(spool.users, already)
    started = time.monotonic()
    try:
        await sender.run(
            delivery.queue(batches(spool, delivery.plan, checkpoint, report)), delivery.done
        )
    except asyncio.CancelledError:
        report.forced = True
    except ApiError as exc:
        # Not about any one user (credentials, retries exhausted, a CA the seeding path
        # never learnt): the run stops, and the report still says what landed before.
        report.failure = exc
    finally:
        for signum, previous in watched.items():
            loop.remove_signal_handler(signum)
            signal.signal(signum, previous)  # what the command had (SIGTERM: as Ctrl-C)
        report.requests = http.requests
        report.retries = http.retries
        delivery.finish(time.monotonic() - started)
        await http.aclose()


#: A signal's handler as `signal.getsignal` gives it (SIG_DFL and SIG_IGN are ints).
Handler = Callable[[int, FrameType | None], Any] | int | None


def _on_signals(
    loop: asyncio.AbstractEventLoop,
    sender: Sender,
    http: Http,
    report: SeedReport,
    watch: Observer,
    task: asyncio.Task[Any] | None,
) -> dict[int, Handler]:
    """First Ctrl-C / SIGTERM: send no further request (no retry either), let those on
    the wire finish, then stop; batches still waiting (for their slot, a retry, or for the
    Seeding API to learn a CA) are left for the resume. Second: stop now."""

    def interrupt(signum: int) -> None:
        if report.interrupted is not None and task is not None:
            task.cancel()
            return
        report.interrupted = signal.Signals(signum).name
        sender.stop()
        http.stop()
        flying = http.on_the_wire
        doing = (
            f"finishing the {flying} request(s) in flight, then stopping (again to stop at once)"
            if flying
            else "no request is in flight: stopping"
        )
        watch.warn(
            f"{report.interrupted}: sending no more; {doing}; batches not sent yet are left "
            "for the resume"
        )

    watched: dict[int, Handler] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        try:
            loop.add_signal_handler(signum, interrupt, signum)
        except (NotImplementedError, RuntimeError, ValueError):
            continue  # not the main thread, or no signals here: Ctrl-C stays a KeyboardInterrupt
        watched[signum] = previous
    return watched
