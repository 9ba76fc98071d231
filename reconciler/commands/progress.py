"""`apply --wait`: follow the calculation of every activated CA with a progress bar."""

from __future__ import annotations

import asyncio
import os

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from reconciler.api.client import PlatformClient
from reconciler.applier import Report
from reconciler.console import Output

#: Seconds between polls of GET .../calculation (RECONCILER_WAIT_INTERVAL may change it).
POLL_SECONDS = 5.0


async def follow_calculations(
    client: PlatformClient, report: Report, output: Output, poll: float | None = None
) -> None:
    """Poll each activated CA until it is calculated; one bar per CA on stderr."""
    interval = (
        float(os.environ.get("RECONCILER_WAIT_INTERVAL", POLL_SECONDS)) if poll is None else poll
    )
    activated = {
        o.id: o.action.name
        for o in report.outcomes
        if o.action.action == "activate" and o.status == "done" and o.id is not None
    }
    if not activated:
        return
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
            if pending:
                await asyncio.sleep(interval)
    output.info(f"All {len(activated)} activated CA(s) are calculated.")
