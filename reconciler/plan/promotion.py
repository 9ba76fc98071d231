"""The promotion gate (`promote_from`, SPEC §7): a change planned for an environment must
already be live in the environment it is promoted from. Pure: the caller fetches the
source's live CAs (one list request) and reads its manifests.

Every CA the plan creates, updates or activates is checked: the source environment must
hold, as its *active* definition, the definition its own manifests give that CA. In other
words the change was applied in the source and is running there. Overrides stay what they
are, deliberate per-environment differences written in the same reviewed manifests: a
definition prod overrides is compared in the source as the source resolves it, so an
override never makes the gate unpassable, and a source that keeps the CA inactive
(`active: false` there) or does not have it at all never passes it. Such a CA is held
back by a field of its manifest entry (`holding`), which the caller, who reads the
manifests, places (`held_by`) for the plan to show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.models import DeclaredCA, LiveCA, fingerprint
from reconciler.plan.value import GateCheck, Plan, Promotion, Written

GATED = ("create", "update", "activate")


def gated(plan: Plan) -> list[str]:
    """The CAs the gate applies to, in plan order."""
    names: list[str] = []
    for action in plan.actions:
        if action.action in GATED and action.name not in names:
            names.append(action.name)
    return names


def _undeclared(source: str) -> str:
    return f"not declared in {source}"


def _inactive(source: str) -> str:
    return f"inactive in {source} by its manifest (active: false there)"


def held_back(check: GateCheck, source: str) -> bool:
    """The source's own manifests keep the CA from running there (they do not declare it,
    or keep it `active: false`): no apply of the source passes the gate for it."""
    return holding(check, source) is not None


def holding(check: GateCheck, source: str) -> tuple[str, str | None] | None:
    """For a CA the source's own manifests hold back: the field of its manifest entry that
    does it, and the environment whose override may write that field (None: the entry's
    own field). `environments:` leaves the source out; `active: false` is as the source
    resolves it, in its override or in the entry. None for any other CA."""
    if check.promoted:
        return None
    if check.reason == _undeclared(source):
        return ("environments", None)
    if check.reason == _inactive(source):
        return ("active", source)
    return None


def held_by(promotion: Promotion, places: Mapping[str, Written]) -> Promotion:
    """`promotion` with the checks of the CAs in `places` (by name) holding where their
    manifest holds them back."""
    if not places:
        return promotion
    checks = [
        check.model_copy(update={"held_by": places[check.name]})
        if check.name in places and holding(check, promotion.source) is not None
        else check
        for check in promotion.checks
    ]
    return promotion.model_copy(update={"checks": checks})


def described(check: GateCheck) -> str:
    """Why the check found what it found, and for a CA held back, where: `inactive in
    staging by its manifest (active: false there) at m/cas.yaml:14:9
    (overrides.staging.active)`."""
    if check.held_by is None:
        return check.reason
    return f"{check.reason} at {check.held_by.where} ({check.held_by.field})"


def _check(name: str, source: str, desired: DeclaredCA | None, live: LiveCA | None) -> GateCheck:
    if desired is None:
        return GateCheck(name=name, promoted=False, reason=_undeclared(source))
    wanted = fingerprint(desired.canonical)
    if not desired.active:
        return GateCheck(name=name, promoted=False, reason=_inactive(source), definition=wanted)
    if live is None:
        reason = f"not yet created in {source}"
    elif live.active is None:
        reason = f"not yet active in {source} (never activated there)"
    elif live.active != desired.canonical:
        reason = f"not yet active in {source} (it runs another definition)"
    else:
        return GateCheck(
            name=name, promoted=True, reason=f"promoted from {source}", definition=wanted
        )
    return GateCheck(name=name, promoted=False, reason=reason, definition=wanted)


def gate(
    plan: Plan,
    source: str,
    source_desired: Mapping[str, DeclaredCA],
    source_live: Sequence[LiveCA],
) -> Promotion:
    """What the gate found for each gated CA of `plan`."""
    live_by_name = {ca.name: ca for ca in source_live}
    return Promotion(
        source=source,
        checks=[
            _check(name, source, source_desired.get(name), live_by_name.get(name))
            for name in gated(plan)
        ],
    )


def unpromoted(promotion: Promotion, source_live: Sequence[LiveCA]) -> list[GateCheck]:
    """For a saved plan, at apply time: the gated CAs whose source does not (or no longer)
    run, active, the definition the gate checked (empty when the gate holds now)."""
    by_name = {ca.name: ca for ca in source_live}
    waiting: list[GateCheck] = []
    for check in promotion.checks:
        live = by_name.get(check.name)
        active = live.active if live is not None else None
        if check.definition is None or active is None or fingerprint(active) != check.definition:
            waiting.append(check)
    return waiting
