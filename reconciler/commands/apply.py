"""`reconciler apply`: plan (or load a saved plan), confirm, apply, then check the result.

With `--plan FILE` the saved plan is applied exactly, after checking that nothing it
touches changed since it was made (nor its seed file), and that each action sends what
its changes show (`plan.integrity`: an edited plan file is refused); given DIR, that it is
a plan of the manifests there. With `--seeds FILE` (or a saved
plan made with it) each seeded CA gets its seeds before it is activated
(`workspace.seeds`). Afterwards one list request verifies the outcome; `--wait` then
follows the calculation of every activated CA, for at most `--wait-timeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rich.text import Text

from reconciler import applier, manifest, workspace
from reconciler.api import transports as target
from reconciler.api.client import PlatformClient
from reconciler.console import Heartbeat, Output
from reconciler.errors import (
    ApiError,
    ApplyError,
    ReconcilerError,
    StalePlanError,
    first_few,
    printable,
)
from reconciler.interrupts import Signals, run_async
from reconciler.models import LiveCA
from reconciler.plan import integrity, render, safety
from reconciler.plan.report import ActionOutcome, ApplyReport
from reconciler.plan.report_text import outcome_line, outcome_title, report_text
from reconciler.plan.seeds import SeedFacts
from reconciler.plan.selection import Chooser
from reconciler.plan.value import Plan
from reconciler.seeding.catalogue import Catalogue
from reconciler.seeding.pipeline import DEFAULT_SEED_WAIT
from reconciler.settings import DEFAULT_DEADLINE, Flags, Settings, SettingsFile
from reconciler.workspace import planning, suites
from reconciler.workspace import saved as saved_plans
from reconciler.workspace import seeds as seed_files
from reconciler.workspace.calculations import WAIT_TIMEOUT, follow_calculations

Format = Literal["text", "json"]
#: How long `--seeds` retries seeds for a CA the Seeding API does not know yet (as `seed`).
SEED_WAIT = DEFAULT_SEED_WAIT


def stale_error(reasons: list[str]) -> StalePlanError:
    """The refusal of a saved plan the workspace no longer fits, naming the first reasons."""
    return StalePlanError(
        f"plan is stale: {first_few(reasons, '; ', '; ')}. Nothing was sent. Make a new plan."
    )


@dataclass(frozen=True)
class ApplyOptions:
    """The command's flags. `directory` None: the saved plan's own (with `--plan`), else
    `manifests/`."""

    directory: Path | None = None
    plan_file: Path | None = None
    auto_approve: bool = False
    concurrency: int = 8
    wait: bool = False
    wait_timeout: float = WAIT_TIMEOUT
    force: bool = False
    fmt: Format = "text"
    flags: Flags = field(default_factory=Flags)
    allow: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: `--seeds FILE` and `--seed-wait`: seed each CA before activating it.
    seeds: Path | None = None
    seed_wait: float = SEED_WAIT

    def deadline(self, seeding: bool) -> float | None:
        """The command's default deadline: `--wait` adds its own timeout to it; when it
        seeds (`--seeds`, or a saved plan made with them) there is none (as for `seed`: a
        large file takes as long as its rate says), unless RECONCILER_DEADLINE sets one."""
        if seeding:
            return None
        return DEFAULT_DEADLINE + (self.wait_timeout if self.wait else 0)

    def planning(self) -> planning.Options:
        """What the user asked of the plan: its selection and the rules allowed."""
        allowed = safety.allowed_rules(self.allow, force=self.force)
        return planning.Options(Chooser(self.only, self.exclude), tuple(allowed))


#: Why an apply may not converge, and what to do: another apply at the same time (CI jobs,
#: a teammate) wins the last write of a CA both change; nothing locks a workspace.
CHANGED_MEANWHILE = (
    "Another run or a user may have changed the workspace during this apply (or the API "
    "stored something other than what was sent): run `reconciler plan` to see the "
    "difference, then apply again"
)


def run(options: ApplyOptions, output: Output) -> int:
    """0 when the workspace matches the plan afterwards, else an error (exit 1)."""
    asked = options.planning()
    if options.plan_file is not None:
        if asked.chooser.active or options.seeds is not None:
            raise ReconcilerError(
                "--only, --exclude and --seeds choose what a new plan covers; a saved plan "
                "applies exactly its own selection and seed file. Make a new plan with them "
                "(plan --out FILE)."
            )
        saved = Plan.load(options.plan_file)
        problems = integrity.offline(saved)
        if problems:
            raise integrity.refusal(problems)
        where = saved_plans.directory_for(saved, options.directory)
        settings, file = saved_plans.settings_for(saved, where, options.flags)
        recorded = saved.target is not None and saved.target.directory is not None
        saved_plans.require_workspace(settings, guessed=not recorded and not options.directory)
        # Read before the loop: waiting there for an export writing the folder (30 s at
        # most) blocked it, and Ctrl-C or SIGTERM did nothing until the wait was over.
        read = options.directory is not None or (saved.seeds is not None and not saved.empty)
        manifests = manifest.load(settings.directory) if read else None
        return run_async(_apply_saved(saved, settings, file, manifests, options, output))
    directory = options.directory or saved_plans.DEFAULT_DIRECTORY
    ws = workspace.load(directory, options.flags, output)
    source = workspace.source(ws, output)
    facts = seed_files.survey(ws, options.seeds, output) if options.seeds is not None else None
    return run_async(_apply_directory(ws, source, options, output, facts))


async def _apply_saved(
    plan: Plan,
    settings: Settings,
    file: SettingsFile,
    manifests: manifest.Manifests | None,
    options: ApplyOptions,
    output: Output,
) -> int:
    """`manifests`: DIR's, when DIR was given (the plan must be one of them) or the plan
    seeds (their seed shapes must be unchanged)."""
    if plan.selection.active:
        output.info(_selection_note(plan))
    deadline = options.deadline(seeding=plan.seeds is not None)
    async with target.platform(settings, deadline=deadline) as client:
        live = await client.list()
        reasons = applier.stale(plan, live)
        if reasons:
            raise stale_error(reasons)
        problems = integrity.against_live(plan, live)
        if problems:
            raise integrity.refusal(problems)
        if options.directory is not None and manifests is not None:
            saved_plans.made_from(plan, settings, manifests, live)
        gate = await saved_plans.promotion_now(plan, settings, file, output)
        allowed = list(options.planning().allowed)
        refused = saved_plans.refused(plan, settings, live, gate, allowed)
        if refused:
            raise safety.refusal(refused, settings.environment)
        if plan.empty:
            if options.fmt == "json":  # stdout holds the report, as for an empty new plan
                _write_report(ApplyReport(), output)
            else:
                output.print(
                    Text(f"No changes in the saved plan for {render.workspace_words(plan)}.")
                )
            return 0
        seeder = _saved_seeder(plan, settings, manifests, output, options, client)
        report = await _run_plan(plan, client, output, options, seeder)
        problems = applier.verify(plan, await _read_back(client))
        if problems:
            raise ApplyError(
                "after applying, the workspace does not match the plan: "
                + "; ".join(problems)
                + f". {CHANGED_MEANWHILE}"
            )
        if options.wait:
            await _follow(client, report, output, options, settings)
    return 0


async def _follow(
    client: PlatformClient,
    report: ApplyReport,
    output: Output,
    options: ApplyOptions,
    settings: Settings,
) -> None:
    """`--wait`, within what is left of the command's deadline."""
    await follow_calculations(
        client,
        report,
        output,
        settings.tuning.wait_interval,
        timeout=options.wait_timeout,
        concurrency=options.concurrency,
        deadline_left=client.http.deadline.remaining(),
        deadline_set=settings.tuning.deadline is not None,
    )


