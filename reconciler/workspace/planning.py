"""Planning one environment, as `plan` and `apply` share it: list its workspace (and the
workspace it promotes from, concurrently), then scope, select, plan, gate and check, and
add the test users' value diffs.

The I/O is the list requests; everything after them is the pure planning steps of
`reconciler.plan`, run in order: scope and selection filter the planner's inputs, the
promotion gate, the safety rules and the value diffs (given loaded test files) read its
output. What the manifests must change to let a plan through (a refusal's field, a CA the
promotion source's own manifests hold back) is placed at the line that writes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from reconciler.api import transports as target
from reconciler.environments import in_environment
from reconciler.errors import Blocker, Issue, PlanError
from reconciler.manifest.desired import DesiredCA
from reconciler.manifest.entries import Entries, field_issue
from reconciler.models import DeclaredCA, LiveCA
from reconciler.plan import planner, promotion, safety, selection
from reconciler.plan.budget import Budget, count_active
from reconciler.plan.seeds import SeedFacts, with_seeds
from reconciler.plan.selection import Chooser
from reconciler.plan.value import Plan, Promotion, Selection, Target, Violation, Written
from reconciler.settings import Settings
from reconciler.workspace.loading import Workspace

if TYPE_CHECKING:
    from reconciler.testfiles import Suite


@dataclass(frozen=True)
class Options:
    """What the user asked of a plan: a selection, and safety rules to allow."""

    chooser: Chooser = field(default_factory=Chooser)
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """The environment a plan promotes from: its CAs as its manifests want them, and live."""

    name: str
    desired: dict[str, DeclaredCA]
    live: Sequence[LiveCA]


@dataclass(frozen=True, repr=False)
class Planned:
    """A checked plan, the in-scope live CAs it was made from, the rules it breaks that
    were not allowed (it must not be saved or applied while there are any), and notes
    about value diffs left out (to show as warnings).

    No generated repr: asyncio formats a finished task's result, and printing 10,000 live
    CAs took longer than planning them."""

    workspace: Workspace
    plan: Plan
    live: list[LiveCA]
    refused: list[Violation]
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Planned({len(self.plan.actions)} actions, {len(self.live)} live CAs)"


def target_of(settings: Settings) -> Target:
    """Where a saved plan's workspace is, so `apply --plan` reaches the same one."""
    directory = str(settings.directory.resolve())
    if settings.target == "embedded":
        return Target(
            kind="embedded", database=str(settings.emulator_db.resolve()), directory=directory
        )
    return Target(kind="mparticle", api_url=settings.api_url, directory=directory)


def source_of(ws: Workspace | None, live: Sequence[LiveCA] | None) -> Source | None:
    if ws is None or ws.environment is None or live is None:
        return None
    return Source(ws.environment, {ca.name: ca for ca in ws.desired}, live)


def build(
    ws: Workspace,
    live: Sequence[LiveCA],
    options: Options,
    source: Source | None = None,
    suites: Sequence[Suite] | None = None,
    seeds: SeedFacts | None = None,
) -> Planned:
    """Plan `ws` against its live CAs: pure (raises PlanError on a blocked rule), but for
    reading again the manifest entries a refusal or the promotion gate points at. With the
    workspace's test files (`suites`), each created or changed CA gets its value diffs;
    with `seeds` (the seed file of `--seeds`), each CA the file seeds its seed action."""
    settings = ws.settings
    scoped = selection.in_scope(live, settings.scope)
    chosen = selection.select(ws.desired, scoped, options.chooser)
    try:
        plan = planner.plan(
            chosen.desired,
            chosen.live,
            planner.PlanOptions(
                workspace_id=settings.workspace_id, prune=settings.prune, drafts=settings.drafts
            ),
        )
        if seeds is not None:
            plan = with_seeds(plan, chosen.live, seeds, [ca.name for ca in chosen.desired])
    except PlanError as exc:
        raise placed(exc, ws) from None
    update: dict[str, object] = {
        "environment": settings.environment,
        "target": target_of(settings),
        "selection": Selection(
            only=list(options.chooser.only),
            exclude=list(options.chooser.exclude),
            not_selected=chosen.not_selected,
        ),
        "allowed": list(options.allowed),
    }
    if source is not None:
        gate = promotion.gate(plan, source.name, source.desired, source.live)
        update["promotion"] = held_by(gate, ws)
    plan = plan.model_copy(update=update)
    budget = budget_of(settings, live)
    plan = with_budget(plan, budget, live)
    found = safety.violations(plan, scoped, settings.safety, budget)
    allowed = set(options.allowed)
    plan = plan.model_copy(update={"overridden": [v for v in found if v.rule in allowed]})
    notes: list[str] = []
    if suites:  # the evaluator is loaded only for a workspace with test files
        from reconciler.plan import values

        plan, notes = values.with_values(plan, scoped, ws.desired, suites)
    refused = [v for v in found if v.rule not in allowed]
    return Planned(ws, plan, scoped, refused, tuple(notes))


