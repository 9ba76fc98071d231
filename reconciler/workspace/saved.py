"""`apply --plan`: reaching a saved plan's workspace again, and refusing any doubt.

The settings come from the manifest directory (DIR, else the one the plan records, else
`manifests/`), the environment and flags, as for any command; the plan names its
environment, workspace and target, and any difference is refused before a request is
made. A saved plan never creates a workspace: an embedded database that does not exist
is an error. A plan that passed the promotion gate is checked again against its source.
Given DIR, the plan must be one the manifests there make: each CA's actions are those a
plan of DIR has for it now (DIR may ask for more: main ahead of the reviewed plan).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler import manifest
from reconciler.console import Output
from reconciler.environments import environment_names, in_environment, requested_environment
from reconciler.errors import PlanError, ReconcilerError, first_few, quoted
from reconciler.manifest.settings_file import refuse_untrusted_urls
from reconciler.models import LiveCA
from reconciler.plan import promotion, safety, selection
from reconciler.plan.selection import Chooser
from reconciler.plan.value import Action, GateCheck, Plan, Violation
from reconciler.settings import Flags, Settings, SettingsFile, resolve
from reconciler.workspace import planning
from reconciler.workspace.loading import Workspace

DEFAULT_DIRECTORY = Path("manifests")


class PlanMismatch(ReconcilerError):
    """The saved plan is for another environment, workspace or target than the settings."""


def directory_for(plan: Plan, directory: Path | None) -> Path:
    """DIR when given; else the manifest directory the plan was made from."""
    if directory is not None:
        return directory
    if plan.target is not None and plan.target.directory is not None:
        return Path(plan.target.directory)
    return DEFAULT_DIRECTORY


def _settings_file(plan: Plan, directory: Path) -> SettingsFile:
    """The directory's reconciler.yaml. A plan of the unnamed environment does without one
    (the plan names its workspace); a plan of a named environment needs the file that
    defines it, and says so rather than letting the name pass for an --env."""
    path = directory / manifest.SETTINGS_FILE
    if not path.is_file():
        if plan.environment is None:
            return SettingsFile()
        why = "not found" if directory.is_dir() else "no such directory"
        raise PlanMismatch(
            f"the plan is for environment {plan.environment}, but {directory} has no "
            f"{manifest.SETTINGS_FILE} ({why}); nothing was sent. Apply it with DIR, the "
            f"manifest directory that defines {plan.environment}, or make a new plan"
        )
    file = manifest.load_settings(directory)
    _require_defined(file, path, plan.environment, "the plan is for environment")
    return file


def _require_defined(file: SettingsFile, path: Path, name: str | None, what: str) -> None:
    """Refuse a plan that names an environment (`what NAME`) the file does not define."""
    names = environment_names(file)
    if name is None or name in names:
        return
    raise PlanMismatch(
        f"{what} {name}, which {path} does not define (it defines "
        f"{', '.join(names) or 'no environments'}); nothing was sent. Make a new plan from "
        "the manifests as they are now"
    )


def settings_for(plan: Plan, directory: Path, flags: Flags) -> tuple[Settings, SettingsFile]:
    """The settings `apply --plan` works with; raises PlanMismatch when they name another
    environment, workspace or target than the plan."""
    file = _settings_file(plan, directory)
    asked = requested_environment(flags.environment) or None
    if asked is not None and asked != plan.environment:
        raise PlanMismatch(
            f"the plan is for {_environment(plan.environment)}, but --env / RECONCILER_ENV "
            f"ask for {_environment(asked)}; nothing was sent"
        )
    chosen = Flags(
        workspace_id=flags.workspace_id,
        target=flags.target,
        prune=flags.prune,
        api_url=flags.api_url,
        environment=plan.environment or asked,
    )
    settings = resolve(directory, file, chosen, fallback_workspace_id=plan.workspace_id)
    gate = plan.promotion
    if gate is not None and gate.checks and gate.source in environment_names(file):
        # The gate reaches its source during apply: its URLs are checked before any request.
        refuse_untrusted_urls(directory, file, [gate.source])
    problems = mismatches(plan, settings)
    if problems:
        raise PlanMismatch(
            "the saved plan does not match the settings: "
            + "; ".join(problems)
            + ". Nothing was sent. Apply it with the settings it was made with, or make a new "
            "plan."
        )
    return settings, file


def _environment(name: str | None) -> str:
    return f"environment {name}" if name else "the unnamed environment (no environments)"


def mismatches(plan: Plan, settings: Settings) -> list[str]:
    """How the plan and the resolved settings disagree (empty when they agree)."""
    found: list[str] = []
    if plan.environment != settings.environment:
        found.append(
            f"the plan is for {_environment(plan.environment)}, the settings resolve to "
            f"{_environment(settings.environment)}"
        )
    if plan.workspace_id != settings.workspace_id:
        found.append(
            f"the plan is for workspace {plan.workspace_id}, the settings name workspace "
            f"{settings.workspace_id}"
        )
    target = plan.target
    if target is None:  # format 1 records no target
        return found
    here = planning.target_of(settings)
    if target.kind != here.kind:
        found.append(f"the plan is for target {target.kind}, the settings name {here.kind}")
    elif target.kind == "mparticle" and target.api_url != here.api_url:
        found.append(
            f"the plan is for the API at {target.api_url}, the settings name {here.api_url}"
        )
    elif target.kind == "embedded" and target.database != here.database:
        found.append(
            f"the plan is for the embedded workspace in {target.database}, the settings name "
            f"the one in {here.database}"
        )
    return found


def require_workspace(settings: Settings, *, guessed: bool = False) -> None:
    """A saved plan is applied to a workspace that exists: never a fresh embedded one.
    `guessed`: DIR was not given, and the plan (format 1) did not record its own."""
    if settings.target == "embedded" and not settings.emulator_db.is_file():
        hint = (
            f" This plan does not record its manifest directory (format 1), so {DEFAULT_DIRECTORY}"
            "/ was assumed: give the one it was made from, reconciler apply DIR --plan FILE."
            if guessed
            else ""
        )
        raise ReconcilerError(
            f"the embedded workspace {settings.emulator_db} does not exist, so this plan "
            "cannot be for it; nothing was sent. Make a new plan (reconciler plan DIR --out "
            f"FILE) where the workspace is.{hint}"
        )


async def promotion_now(
    plan: Plan, settings: Settings, file: SettingsFile, output: Output
) -> list[Violation]:
    """The promotion gate again, as the change is made: every gated CA's source must run
    the checked definition now (one list request there). A CA that passed when planned
    may have moved since; one that waited may have been promoted since."""
    gate = plan.promotion
    if gate is None or not gate.checks:
        return []
    _require_defined(
        file,
        settings.directory / manifest.SETTINGS_FILE,
        gate.source,
        "the plan's promotion gate checks environment",
    )
    with in_environment(gate.source, settings.environment):
        source = resolve(settings.directory, file, Flags(environment=gate.source))
        require_workspace(source)
        live = await planning.fetch_live(source)
    return [
        Violation(rule="promotion", message=_waiting(check, gate.source))
        for check in promotion.unpromoted(gate, live)
    ]


def _waiting(check: GateCheck, source: str) -> str:
    """Why a CA of a saved plan does not pass the gate now, and the way through. One the
    source's own manifests held back when planning passes only once they run it there."""
    if check.promoted:
        return (
            f"{quoted(check.name)} no longer runs the checked definition in {source}: "
            f"{source} changed it since the plan was made; make a new plan"
        )
    if promotion.held_back(check, source):
        # Where its manifest held it back (a plan made before this was recorded has none).
        held = check.held_by
        where = f". Its manifest held it back at {held.where} ({held.field})" if held else ""
        return (
            f"{quoted(check.name)} was {check.reason} when the plan was made, and {source} "
            f"does not run it: declare it there, active, apply --env {source}, then make a "
            f"new plan{where}"
        )
    return f"{quoted(check.name)} is still {check.reason}; apply --env {source} first"


