"""`apply --wait`: following the calculation of every CA an apply activated, polling
GET .../calculation, with a bar per CA on a terminal and a line a minute in a log, for at
most `--wait-timeout` or what is left of the command's deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from reconciler.api.client import PlatformClient
from reconciler.console import Heartbeat, Output
from reconciler.errors import (
    DeadlineExceeded,
    ReconcilerError,
    duration,
    first_few,
    printable,
    quoted,
    until,
)
from reconciler.plan.report import ApplyReport
from reconciler.settings import DEFAULT_DEADLINE

#: Seconds between polls of GET .../calculation (settings.Tuning.wait_interval, from
#: RECONCILER_WAIT_INTERVAL, is what apply passes).
POLL_SECONDS = 5.0
#: How long `--wait` follows calculations unless `--wait-timeout` says otherwise. A
#: calculation takes minutes to hours (more with a long `since` and a busy workspace).
WAIT_TIMEOUT = 3600.0


class WaitTimeout(ReconcilerError):
    """The calculations did not finish within --wait-timeout (the apply itself is done)."""


#: Past this many activated CAs, `--wait` draws one bar for them all: a bar per CA is
#: thousands of lines of a terminal for a large apply.
BARS_AT_MOST = 20


async def follow_calculations(
    client: PlatformClient,
    report: ApplyReport,
    output: Output,
    poll: float = POLL_SECONDS,
    *,
    timeout: float = WAIT_TIMEOUT,
    concurrency: int = 1,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    deadline_left: float | None = None,
    deadline_set: bool = True,
) -> None:
    """`--wait`: poll each activated CA until it is calculated, `concurrency` polls at a
    time (the apply's), for at most `timeout` seconds, or `deadline_left` (what is left
    of the command's deadline: RECONCILER_DEADLINE's, or without `deadline_set` the
    default's) when that ends first; a bar per CA on stderr, or one for them all past
    BARS_AT_MOST. Raises WaitTimeout when time runs out."""
    from rich.progress import (
        BarColumn,
        Progress,
        TaskID,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    activated = {
        o.id: o.action.name
        for o in report.outcomes
        if o.action.action == "activate" and o.status == "done" and o.id is not None
    }
    if not activated:
        return
    # A RECONCILER_DEADLINE shorter than --wait-timeout ends the wait: said so at once,
    # not announced as --wait-timeout's and then ended by a poll the deadline refused.
    # Without RECONCILER_DEADLINE, the default's (30 min plus --wait-timeout) ends first
    # after an apply of more than 30 min: not said to be a RECONCILER_DEADLINE nobody set.
    limit, why = timeout, f"--wait-timeout {timeout:g}s"
    named = (
        "the command's deadline, RECONCILER_DEADLINE"
        if deadline_set
        else f"the command's default deadline, {duration(DEFAULT_DEADLINE)} plus --wait-timeout"
    )
    by_deadline = deadline_left is not None and deadline_left < timeout
    if deadline_left is not None and by_deadline:
        limit = max(deadline_left, 0.0)
        why = f"{named}; --wait-timeout {timeout:g}s ends later"
    deadline, ends = clock() + limit, until(limit)
    output.info(
        f"Waiting for {len(activated)} activated CA(s) to be calculated, until {ends} "
        f"({why}); the apply itself is done."
    )
    progress = Progress(
        TextColumn("{task.description}", markup=False),  # a CA's name is no markup
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=output.err,
        disable=not output.live,
    )
    heartbeat = Heartbeat(clock=clock)
    tasks: dict[int, TaskID]
    if len(activated) > BARS_AT_MOST:
        whole = progress.add_task(f"{len(activated)} CAs", total=100 * len(activated))
        tasks = dict.fromkeys(activated, whole)
    else:
        tasks = {i: progress.add_task(printable(name), total=100) for i, name in activated.items()}
    percents = dict.fromkeys(activated, 0.0)
    pending = set(activated)
    polls = asyncio.Semaphore(max(1, concurrency))

    async def polled(ca_id: int) -> None:
        async with polls:
            # Looked at before each poll, not once a round: a round of thousands of CAs
            # takes minutes, and the wait must end when --wait-timeout says.
            if clock() >= deadline:
                return
            status = await client.calculation(ca_id)
        percent = 100.0 if status.is_calculated else status.calculation_percent_complete
        progress.update(tasks[ca_id], advance=percent - percents[ca_id])
        percents[ca_id] = percent
        if status.is_calculated:
            pending.discard(ca_id)
        _tell_calculating(output, heartbeat, percents, len(pending), ends)

    with progress:
        while pending:
            ended = await asyncio.gather(
                *(polled(ca_id) for ca_id in sorted(pending)), return_exceptions=True
            )
            failed = next((e for e in ended if isinstance(e, BaseException)), None)
            if isinstance(failed, DeadlineExceeded) and deadline_left is not None:
                # A poll sent just before the command's deadline, cut short by it: the
                # wait's end as the deadline's, not "gave up on .../calculation".
                raise _timed_out(activated, pending, max(deadline_left, 0.0), named) from failed
            if failed is not None:
                raise failed
            left = deadline - clock()
            if pending and left <= 0:
                raise _timed_out(activated, pending, limit, named if by_deadline else None)
            if pending:
                await sleep(min(poll, left))
    output.info(f"All {len(activated)} activated CA(s) are calculated.")


def _tell_calculating(
    output: Output, heartbeat: Heartbeat, percents: dict[int, float], pending: int, ends: str
) -> None:
    """Where no bar is drawn (a CI log), a line a minute at most of how far the wait came."""
    if output.live or not pending or not heartbeat.due():
        return
    done, total = len(percents) - pending, len(percents)
    output.info(
        f"calculating: {done:,} of {total:,} activated CA(s) calculated "
        f"({sum(percents.values()) / total:.0f}% overall), waiting until {ends}"
    )


def _timed_out(
    activated: dict[int, str], pending: set[int], limit: float, deadline: str | None
) -> WaitTimeout:
    """`deadline`: the command's deadline as named, when it ended the wait (not the
    --wait-timeout)."""
    names = first_few([quoted(activated[ca_id]) for ca_id in sorted(pending)], ", ", " ")
    if deadline is not None:
        after = f"{duration(limit)} ({deadline})"
        longer = "a larger RECONCILER_DEADLINE"
    else:
        after, longer = f"{limit:g}s (--wait-timeout)", "a larger --wait-timeout"
    return WaitTimeout(
        f"{len(pending)} of {len(activated)} activated CA(s) were still calculating after "
        f"{after}: {names}. The apply is complete; mParticle goes on "
        f"calculating (its UI shows the progress). Wait longer with {longer}."
    )
