"""Seeding, step 5b: waiting for the Seeding API to learn a CA.

A created or changed CA takes up to five minutes to reach the seeding path (the CA guide);
until then its seeds get "<CA>: No matching calculated attribute definition found" (the
seeding page's body, status 400; the guide calls it NOT FOUND, so 404 too). Such a refusal
says nothing about the users: the batch is sent again, with back-off, until `--seed-wait`
runs out — never bisected. The wait is announced with what it waits for and until when.

The body is optional (the seeding page), so a 400 or 404 without one, while CAs of the run
were written less than five minutes ago, is taken for the same answer about those CAs.

For a programmatic caller: `unknown_cas(exc)` tells a refusal naming its CAs apart; one
`PropagationWait` per run is shared by every sender, `wait.unknown(exc)` also reads a bare
one, `await wait.until_learned(names, exc)` sleeps before the next try or raises the
ApiError that stops the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

from reconciler.errors import ApiError, first_few, quoted, until

NO_MATCH = "No matching calculated attribute definition found"
#: The CA guide: "Calculated attribute creation or update takes up to five minutes".
FIVE_MINUTES = 300.0
#: Seconds between two announcements of the same wait.
REMIND_EVERY = 60.0


def unknown_cas(exc: ApiError) -> tuple[str, ...] | None:
    """The CAs a refusal says the seeding path does not know, when that is all it says."""
    if exc.status not in (400, 404) or not exc.messages:
        return None
    names: dict[str, None] = {}
    for message in exc.messages:
        name, separator, rest = message.rpartition(": ")
        if not separator or not name or rest.strip() != NO_MATCH:
            return None
        names[name] = None
    return tuple(names)


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


class PropagationWait:
    """One deadline for the run, from the first refusal for an unknown CA; back-off between
    tries, shared by every sender so that they retry together, not in a stampede.

    `written` maps CA names to when they were last written (epoch seconds), when known.
    """

    def __init__(
        self,
        seed_wait: float,
        announce: Callable[[str], None],
        *,
        written: Mapping[str, float] | None = None,
        first_delay: float = 0.5,
        max_delay: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.seed_wait = seed_wait
        self._announce = announce
        self._written = dict(written or {})
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._deadline: float | None = None
        self._delay = first_delay
        self._retry_at = 0.0
        self._announced: tuple[tuple[str, ...], float] | None = None
        #: Tries sent again because of a CA the seeding path did not know.
        self.retries = 0
        self.waited: set[str] = set()

    async def until_learned(self, names: Iterable[str], refusal: ApiError) -> None:
        """Sleep until the next try for a batch refused only for `names`; raise an ApiError
        that stops the run once `seed_wait` has run out."""
        names = tuple(sorted(names))
        now = self._clock()
        if self._deadline is None:
            self._deadline = now + self.seed_wait
        if now >= self._deadline:
            raise self._timeout(names, refusal)
        if now >= self._retry_at:
            # The first sender to wake schedules the next try for all of them.
            self._retry_at = now + self._delay
            self._delay = min(self._delay * 2, self._max_delay)
        retry_at = min(self._retry_at, self._deadline)
        self._remind(names, now)
        self.waited.update(names)
        self.retries += 1
        await self._sleep(max(0.0, retry_at - now))

    def unknown(self, refusal: ApiError) -> tuple[str, ...] | None:
        """The CAs a refusal is about the seeding path not knowing: those it names
        (`unknown_cas`); or, for a 400 or 404 with no body (the seeding page: the body "is
        optionally sent"), the CAs of this run written less than five minutes ago, which is
        what such an answer means then. None: a refusal about the users, or a failure."""
        named = unknown_cas(refusal)
        if named is not None or refusal.status not in (400, 404) or refusal.messages:
            return named
        now = self._wall()
        recent = sorted(name for name, at in self._written.items() if now - at < FIVE_MINUTES)
        return tuple(recent) or None

    def learned(self) -> None:
        """A batch landed: the next refusal starts the back-off from the beginning."""
        self._delay = self._first_delay

    def _remind(self, names: tuple[str, ...], now: float) -> None:
        last = self._announced
        if last is not None and last[0] == names and now - last[1] < REMIND_EVERY:
            return
        self._announced = (names, now)
        assert self._deadline is not None
        when = until(self._deadline - now, self._wall())
        which = first_few([quoted(name) for name in names], ", ", " ")
        noun = "CA" if len(names) == 1 else "CAs"
        written = [self._written[n] for n in names if n in self._written]
        since = (
            f"written {_ago(self._wall() - max(written))} ago; "
            if written
            else "created or changed recently, it seems; "
        )
        self._announce(
            f"waiting for the Seeding API to learn {noun} {which} ({since}mParticle takes up "
            f"to 5 min); retrying until {when} (--seed-wait {self.seed_wait:g}s)"
        )

    def _timeout(self, names: tuple[str, ...], refusal: ApiError) -> ApiError:
        which = first_few([quoted(name) for name in names], ", ", " ")
        answer = (
            "answers 'No matching calculated attribute definition found' for"
            if refusal.messages
            else f"refuses, without a reason (HTTP {refusal.status}), the seeds of"
        )
        return ApiError(
            f"the Seeding API still {answer} {which} after {self.seed_wait:g}s "
            "(--seed-wait): check that each "
            "exists with the calculation type and cutoff date the seeds name, or wait longer",
            status=refusal.status,
            messages=refusal.messages,
            method=refusal.method,
            path=refusal.path,
        )