def refused(
    plan: Plan,
    settings: Settings,
    live: list[LiveCA],
    gate: list[Violation],
    allowed: list[str],
) -> list[Violation]:
    """The safety rules the saved plan breaks now, other than those allowed. The plan's
    own `allowed` covers what it showed it let through (`overridden`, which the reviewer
    read): a rule it allows but showed nothing of, or a CA it did not show a rule broken
    for, needs this command's --allow. The promotion gate is about the source environment when the
    change is made, so only this command's --allow lets an unpromoted change through."""
    scoped = selection.in_scope(live, settings.scope)
    content = safety.violations(
        plan.model_copy(update={"promotion": None}),
        scoped,
        settings.safety,
        planning.budget_of(settings, live),
    )
    asked = set(allowed)
    shown = {_seen(v) for v in plan.overridden if v.rule in plan.allowed}
    return [
        v if v.rule not in plan.allowed else _unshown(v)
        for v in content
        if v.rule not in asked and _seen(v) not in shown
    ] + [v for v in gate if v.rule not in asked]


#: How a reason about one CA names it: the name in double quotes, then its id. The last
#: `" (id N)` is the CA's own (a name may hold `" (id M)` itself).
_NAMED = re.compile(r'"(.*)" \(id ([0-9]+)\)', re.DOTALL)
#: A `\"` or `\\` in a name `quoted` wrote (an earlier version wrote the name as it is).
_ESCAPED = re.compile(r'\\(["\\])')


