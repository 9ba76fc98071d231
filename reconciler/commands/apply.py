"""`reconciler apply`: plan (or load a saved plan), confirm, apply, then check the result.

With `--plan FILE` the saved plan is applied exactly, after checking that nothing it
touches changed since it was made. Afterwards one list request verifies the outcome.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from rich.text import Text

from reconciler import applier, manifest, workspace
from reconciler.api import transports as target
from reconciler.api.client import PlatformClient
from reconciler.applier import Outcome, Report
from reconciler.commands.plan import show
from reconciler.commands.progress import WAIT_TIMEOUT, follow_calculations
from reconciler.console import Output
from reconciler.errors import ApplyError, ReconcilerError, StalePlanError
from reconciler.plan import planner, safety
from reconciler.plan.render import VERB, summary_line
from reconciler.plan.value import Plan
from reconciler.settings import Flags, Settings, SettingsFile, resolve

Format = Literal["text", "json"]
MARK = {"done": "✓", "failed": "✗", "not_started": "·"}


def _describe(outcome: Outcome) -> str:
    action = outcome.action
    ca_id = outcome.id if outcome.id is not None else action.id
    where = f" (id {ca_id})" if ca_id is not None else ""
    adopted = " (adopted: it existed after a lost answer)" if outcome.adopted else ""
    return f'{VERB[action.action]} "{action.name}"{where}{adopted}'


def _step_printer(output: Output) -> Callable[[Outcome], None]:
    def printed(outcome: Outcome) -> None:
        style = "green" if outcome.status == "done" else "red"
        line = Text(f"{MARK[outcome.status]} {_describe(outcome)}", style=style)
        if outcome.message:
            line += Text(f": {outcome.message}")
        output.err.print(line)

    return printed


def report_text(report: Report) -> list[Text]:
    done, failed, waiting = (report.count(s) for s in ("done", "failed", "not_started"))
    if report.ok:
        return [Text(f"Apply complete: {done} done.", style="bold green")]
    lines = [
        Text(
            f"Apply stopped: {done} done, {failed} failed, {waiting} not started.", style="bold red"
        )
    ]
    for outcome in report.outcomes:
        text = f"  {MARK[outcome.status]} {outcome.status.replace('_', ' ')}: {_describe(outcome)}"
        lines.append(Text(text + (f": {outcome.message}" if outcome.message else "")))
    lines.append(
        Text("Nothing was rolled back. Re-run `reconciler apply` to continue from the live state.")
    )
    return lines


def _confirm(output: Output) -> bool:
    output.out.print(Text("Apply these actions? Only 'yes' is accepted: ", style="bold"), end="")
    try:
        return input().strip() == "yes"
    except EOFError:
        return False


async def _finish(
    plan: Plan,
    client: PlatformClient,
    output: Output,
    *,
    concurrency: int,
    fmt: Format,
) -> Report:
    on_step = _step_printer(output) if fmt == "text" else None
    report = await applier.apply(plan, client, concurrency=concurrency, on_step=on_step)
    if fmt == "json":
        output.write_raw(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        for line in report_text(report):
            output.print(line)
    return report


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


def run(
    directory: Path,
    output: Output,
    *,
    plan_file: Path | None = None,
    auto_approve: bool = False,
    concurrency: int = 8,
    wait: bool = False,
    force: bool = False,
    fmt: Format = "text",
    flags: Flags | None = None,
    wait_timeout: float = WAIT_TIMEOUT,
) -> int:
    """0 when the workspace matches the plan afterwards, else an error (exit 1). With
    `wait`, then follows the calculations for at most `wait_timeout` seconds."""
    flags = flags or Flags()
    waiting = wait_timeout if wait else None
    if plan_file is not None:
        saved = Plan.load(plan_file)
        settings = _settings_for_saved_plan(directory, saved, flags)
        return asyncio.run(_apply_saved(saved, settings, output, concurrency, waiting, force, fmt))
    ws = workspace.load(directory, flags, output)
    return asyncio.run(_apply_directory(ws, output, auto_approve, concurrency, waiting, force, fmt))


async def _apply_saved(
    plan: Plan,
    settings: Settings,
    output: Output,
    concurrency: int,
    wait: float | None,
    force: bool,
    fmt: Format,
) -> int:
    async with target.platform(settings) as client:
        live = await client.list()
        reasons = applier.stale(plan, live)
        if reasons:
            raise StalePlanError(
                "plan is stale: " + "; ".join(reasons) + ". Nothing was sent. Make a new plan."
            )
        safety.check(plan, live, force=force)
        if plan.empty:
            output.print(Text("No changes in the saved plan."))
            return 0
        report = await _finish(plan, client, output, concurrency=concurrency, fmt=fmt)
        if not report.ok:
            raise ApplyError("apply stopped on a failure; see the report above")
        problems = applier.verify(plan, await client.list())
        if problems:
            raise ApplyError(
                "after applying, the workspace does not match the plan: " + "; ".join(problems)
            )
        if wait is not None:
            await follow_calculations(client, report, output, timeout=wait)
    return 0


async def _apply_directory(
    ws: workspace.Workspace,
    output: Output,
    auto_approve: bool,
    concurrency: int,
    wait: float | None,
    force: bool,
    fmt: Format,
) -> int:
    options = planner.PlanOptions(workspace_id=ws.settings.workspace_id, prune=ws.settings.prune)
    async with target.platform(ws.settings) as client:
        live = await client.list(on_sent=ws.manifests.prepare)
        plan = planner.plan(ws.desired, live, options)
        if fmt == "text":
            show(plan, output, "text")
        if plan.empty:
            if fmt == "json":
                output.write_raw(json.dumps(Report().to_json(), indent=2) + "\n")
            return 0
        safety.check(plan, live, force=force)
        if not auto_approve:
            if not output.interactive:
                raise ReconcilerError(
                    "refusing to apply without confirmation: there is no terminal to ask. "
                    "Pass --auto-approve (or apply a reviewed plan with --plan FILE)."
                )
            if not await asyncio.to_thread(_confirm, output):
                output.print(Text("Apply cancelled; nothing was sent."))
                return 1
        report = await _finish(plan, client, output, concurrency=concurrency, fmt=fmt)
        if not report.ok:
            raise ApplyError("apply stopped on a failure; see the report above")
        again = planner.plan(ws.desired, await client.list(), options)
        if not again.empty:
            show(again, output, "text")
            raise ApplyError(f"after applying, the plan is not empty: {summary_line(again)}")
        if wait is not None:
            await follow_calculations(client, report, output, timeout=wait)
    return 0
