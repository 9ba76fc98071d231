"""`reconciler plan`: fetch the live workspace (one list request), plan, print, save.

With `--env all`, every environment: one list request each (a promotion source outside
the run adds one), one section each in text and Markdown, and `{"environments": {...}}`
in JSON. A plan a safety rule refuses is shown but never saved. With `--seeds FILE` the
file is read, validated and counted first (no request), and the plan seeds each CA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler import workspace
from reconciler.console import Output
from reconciler.environments import in_environment
from reconciler.errors import ReconcilerError, SafetyError, printable
from reconciler.files import check_creatable
from reconciler.interrupts import run_async
from reconciler.plan import render, safety
from reconciler.plan.render import Format
from reconciler.plan.seeds import SeedFacts
from reconciler.plan.selection import Chooser
from reconciler.settings import Flags
from reconciler.workspace import Workspace, planning, suites
from reconciler.workspace.planning import Planned


@dataclass(frozen=True)
class PlanCommandOptions:
    """The command's flags (`planner.PlanOptions` is what the planner itself is told)."""

    directory: Path = Path("manifests")
    out: Path | None = None
    fmt: Format = "text"
    detailed_exitcode: bool = False
    force: bool = False
    flags: Flags = field(default_factory=Flags)
    allow: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: `--seeds FILE`: the seed file the plan sends (one environment only).
    seeds: Path | None = None


async def plan_workspaces(
    workspaces: Sequence[Workspace],
    options: planning.Options,
    output: Output,
    seeds: SeedFacts | None = None,
) -> list[Planned]:
    """Plan each workspace: every list request at once, a promotion source's list shared
    with its own plan when it is part of the run; with test files, the value diffs."""
    sources = {ws.environment: workspace.source(ws, output) for ws in workspaces}
    running = {ws.environment for ws in workspaces}
    extra: dict[str | None, Workspace] = {}
    for found in sources.values():
        if found is not None and found.environment not in running:
            extra.setdefault(found.environment, found)
    listed = [*workspaces, *extra.values()]
    lists = await planning.fetch_all(listed)
    live = {ws.environment: found for ws, found in zip(listed, lists, strict=True)}
    planned = []
    for ws in workspaces:
        origin = sources[ws.environment]
        source = planning.source_of(origin, live.get(origin.environment) if origin else None)
        tests = suites.load(ws, output)
        with in_environment(ws.environment if len(workspaces) > 1 else None):
            fetched = live[ws.environment] or []
            result = planning.build(ws, fetched, options, source, tests, seeds)
        for note in result.notes:
            output.warn(note)
        planned.append(result)
    unselected = planning.unselected_note(planned, options.chooser)
    if unselected is not None:
        output.warn(unselected)
    return planned


def check_out(out: Path, every: bool) -> None:
    """Refuse an --out that can only fail before anything is planned: a directory for one
    plan, a place the system refuses, a file for `--env all`'s plans (one file per
    environment)."""
    if not every:
        check_creatable(out, "--out")
    elif out.exists() and not out.is_dir():
        raise ReconcilerError(
            f"--out {out}: with --env all, --out names a directory (one plan file per "
            "environment), and this is a file"
        )


def _save(results: list[Planned], out: Path, every: bool, output: Output) -> None:
    if not every:
        results[0].plan.save(out)
        shown = printable(str(out))
        output.info(f"Saved the plan to {shown}; apply it with `reconciler apply --plan {shown}`.")
        return
    for result in results:
        result.plan.save(out / f"{result.workspace.environment}.json")
    names = ", ".join(f"{r.workspace.environment}.json" for r in results)
    shown = printable(str(out))
    output.info(
        f"Saved the plans to {shown} ({names}); apply each with "
        f"`reconciler apply --plan {shown}/<environment>.json`."
    )


def refusal(results: list[Planned], saving: bool, every: bool = False) -> SafetyError | None:
    """One error for every environment whose plan a rule refuses. With `--env all` no plan
    is saved, not even those of the environments no rule refuses: the note names them."""
    errors = [
        safety.refusal(result.refused, result.workspace.environment)
        for result in results
        if result.refused
    ]
    if not errors:
        return None
    note = " The plan was not saved." if saving else ""
    passed = [f"{r.workspace.environment}'s" for r in results if not r.refused]
    if saving and every:
        note = " No plan was saved."
    if saving and every and passed:
        names = ", ".join(passed[:-1]) + (" and " if len(passed) > 1 else "") + passed[-1]
        note = (
            f" No plan was saved, not even {names}, which no rule refuses: --out saves every "
            "environment's plan or none."
        )
    return SafetyError("\n".join(error.message for error in errors) + note)


def run(options: PlanCommandOptions, output: Output) -> int:
    """0 (2 with --detailed-exitcode when there are changes); errors raise (exit 1)."""
    asked = planning.Options(
        Chooser(options.only, options.exclude),
        tuple(safety.allowed_rules(options.allow, force=options.force)),
    )
    chosen = workspace.load_all(options.directory, options.flags, output)
    if options.out is not None:
        check_out(options.out, chosen.every)
    facts = None
    if options.seeds is not None:
        if chosen.every:
            raise ReconcilerError(
                "--seeds sends a seed file to one workspace: use it with --env NAME, not all"
            )
        # Imported here: the seeding pipeline (and its progress bars) would add to the
        # start-up of every plan without --seeds (docs/performance.md).
        from reconciler.workspace import seeds as seed_files

        facts = seed_files.survey(chosen.workspaces[0], options.seeds, output)
    results = run_async(plan_workspaces(chosen.workspaces, asked, output, facts))
    if chosen.every:
        plans = {str(r.workspace.environment): r.plan for r in results}
        refused_by = {str(r.workspace.environment): r.refused for r in results}
        render.show_all(plans, output, options.fmt, refused_by)
    else:
        render.show(results[0].plan, output, options.fmt, results[0].refused)
    refused = refusal(results, saving=options.out is not None, every=chosen.every)
    if refused is not None:
        raise refused
    if options.out is not None:
        _save(results, options.out, chosen.every, output)
    changed = any(not result.plan.empty for result in results)
    return 2 if options.detailed_exitcode and changed else 0