def _seen(violation: Violation) -> tuple[str, str]:
    """What of a violation the reviewer must have seen for the plan's `allowed` to waive
    it: the rule, and for a rule about one CA the CA its reason names, by id and name,
    where the reason places them (the rest of the wording, and whether the name's `"` are
    escaped, are the version's that made the plan); a rule about the whole plan counts CAs
    of a workspace that may have changed since. An `(id N)` inside another name, or the
    id beside another name, showed the reviewer another CA: it waives nothing."""
    if violation.rule in safety.WHOLE_PLAN:
        return (violation.rule, "")
    named = _NAMED.search(violation.message)
    if named is None:
        return (violation.rule, violation.message)
    name = _ESCAPED.sub(lambda escaped: escaped[1], named[1])
    return (violation.rule, f"{named[2]} {name}")


def _unshown(violation: Violation) -> Violation:
    """A violation the plan's `allowed` would let through without having shown it."""
    return violation.model_copy(
        update={
            "message": f"{violation.message} (the plan allows {violation.rule}, but did not "
            "show this among the rules it overrides when it was made)"
        }
    )


def _chains(plan: Plan) -> dict[tuple[str, int | None], list[str]]:
    """Each CA's actions as compared (seed actions aside: the seed file and its shapes are
    checked on their own), in plan order."""
    found: dict[tuple[str, int | None], list[str]] = {}
    for action in plan.actions:
        if action.action != "seed":
            found.setdefault((action.name, action.id), []).append(_compared(action))
    return found


def _compared(action: Action) -> str:
    """What an action does, as compared: its warnings are advice worded by the version
    that made the plan (an earlier one quoted names otherwise), not what it sends."""
    shown: dict[str, Any] = action.model_dump(mode="json", exclude={"values", "users", "warnings"})
    return json.dumps(shown, sort_keys=True, ensure_ascii=False)


def not_made_from(
    plan: Plan, settings: Settings, manifests: manifest.Manifests, live: Sequence[LiveCA]
) -> list[str]:
    """The CAs whose actions in the saved plan are not those a plan of `manifests` (those
    in `settings.directory`, as they are now) has for them, against the same live CAs
    (empty: all are). A plan with deletes was made with prune; the plan's selection is
    planned again."""
    prune = settings.prune or any(action.action == "delete" for action in plan.actions)
    ws = Workspace(manifests, replace(settings, prune=prune))
    chooser = Chooser(tuple(plan.selection.only), tuple(plan.selection.exclude))
    try:
        fresh = planning.build(ws, live, planning.Options(chooser)).plan
    except PlanError as exc:
        return [f"planning them now fails ({'; '.join(exc.problems)})"]
    given = _chains(fresh)
    found = []
    for (name, ca_id), chain in _chains(plan).items():
        where = f" (id {ca_id})" if ca_id is not None else ""
        label = f"{quoted(name)}{where}"
        if (name, ca_id) not in given:
            found.append(f"{label}: they give no action for it")
        elif given[(name, ca_id)] != chain:
            kinds = ", ".join(a.action for a in fresh.actions if (a.name, a.id) == (name, ca_id))
            found.append(f"{label}: they give other actions for it ({kinds})")
    return found


def made_from(
    plan: Plan, settings: Settings, manifests: manifest.Manifests, live: Sequence[LiveCA]
) -> None:
    """Raise PlanMismatch, naming the first CAs, when the plan is not one of DIR's
    (`manifests`)."""
    problems = not_made_from(plan, settings, manifests, live)
    if not problems:
        return
    shown = first_few(problems, "; ", "; ")
    raise PlanMismatch(
        f"this plan was not made from the manifests in {settings.directory}: {shown}. "
        "Nothing was sent. Apply it with the manifest directory it was made from, or make a "
        "new plan from these manifests."
    )
