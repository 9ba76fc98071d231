"""Seeding, step 5: send batches concurrently and bisect the ones the server refuses.

Workers pull batches one at a time from a shared stream, so memory holds at most
`concurrency` batches whatever the file size. Each request waits for its slot at the
governed rate (`pace`, users per second), and carries no more users than the governor
allows (`largest`: under an acceleration limit, half the growth it allows; a larger
batch goes in halves). A 400 splits a batch in halves until each refused user stands
alone with the server's message; the others land. A refusal only for CAs the seeding
path does not know yet is not about the users: that part is sent again once the
propagation wait allows, never split.

A stop sends no further request: a batch waiting for its slot, for the propagation wait
or for a retry (`Http.stop`) is abandoned (`Stopped`), unreported, for the checkpoint's
resume to send; only the requests already on the wire finish.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from reconciler.api.http import Http, Stopped, until_stopped
from reconciler.errors import ApiError, ValidationFailed
from reconciler.seeding.batches import Batch
from reconciler.seeding.propagation import PropagationWait

BULK_PATH = "/v2/bulkcalculatedattributes"

#: Sends one batch (or part of one) in a request; raises the typed ApiError of a refusal
#: (after retries).
Post = Callable[[Batch], Awaitable[None]]
#: Called once per batch when every one of its users landed or was refused.
Done = Callable[[Batch, "BatchOutcome"], Awaitable[None]]
#: Waits for the slot of a request of that many users (the rate governor's pacing).
Pace = Callable[[int], Awaitable[None]]
#: The most users one request should carry now (None: any); a larger part is halved.
Largest = Callable[[], int | None]


async def unpaced(users: int) -> None:
    """No pacing: every request goes at once."""


def any_size() -> int | None:
    """No limit on a request's users but the batch size."""
    return None


async def _unless_stopped(wait: Awaitable[None], stopping: asyncio.Event | None) -> None:
    """Await `wait`, or raise Stopped as soon as `stopping` is set (ending the wait)."""
    if stopping is None:
        await wait
    else:
        await until_stopped(wait, stopping)


@dataclass
class BatchOutcome:
    """What became of one batch: users landed, users refused (line, JSON, messages)."""

    landed: int = 0
    rejected: list[tuple[int, bytes, list[str]]] = field(default_factory=list)
    requests: int = 0


def poster(http: Http, s2s_url: str, api_key: str, api_secret: str, source: str = "") -> Post:
    """POST batches to the bulk seeding path with Basic auth, through the shared Http; a
    retry notice names the batch's users and their lines of `source` (the seed file)."""
    token = base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
    headers = {"authorization": f"Basic {token}", "content-type": "application/json"}
    url = s2s_url.rstrip("/") + BULK_PATH

    async def post(part: Batch) -> None:
        # Re-sent seeds overwrite: a POST whose answer was lost is safe to repeat.
        await http.request(
            "POST",
            url,
            path=BULK_PATH,
            content=part.body,
            headers=headers,
            idempotent=True,
            purpose=part.named(source),
        )

    return post


def _refused(exc: ApiError) -> bool:
    """The server judged the content (400), or the size (413): splitting can help."""
    return isinstance(exc, ValidationFailed) or exc.status == 413


async def deliver(
    batch: Batch,
    post: Post,
    pace: Pace = unpaced,
    propagation: PropagationWait | None = None,
    stopping: asyncio.Event | None = None,
    largest: Largest = any_size,
) -> BatchOutcome:
    """Send one batch; when the server refuses it, halve until the refused users are alone.
    A part larger than `largest` allows is sent in halves (the acceleration limit's steps;
    the checkpoint still records the batch once all its parts are answered).

    Other errors (auth, exhausted retries) propagate: they are not about the users. Once
    `stopping` is set no further request goes: the waits end and Stopped is raised.
    """
    outcome = BatchOutcome()
    pending = [batch]
    while pending:
        part = pending.pop()
        if stopping is not None and stopping.is_set():
            raise Stopped
        most = largest()
        if most is not None and len(part.users) > most:
            first, second = part.halves()
            pending += [second, first]
            continue
        await _unless_stopped(pace(len(part.users)), stopping)
        outcome.requests += 1
        try:
            await post(part)
        except ApiError as exc:
            unknown = propagation.unknown(exc) if propagation is not None else None
            if unknown is not None and propagation is not None:
                await _unless_stopped(propagation.until_learned(unknown, exc), stopping)
                pending.append(part)
                continue
            if not _refused(exc):
                raise
            if len(part.users) == 1:
                messages = list(exc.messages) or [exc.message]
                outcome.rejected.append((part.lines[0], part.users[0], messages))
            else:
                first, second = part.halves()
                pending += [second, first]
            continue
        if propagation is not None:
            propagation.learned()
        outcome.landed += len(part.users)
    return outcome


class Sender:
    """Runs `concurrency` workers over a stream of batches until it ends, fails or is stopped."""

    def __init__(
        self,
        post: Post,
        concurrency: int,
        pace: Pace = unpaced,
        propagation: PropagationWait | None = None,
        largest: Largest = any_size,
    ) -> None:
        self._post = post
        self._concurrency = concurrency
        self._pace = pace
        self._propagation = propagation
        self._largest = largest
        self.stopping = asyncio.Event()
        self._failures: list[BaseException] = []

    def stop(self) -> None:
        """Send no further request; those on the wire finish and their batches are
        reported, unless a batch still had parts to send (then it is left unsent)."""
        self.stopping.set()

    async def run(self, batches: Iterator[Batch], done: Done) -> None:
        """Send every batch (each reported to `done`); raises the first failure, after the
        batches already in flight have finished."""
        workers = [self._work(batches, done) for _ in range(self._concurrency)]
        await asyncio.gather(*workers)
        if self._failures:
            raise self._failures[0]

    async def _work(self, batches: Iterator[Batch], done: Done) -> None:
        while not self.stopping.is_set():
            # Pulling is synchronous: in one event loop no two workers can take the same batch.
            batch = next(batches, None)
            if batch is None:
                return
            try:
                outcome = await deliver(
                    batch, self._post, self._pace, self._propagation, self.stopping, self._largest
                )
                await done(batch, outcome)
            except Stopped:
                return
            except Exception as exc:
                self._failures.append(exc)
                self.stop()
                return
