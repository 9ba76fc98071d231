"""`reconciler apply`: plan (or load a saved plan), confirm, apply, then check the result.

With `--plan FILE` the saved plan is applied exactly, after checking that nothing it
touches changed since it was made. Afterwards one list request verifies the outcome.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.text import Text

from reconciler import applier, workspace
from reconciler.api import transports as target
from reconciler.api.client import PlatformClient
from reconciler.applier import Outcome, Report
from reconciler.commands import planning
from reconciler.commands import saved as saved_plans
from reconciler.commands.plan import show
from reconciler.commands.progress import WAIT_TIMEOUT, follow_calculations
from reconciler.console import Output
from reconciler.errors import ApplyError, ReconcilerError, StalePlanError, printable
from reconciler.plan import safety
from reconciler.plan.render import VERB, summary_line
from reconciler.plan.selection import Chooser
from reconciler.plan.value import Plan
from reconciler.settings import DEFAULT_DEADLINE, Flags, Settings, SettingsFile

Format = Literal["text", "json"]
MARK = {"done": "✓", "failed": "✗", "not_started": "·"}


def _describe(outcome: Outcome) -> str:
    action = outcome.action
    ca_id = outcome.id if outcome.id is not None else action.id
    where = f" (id {ca_id})" if ca_id is not None else ""
    adopted = " (adopted: it existed after a lost answer)" if outcome.adopted else ""
    return f'{VERB[action.action]} "{printable(action.name)}"{where}{adopted}'


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


async def _finish(plan: Plan, client: PlatformClient, run: _Run) -> Report:
    output, fmt = run.output, run.fmt
    on_step = _step_printer(output) if fmt == "text" else None
    report = await applier.apply(plan, client, concurrency=run.concurrency, on_step=on_step)
    if fmt == "json":
        output.write_raw(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        for line in report_text(report):
            output.print(line)
    return report


def run(
    directory: Path | None,
    output: Output,
    *,
    plan_file: Path | None = None,
    auto_approve: bool = False,
    concurrency: int = 8,
    wait: bool = False,
    force: bool = False,
    fmt: Format = "text",
    flags: Flags | None = None,
    allow: Sequence[str] = (),
    only: Sequence[str] = (),
    exclude: Sequence[str] = (),
    wait_timeout: float = WAIT_TIMEOUT,
) -> int:
    """0 when the workspace matches the plan afterwards, else an error (exit 1). With
    `wait`, then follows the calculations for at most `wait_timeout` seconds."""
    flags = flags or Flags()
    options = planning.Options(
        Chooser(tuple(only), tuple(exclude)), tuple(safety.allowed_rules(allow, force=force))
    )
    job = _Run(output, concurrency, wait_timeout if wait else None, fmt, options)
    if plan_file is not None:
        if options.chooser.active:
            raise ReconcilerError(
                "--only and --exclude choose what a new plan covers; a saved plan applies "
                "exactly its own selection. Make a new plan with them (plan --out FILE)."
            )
        saved = Plan.load(plan_file)
        where = saved_plans.directory_for(saved, directory)
        settings, file = saved_plans.settings_for(saved, where, flags)
        saved_plans.require_workspace(settings)
        return asyncio.run(_apply_saved(saved, settings, file, job))
    ws = workspace.load(directory or saved_plans.DEFAULT_DIRECTORY, flags, output)
    source = workspace.source(ws, output)
    return asyncio.run(_apply_directory(ws, source, auto_approve, job))


@dataclass(frozen=True)
class _Run:
    """How this apply runs: where it reports, how many CAs at once, what it allows."""

    output: Output
    concurrency: int
    #: How long to follow the calculations afterwards (None: not at all).
    wait: float | None
    fmt: Format
    options: planning.Options

    @property
    def deadline(self) -> float:
        """The command's default deadline: `--wait` adds its own timeout to it."""
        return DEFAULT_DEADLINE + (self.wait or 0)


async def _apply_saved(plan: Plan, settings: Settings, file: SettingsFile, run: _Run) -> int:
    output = run.output
    if plan.selection.active:
        output.info(_selection_note(plan))
    async with target.platform(settings, deadline=run.deadline) as client:
        live = await client.list()
        reasons = applier.stale(plan, live)
        if reasons:
            raise StalePlanError(
                "plan is stale: " + "; ".join(reasons) + ". Nothing was sent. Make a new plan."
            )
        gate = await saved_plans.promotion_now(plan, settings, file, output)
        refused = saved_plans.refused(plan, settings, live, gate, list(run.options.allowed))
        if refused:
            raise safety.refusal(refused, settings.environment)
        if plan.empty:
            output.print(Text("No changes in the saved plan."))
            return 0
        report = await _finish(plan, client, run)
        if not report.ok:
            raise ApplyError("apply stopped on a failure; see the report above")
        problems = applier.verify(plan, await client.list())
        if problems:
            raise ApplyError(
                "after applying, the workspace does not match the plan: " + "; ".join(problems)
            )
        if run.wait is not None:
            interval = settings.tuning.wait_interval
            await follow_calculations(client, report, output, interval, timeout=run.wait)
    return 0


def _selection_note(plan: Plan) -> str:
    parts = [f"--only {p}" for p in plan.selection.only]
    parts += [f"--exclude {p}" for p in plan.selection.exclude]
    return f"The saved plan covers only its selection ({' '.join(parts)})."


async def _apply_directory(
    ws: workspace.Workspace, source: workspace.Workspace | None, auto_approve: bool, run: _Run
) -> int:
    output = run.output
    async with target.platform(ws.settings, deadline=run.deadline) as client:
        live, source_live = await asyncio.gather(
            client.list(on_sent=ws.manifests.prepare),
            planning.fetch(source) if source is not None else _nothing(),
        )
        planned = planning.build(ws, live, run.options, planning.source_of(source, source_live))
        plan = planned.plan
        if run.fmt == "text":
            show(plan, output, "text")
        if plan.empty:
            if run.fmt == "json":
                output.write_raw(json.dumps(Report().to_json(), indent=2) + "\n")
            return 0
        if planned.refused:
            raise safety.refusal(planned.refused, ws.environment)
        if not auto_approve:
            if not output.interactive:
                raise ReconcilerError(
                    "refusing to apply without confirmation: there is no terminal to ask. "
                    "Pass --auto-approve (or apply a reviewed plan with --plan FILE)."
                )
            if not await asyncio.to_thread(_confirm, output):
                output.print(Text("Apply cancelled; nothing was sent."))
                return 1
        report = await _finish(plan, client, run)
        if not report.ok:
            raise ApplyError("apply stopped on a failure; see the report above")
        again = planning.build(ws, await client.list(), run.options).plan
        if not again.empty:
            show(again, output, "text")
            raise ApplyError(f"after applying, the plan is not empty: {summary_line(again)}")
        if run.wait is not None:
            interval = ws.settings.tuning.wait_interval
            await follow_calculations(client, report, output, interval, timeout=run.wait)
    return 0


async def _nothing() -> None:
    return None
