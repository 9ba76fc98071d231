"""`reconciler plan`: fetch the live workspace (one list request), plan, print, save."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reconciler import workspace
from reconciler.api import transports as target
from reconciler.console import Output
from reconciler.models import LiveCA
from reconciler.plan import planner, render, safety
from reconciler.plan.render import Format
from reconciler.plan.value import Plan
from reconciler.settings import Flags
from reconciler.workspace import Workspace


@dataclass(frozen=True)
class PlanCommandOptions:
    """The command's flags (`planner.PlanOptions` is what the planner itself is told)."""

    directory: Path = Path("manifests")
    out: Path | None = None
    fmt: Format = "text"
    detailed_exitcode: bool = False
    force: bool = False
    flags: Flags = field(default_factory=Flags)


@dataclass(frozen=True, repr=False)
class PlanResult:
    """The plan and the live CAs it was made from.

    No generated repr: asyncio formats a finished task's result, and printing every live
    CA of a large workspace takes longer than planning them (docs/performance.md).
    """

    plan: Plan
    live: list[LiveCA]

    def __repr__(self) -> str:
        return f"PlanResult({len(self.plan.actions)} actions, {len(self.live)} live CAs)"


async def make_plan(ws: Workspace, transport: httpx.AsyncBaseTransport | None = None) -> PlanResult:
    """List the workspace once and plan against it."""
    async with target.platform(ws.settings, transport) as client:
        live = await client.list()
    options = planner.PlanOptions(workspace_id=ws.settings.workspace_id, prune=ws.settings.prune)
    return PlanResult(planner.plan(ws.desired, live, options), live)


def run(options: PlanCommandOptions, output: Output) -> int:
    """0 (2 with --detailed-exitcode when there are changes); errors raise (exit 1)."""
    ws = workspace.load(options.directory, options.flags, output)
    result = asyncio.run(make_plan(ws))
    render.show(result.plan, output, options.fmt)
    if options.out is not None:
        result.plan.save(options.out)
        output.info(
            f"Saved the plan to {options.out}; apply it with "
            f"`reconciler apply --plan {options.out}`."
        )
    safety.check(result.plan, result.live, force=options.force)
    return 2 if options.detailed_exitcode and not result.plan.empty else 0
