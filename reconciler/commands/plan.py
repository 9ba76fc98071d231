"""`reconciler plan`: fetch the live workspace (one list request), plan, print, save."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from rich.text import Text

from reconciler import workspace
from reconciler.api import transports as target
from reconciler.console import Output
from reconciler.models import LiveCA
from reconciler.plan import planner, render, safety
from reconciler.plan.value import Plan
from reconciler.settings import Flags
from reconciler.workspace import Workspace

Format = Literal["text", "markdown", "json"]


@dataclass(frozen=True, repr=False)
class PlanResult:
    """The plan and the live CAs it was made from.

    No generated repr: asyncio formats a finished task's result, and printing 10,000 live
    CAs took longer than planning them.
    """

    plan: Plan
    live: list[LiveCA]

    def __repr__(self) -> str:
        return f"PlanResult({len(self.plan.actions)} actions, {len(self.live)} live CAs)"


async def make_plan(ws: Workspace, transport: httpx.AsyncBaseTransport | None = None) -> PlanResult:
    """List the workspace once and plan against it. The manifests are known to be sound by
    now; their CAs are read (if not yet) while the API prepares the list."""
    async with target.platform(ws.settings, transport) as client:
        live = await client.list(on_sent=ws.manifests.prepare)
    options = planner.PlanOptions(workspace_id=ws.settings.workspace_id, prune=ws.settings.prune)
    return PlanResult(planner.plan(ws.desired, live, options), live)


def show(plan: Plan, output: Output, fmt: Format) -> None:
    if fmt == "json":
        output.write_raw(plan.to_json().decode())
    elif fmt == "markdown":
        output.write_raw(render.markdown(plan))
    else:
        # One print of the whole plan: rich spends as long on each call as on a line.
        output.print(Text("\n").join(render.text(plan)))


def run(
    directory: Path,
    output: Output,
    *,
    flags: Flags | None = None,
    out: Path | None = None,
    fmt: Format = "text",
    detailed_exitcode: bool = False,
    force: bool = False,
) -> int:
    """0 (2 with --detailed-exitcode when there are changes); errors raise (exit 1)."""
    ws = workspace.load(directory, flags or Flags(), output)
    result = asyncio.run(make_plan(ws))
    show(result.plan, output, fmt)
    if out is not None:
        result.plan.save(out)
        output.info(f"Saved the plan to {out}; apply it with `reconciler apply --plan {out}`.")
    safety.check(result.plan, result.live, force=force)
    return 2 if detailed_exitcode and not result.plan.empty else 0