def placed(error: PlanError, ws: Workspace) -> PlanError:
    """`error` with each reason a manifest entry can fix at the line that writes the
    field to fix (in the environment's override when that writes it). Only the CAs the
    error names are looked up, and only their files read again."""
    named = {b.name for b in error.blockers if isinstance(b, Blocker) and b.field}
    declared: dict[str, DesiredCA] = {}
    for desired in ws.manifests.cas if named else ():
        written = desired.in_environment(ws.environment)
        if written is not None and written.name in named:
            declared.setdefault(written.name, written)

    def place(blocker: Blocker) -> Issue | None:
        desired = declared.get(blocker.name) if blocker.name is not None else None
        if desired is None:
            return None
        return field_issue(desired, ws.environment, blocker.field, blocker.message)

    return error.placed(place)


def held_by(gate: Promotion, ws: Workspace) -> Promotion:
    """`gate` with each CA its source's own manifests hold back placed at the field that
    does it: the `environments:` of its entry, or the `active: false` the source resolves
    (in the source's override when that writes it). Only when there are such CAs are
    their files read again, each file once."""
    holding = {
        check.name: held
        for check in gate.checks
        if (held := promotion.holding(check, gate.source)) is not None
    }
    if not holding:
        return gate
    entries = Entries()
    places: dict[str, Written] = {}
    for desired in ws.manifests.cas:
        held = holding.get(desired.name)
        if held is None or desired.name in places:
            continue
        field, environment = held
        # The entry as the environment that writes the field has it: the source for its
        # `active`, this one (where the CA is declared) for `environments`.
        view = desired.in_environment(environment or ws.environment)
        if view is None:
            continue
        found = field_issue(view, environment, (field,), "", entries)
        places[desired.name] = Written(
            file=found.file, line=found.line, column=found.column, field=found.path
        )
    return promotion.held_by(gate, places)


def unselected_note(results: Sequence[Planned], chooser: Chooser) -> str | None:
    """A warning for the `--only`/`--exclude` globs that match no CA, in the manifests or
    the workspace (in scope), of any environment planned."""
    names = [ca.name for result in results for ca in result.workspace.desired]
    names += [ca.name for result in results for ca in result.live]
    if any(result.workspace.settings.scope is not None for result in results):
        # A glob naming a live CA outside the scope must not read as a typo of a name
        # the workspace does not hold: the scope hides that CA from every plan.
        return selection.unmatched_note(
            chooser,
            names,
            "in the manifests or the workspace's scope",
            "; live CAs outside `scope` are never planned",
        )
    return selection.unmatched_note(chooser, names, "in the manifests or the workspace")


def budget_of(settings: Settings, live: Sequence[LiveCA]) -> Budget:
    """The account's active-CA budget as the whole live list shows it (scope
    notwithstanding: the limit is the account's)."""
    return Budget(count_active(live), target.active_limit(settings))


def with_budget(plan: Plan, budget: Budget, live: Sequence[LiveCA]) -> Plan:
    """The plan with its summary's `active_after` and `active_limit`."""
    summary = plan.summary.model_copy(
        update={"active_after": budget.after(plan, live), "active_limit": budget.limit}
    )
    return plan.model_copy(update={"summary": summary})


async def fetch_live(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> list[LiveCA]:
    """One list request to the workspace of `settings`."""
    async with target.platform(settings, transport) as client:
        return await client.list()


async def fetch(ws: Workspace, transport: httpx.AsyncBaseTransport | None = None) -> list[LiveCA]:
    """One list request to the workspace `ws` (its manifests are loaded and sound); its
    errors name its environment (and, for a promotion source, the one it gates)."""
    with in_environment(ws.environment, ws.gates):
        return await fetch_live(ws.settings, transport)


async def fetch_all(workspaces: Sequence[Workspace | None]) -> list[list[LiveCA] | None]:
    """The live CAs of each workspace (one list request each, concurrently)."""

    async def one(ws: Workspace | None) -> list[LiveCA] | None:
        if ws is None:
            return None
        return await fetch(ws)

    return list(await asyncio.gather(*(one(ws) for ws in workspaces)))
