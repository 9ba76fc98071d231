"""`apply --wait`: follow the calculation of every activated CA with a progress bar, for
at most `--wait-timeout` seconds (announced, with the time it ends)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from reconciler.api.client import PlatformClient
from reconciler.applier import Report
from reconciler.console import Output
from reconciler.errors import ReconcilerError

#: Seconds between polls of GET .../calculation (settings.Tuning.wait_interval, from
#: RECONCILER_WAIT_INTERVAL, is what apply passes).
POLL_SECONDS = 5.0
#: How long `--wait` follows calculations unless `--wait-timeout` says otherwise. A
#: calculation takes minutes to hours (more with a long `since` and a busy workspace).
WAIT_TIMEOUT = 3600.0


class WaitTimeout(ReconcilerError):
    """The calculations did not finish within --wait-timeout (the apply itself is done)."""


async def follow_calculations(
    client: PlatformClient,
    report: Report,
    output: Output,
    poll: float = POLL_SECONDS,
    *,
    timeout: float = WAIT_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Poll each activated CA every `poll` seconds until it is calculated, for at most
    `timeout` seconds; one bar per CA on stderr. Raises WaitTimeout when time runs out."""
    interval = poll
    activated = {
        o.id: o.action.name
        for o in report.outcomes
        if o.action.action == "activate" and o.status == "done" and o.id is not None
    }
    if not activated:
        return
    deadline = clock() + timeout
    until = datetime.fromtimestamp(time.time() + timeout).strftime("%H:%M:%S")
    output.info(
        f"Waiting for {len(activated)} activated CA(s) to be calculated, until {until} "
        f"(--wait-timeout {timeout:g}s); the apply itself is done."
    )
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=output.err,
        disable=not output.err.is_terminal,
    )
    with progress:
        tasks = {ca_id: progress.add_task(name, total=100) for ca_id, name in activated.items()}
        pending = set(activated)
        while pending:
            for ca_id in sorted(pending):
                status = await client.calculation(ca_id)
                percent = 100.0 if status.is_calculated else status.calculation_percent_complete
                progress.update(tasks[ca_id], completed=percent)
                if status.is_calculated:
                    pending.discard(ca_id)
            left = deadline - clock()
            if pending and left <= 0:
                raise _timed_out(activated, pending, timeout)
            if pending:
                await sleep(min(interval, left))
    output.info(f"All {len(activated)} activated CA(s) are calculated.")


def _timed_out(activated: dict[int, str], pending: set[int], timeout: float) -> WaitTimeout:
    names = ", ".join(f'"{activated[ca_id]}"' for ca_id in sorted(pending))
    return WaitTimeout(
        f"{len(pending)} of {len(activated)} activated CA(s) were still calculating after "
        f"{timeout:g}s (--wait-timeout): {names}. The apply is complete; mParticle goes on "
        "calculating (its UI shows the progress). Wait longer with a larger --wait-timeout."
    )
