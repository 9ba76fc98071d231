"""`reconciler apply`: plan (or load a saved plan), confirm, apply, then check the result.

With `--plan FILE` the saved plan is applied exactly, after checking that nothing it
touches changed since it was made. Afterwards one list request verifies the outcome;
`--wait` then follows the calculation of every activated CA.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rich.text import Text

from reconciler import applier, manifest, workspace
from reconciler.api import transports as target
from reconciler.api.client import PlatformClient
from reconciler.console import Output
from reconciler.errors import ApplyError, ReconcilerError, StalePlanError
from reconciler.plan import planner, render, safety
from reconciler.plan.report import ActionOutcome, ApplyReport
from reconciler.plan.value import Plan
from reconciler.settings import Flags, Settings, SettingsFile, resolve

Format = Literal["text", "json"]
#: Seconds between polls of GET .../calculation (RECONCILER_WAIT_INTERVAL may change it).
POLL_SECONDS = 5.0


@dataclass(frozen=True)
class ApplyOptions:
    """The command's flags."""

    directory: Path = Path("manifests")
    plan_file: Path | None = None
    auto_approve: bool = False
    concurrency: int = 8
    wait: bool = False
    force: bool = False
    fmt: Format = "text"
    flags: Flags = field(default_factory=Flags)


def run(options: ApplyOptions, output: Output) -> int:
    """0 when the workspace matches the plan afterwards, else an error (exit 1)."""
    if options.plan_file is not None:
        saved = Plan.load(options.plan_file)
        settings = _settings_for_saved_plan(options.directory, saved, options.flags)
        return asyncio.run(_apply_saved(saved, settings, output, options))
    ws = workspace.load(options.directory, options.flags, output)
    return asyncio.run(_apply_directory(ws, output, options))


def _settings_for_saved_plan(directory: Path, plan: Plan, flags: Flags) -> Settings:
    """Settings for `--plan`: reconciler.yaml when the directory has one, plus env and flags."""
    file = SettingsFile()
    if (directory / manifest.SETTINGS_FILE).is_file():
        file = manifest.load_settings(directory)
    with_plan = Flags(
        workspace_id=flags.workspace_id or plan.workspace_id,
        target=flags.target,
        prune=flags.prune,
        api_url=flags.api_url,
    )
    settings = resolve(directory, file, with_plan)
    if settings.workspace_id != plan.workspace_id:
        raise ReconcilerError(
            f"the plan is for workspace {plan.workspace_id}, but the settings name workspace "
            f"{settings.workspace_id}"
        )
    return settings


async def _apply_saved(
    plan: Plan, settings: Settings, output: Output, options: ApplyOptions
) -> int:
    async with target.platform(settings) as client:
        live = await client.list()
        reasons = applier.stale(plan, live)
        if reasons:
            raise StalePlanError(
                "plan is stale: " + "; ".join(reasons) + ". Nothing was sent. Make a new plan."
            )
        safety.check(plan, live, force=options.force)
        if plan.empty:
            output.print(Text("No changes in the saved plan."))
            return 0
        report = await _run_plan(plan, client, output, options)
        problems = applier.verify(plan, await client.list())
        if problems:
            raise ApplyError(
                "after applying, the workspace does not match the plan: " + "; ".join(problems)
            )
        if options.wait:
            await follow_calculations(client, report, output)
    return 0


async def _apply_directory(ws: workspace.Workspace, output: Output, options: ApplyOptions) -> int:
    planned = planner.PlanOptions(workspace_id=ws.settings.workspace_id, prune=ws.settings.prune)
    async with target.platform(ws.settings) as client:
        live = await client.list()
        plan = planner.plan(ws.desired, live, planned)
        if options.fmt == "text":
            render.show(plan, output, "text")
        if plan.empty:
            if options.fmt == "json":
                output.write_raw(json.dumps(ApplyReport().to_json(), indent=2) + "\n")
            return 0
        safety.check(plan, live, force=options.force)
        if not options.auto_approve and not await _approved(output):
            output.print(Text("Apply cancelled; nothing was sent."))
            return 1
        report = await _run_plan(plan, client, output, options)
        again = planner.plan(ws.desired, await client.list(), planned)
        if not again.empty:
            render.show(again, output, "text")
            raise ApplyError(f"after applying, the plan is not empty: {render.summary_line(again)}")
        if options.wait:
            await follow_calculations(client, report, output)
    return 0


async def _approved(output: Output) -> bool:
    """Ask on the terminal; without one, refuse (a pipeline must say --auto-approve)."""
    if not output.interactive:
        raise ReconcilerError(
            "refusing to apply without confirmation: there is no terminal to ask. "
            "Pass --auto-approve (or apply a reviewed plan with --plan FILE)."
        )
    return await asyncio.to_thread(_confirm, output)


def _confirm(output: Output) -> bool:
    output.out.print(Text("Apply these actions? Only 'yes' is accepted: ", style="bold"), end="")
    try:
        return input().strip() == "yes"
    except EOFError:
        return False


async def _run_plan(
    plan: Plan, client: PlatformClient, output: Output, options: ApplyOptions
) -> ApplyReport:
    """Apply the plan, print each step (text) and the report; raise if it stopped."""
    on_step = _step_printer(output) if options.fmt == "text" else None
    report = await applier.apply(plan, client, concurrency=options.concurrency, on_step=on_step)
    if options.fmt == "json":
        output.write_raw(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        for line in render.report_text(report):
            output.print(line)
    if not report.ok:
        raise ApplyError("apply stopped on a failure; see the report above")
    return report


def _step_printer(output: Output) -> Callable[[ActionOutcome], None]:
    def printed(outcome: ActionOutcome) -> None:
        output.err.print(render.outcome_line(outcome))

    return printed


async def follow_calculations(
    client: PlatformClient, report: ApplyReport, output: Output, poll: float | None = None
) -> None:
    """`--wait`: poll each activated CA until it is calculated; one bar per CA on stderr."""
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

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