def _saved_seeder(
    plan: Plan,
    settings: Settings,
    manifests: manifest.Manifests | None,
    output: Output,
    options: ApplyOptions,
    client: PlatformClient,
) -> seed_files.SeedGroups | None:
    """The seeder of a saved plan made with `--seeds`, once its file and the manifests'
    seed shapes are checked unchanged (else nothing is sent)."""
    if plan.seeds is None or manifests is None:
        return None
    catalogue = Catalogue.from_manifests(manifests, settings.environment)
    seed_files.unchanged_source(plan, catalogue)
    return _seeder(plan, settings, catalogue, output, options, client)


def _seeder(
    plan: Plan,
    settings: Settings,
    catalogue: Catalogue,
    output: Output,
    options: ApplyOptions,
    client: PlatformClient,
) -> seed_files.SeedGroups | None:
    """The seeder of a plan with seeds; it counts down the apply's deadline when
    RECONCILER_DEADLINE set one ("a deadline you set applies to every command")."""
    if plan.seeds is None or not any(a.action == "seed" for a in plan.actions):
        return None
    settings.require_seeding_credentials()
    shared = client.http.deadline if settings.tuning.deadline is not None else None
    return seed_files.SeedGroups(settings, catalogue, plan.seeds, output, options.seed_wait, shared)


