"""`apply --wait`: follow the calculation of every activated CA with a progress bar."""

from __future__ import annotations

import asyncio

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from reconciler.api.client import PlatformClient
from reconciler.api.retrying import duration, until
from reconciler.applier import Report
from reconciler.console import Output
from reconciler.errors import DeadlineExceeded


async def follow_calculations(
    client: PlatformClient, report: Report, output: Output, interval: float
) -> None:
    """Poll each activated CA every `interval` seconds (RECONCILER_WAIT_INTERVAL) until it
    is calculated; one bar per CA on stderr."""
    activated = {
        o.id: o.action.name
        for o in report.outcomes
        if o.action.action == "activate" and o.status == "done" and o.id is not None
    }
    if not activated:
        return
    deadline = client.http.deadline
    remaining = deadline.remaining()
    latest = f", until {until(remaining)} at the latest" if remaining is not None else ""
    output.info(
        f"Waiting for {len(activated)} activated CA(s) to be calculated: polling every "
        f"{duration(interval)}{latest} (RECONCILER_DEADLINE)."
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
            if pending and not deadline.allows(interval):
                raise DeadlineExceeded(
                    f"gave up waiting for {len(pending)} CA(s) to be calculated: this "
                    "command's deadline has come (RECONCILER_DEADLINE). They are applied; "
                    "mParticle goes on calculating them."
                )
            if pending:
                await asyncio.sleep(interval)
    output.info(f"All {len(activated)} activated CA(s) are calculated.")