def _selection_note(plan: Plan) -> str:
    parts = [f"--only {p}" for p in plan.selection.only]
    parts += [f"--exclude {p}" for p in plan.selection.exclude]
    return f"The saved plan covers only its selection ({' '.join(parts)})."


async def _apply_directory(
    ws: workspace.Workspace,
    source: workspace.Workspace | None,
    options: ApplyOptions,
    output: Output,
    seeds: SeedFacts | None = None,
) -> int:
    asked = options.planning()
    tests = suites.load(ws, output)
    deadline = options.deadline(seeding=options.seeds is not None)
    async with target.platform(ws.settings, deadline=deadline) as client:
        live, source_live = await asyncio.gather(
            client.list(), planning.fetch(source) if source is not None else _nothing()
        )
        origin = planning.source_of(source, source_live)
        planned = planning.build(ws, live, asked, origin, tests, seeds)
        for note in [*planned.notes, planning.unselected_note([planned], asked.chooser)]:
            if note is not None:
                output.warn(note)
        plan = planned.plan
        # The JSON report replaces the text one, never the plan a person is asked to approve.
        if options.fmt == "text" or (not options.auto_approve and output.interactive):
            render.show(plan, output, "text")
        # The rules first, as `plan` checks them: both commands refuse the same plans.
        if planned.refused:
            raise safety.refusal(planned.refused, ws.environment)
        if plan.empty:
            if options.fmt == "json":
                _write_report(ApplyReport(), output)
            return 0
        seeder = _seeder(plan, ws.settings, seed_files.catalogue_of(ws), output, options, client)
        if not options.auto_approve:
            if not await _approved(output):
                output.print(Text("Apply cancelled; nothing was sent."))
                return 1
            # The deadline bounds what the command sends and waits for, not how long a
            # person reads the plan: answered after it, every request would be refused.
            client.http.deadline.restart()
        report = await _run_plan(plan, client, output, options, seeder)
        again = planning.build(ws, await _read_back(client), asked).plan
        if not again.empty:
            if options.fmt == "text":  # with --format json, stdout holds the report only
                render.show(again, output, "text")
            raise ApplyError(
                f"after applying, the plan is not empty: {render.summary_line(again)} "
                + CHANGED_MEANWHILE
            )
        if options.wait:
            await _follow(client, report, output, options, ws.settings)
    return 0


async def _nothing() -> None:
    return None


async def _read_back(client: PlatformClient) -> list[LiveCA]:
    """The workspace after every step is done, to check it. When it cannot be read, the
    error says that the steps were done and only the check failed: after "Apply complete",
    a bare error naming a GET left it unclear whether anything had been applied."""
    try:
        return await client.list(purpose="read the workspace back to check the apply")
    except ApiError as exc:
        raise ApplyError(
            f"every step is done, but reading the workspace back to check it failed: "
            f"{exc.message}. Run `reconciler plan` to check that nothing is left to do."
        ) from None


async def _approved(output: Output) -> bool:
    """Ask on the terminal; without one, refuse (a pipeline must say --auto-approve)."""
    if not output.interactive:
        raise ReconcilerError(
            "refusing to apply without confirmation: there is no terminal to ask. "
            "Pass --auto-approve (or apply a reviewed plan with --plan FILE)."
        )
    return await _asked(output)


async def _asked(output: Output) -> bool:
    """`_confirm` in a daemon thread: Ctrl-C (or SIGTERM) at the prompt ends the command at
    once. A worker of asyncio.to_thread, still blocked reading the terminal, held the exit
    until the person pressed Enter."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[bool] = loop.create_future()

    def settle(outcome: bool | Exception) -> None:
        if answer.done():  # cancelled: the command is stopping
            return
        if isinstance(outcome, Exception):
            answer.set_exception(outcome)
        else:
            answer.set_result(outcome)

    def ask() -> None:
        try:
            outcome: bool | Exception = _confirm(output)
        except Exception as exc:
            outcome = exc
        # A closed loop (RuntimeError): nobody waits for the answer any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=ask, name="confirmation", daemon=True).start()
    return await answer


def _confirm(output: Output) -> bool:
    output.out.print(Text("Apply these actions? Only 'yes' is accepted: ", style="bold"), end="")
    try:
        return input().strip() == "yes"
    except EOFError:
        return False


class Interrupted(ReconcilerError):
    """The apply stopped on Ctrl-C or SIGTERM, after its report (seeding: the batches in
    flight were recorded)."""

    exit_code = 130


async def _run_plan(
    plan: Plan,
    client: PlatformClient,
    output: Output,
    options: ApplyOptions,
    seeder: applier.Seeder | None = None,
) -> ApplyReport:
    """Apply the plan, print each step (text) and the report; raise if it stopped."""
    on_step = (
        _step_printer(output)
        if options.fmt == "text"
        else _step_counter(output, len(plan.actions), Heartbeat())
    )
    report = await applier.apply(
        plan, client, concurrency=options.concurrency, on_step=on_step, seeder=seeder
    )
    if options.fmt == "json":
        _write_report(report, output)
    else:
        for line in report_text(report):
            output.print(line)
    if report.interrupted:
        # As every other command's stop says it: in a CI log, SIGTERM is the runner
        # cancelling the job (or its time-out), not someone's Ctrl-C.
        by = " by SIGTERM" if Signals.terminated else ""
        raise Interrupted(f"interrupted{by}; {_continuing(report, options, plan)}")
    if not report.ok:
        raise failure_error(report, options.fmt)
    return report


def _continuing(report: ApplyReport, options: ApplyOptions, plan: Plan) -> str:
    """How to continue an interrupted apply. A saved plan partly applied is stale: run
    again, it was refused ("plan is stale: "A" now exists"), where the advice had been to
    re-run the same command."""
    touched = report.count("done") or report.count("failed")
    if options.plan_file is None or not touched:
        return "re-run the same command to continue"
    seeds = " with the same --seeds" if plan.seeds is not None else ""
    return (
        f"{printable(str(options.plan_file))} is now partly applied, and stale: to continue, "
        f"make a new plan (`reconciler plan --out FILE`{seeds}) and apply that, or run "
        f"`reconciler apply`{seeds} on the manifests"
    )


def _write_report(report: ApplyReport, output: Output) -> None:
    """The JSON report (`--format json`), the only thing on stdout."""
    output.write_raw(json.dumps(report.to_json(), indent=2) + "\n")


def failure_error(report: ApplyReport, fmt: Format = "text") -> ApplyError:
    """The last word of a failed apply names what failed: in the report of thousands of
    steps above it, the failed ones would sit among the rest. With text output, why each
    failed was printed as it ended and again in the report, beside how far its CA got: a
    third time here made one refused connection a screenful. With JSON, stdout holds the
    report alone, so this paragraph on stderr says why as well."""
    failed = [outcome for outcome in report.outcomes if outcome.status == "failed"]
    if not failed:  # stopped before any step failed: the report says what was not started
        return ApplyError("apply stopped; the report above says what was not started")
    steps = "1 step" if len(failed) == 1 else f"{len(failed)} steps"
    if fmt == "text":
        named = [outcome_title(outcome) for outcome in failed]
        return ApplyError(
            f"apply stopped: {steps} failed: {first_few(named, ', ', ', ')}. "
            "The report above says why each failed and how far its CA got."
        )
    said = [
        f"{outcome_title(outcome)}: {printable(outcome.message).rstrip('.')}" for outcome in failed
    ]
    return ApplyError(
        f"apply stopped: {steps} failed: {first_few(said, '; ', '; ')}. "
        "The JSON report on stdout lists every failed step and how far its CA got."
    )


def _step_printer(output: Output) -> Callable[[ActionOutcome], None]:
    """Each step as it ends, on stdout after the plan: the plan, its steps and the report
    read as one transcript (a CI log, `apply ... > apply.log`)."""

    def printed(outcome: ActionOutcome) -> None:
        output.print(outcome_line(outcome))

    return printed


def _step_counter(
    output: Output, steps: int, heartbeat: Heartbeat
) -> Callable[[ActionOutcome], None]:
    """With `--format json`, where stdout is the report alone: how many steps ended, on
    stderr, a line a minute at most, so that a long apply is seen to move in a CI log; and
    as a warning, a create that dropped fields the models do not know of the CA it adopted
    (which the text output says on the step's own line)."""
    ended = 0

    def counted(outcome: ActionOutcome) -> None:
        nonlocal ended
        ended += 1
        if outcome.dropped:
            output.warn(outcome_title(outcome))
        if ended < steps and heartbeat.due():
            output.info(f"applying: {ended:,} of {steps:,} steps ended")

    return counted
