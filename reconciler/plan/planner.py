"""The planner: a pure function from (desired CAs, live CAs, options) to a Plan. No I/O.

Matches by name (or `renamed_from`), compares canonical forms (equality first, so unchanged
CAs cost one dict comparison), and only for CAs that differ computes field-level changes.
Rules: SPEC §4.2; safety (prune, protect, thresholds): SPEC §4.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.errors import PlanError, format_path
from reconciler.models import CanonicalDefinition, DeclaredCA, LiveCA
from reconciler.plan.changes import changes_between, leaves
from reconciler.plan.value import Action, Change, Plan, summarize

RECALCULATES = "recalculates"
INVALIDATES_SEEDS = "invalidates seeds"


@dataclass(frozen=True)
class PlanOptions:
    workspace_id: int
    prune: bool = False


def _audiences(live: LiveCA) -> list[str]:
    count = live.audience_count or 0
    return [f"used by {count} audience{'s' if count != 1 else ''}"] if count > 0 else []


def _body(ca: DeclaredCA, name: str | None = None) -> dict[str, Any]:
    """The create/update body: always the full draft (the API requires it on PUT too)."""
    return {
        "name": name or ca.name,
        "description": ca.description or "",
        "draft_definition": dict(ca.canonical),
    }


def _document(
    name: str, description: str, definition: CanonicalDefinition | None
) -> dict[str, Any]:
    return {"name": name, "description": description, "definition": definition}


def _seed_breaks(
    current: CanonicalDefinition | None, desired: CanonicalDefinition, renamed: bool
) -> list[str]:
    """What in this change discards seeds: name, calculation_type or seeding.cutoff_date."""
    if current is None or current["seeding"] is None:
        return []
    found = ["name"] if renamed else []
    if current["calculation_type"] != desired["calculation_type"]:
        found.append("calculation_type")
    after = desired["seeding"]["cutoff_date"] if desired["seeding"] else None
    if current["seeding"]["cutoff_date"] != after:
        found.append("seeding.cutoff_date")
    return found


class _Planner:
    def __init__(self, options: PlanOptions) -> None:
        self.options = options
        self.errors: list[str] = []

    def create(self, ca: DeclaredCA) -> list[Action]:
        body = _body(ca)
        changes = [
            Change(path=format_path(p), before=None, after=v)
            for p, v in leaves(_document(ca.name, ca.description or "", ca.canonical))
            if v not in (None, "", [], False)
        ]
        actions = [Action(action="create", name=ca.name, changes=changes, body=body)]
        if ca.active:
            actions.append(Action(action="activate", name=ca.name))
        return actions

    def existing(self, ca: DeclaredCA, live: LiveCA) -> list[Action]:
        """Actions that bring one live CA to its manifest (empty when it already matches)."""
        desired = ca.canonical
        live.recognise(desired)
        renamed = ca.name != live.name
        if renamed and live.was_activated:
            self.errors.append(
                f'"{live.name}" (id {live.id}) cannot be renamed to "{ca.name}": names are '
                "read-only once a CA has been activated. Keep the old name (remove renamed_from "
                "and use the old name), or create a new CA under the new name and delete the "
                "old one (this discards its seeds and breaks audiences that use it)."
            )
            return []
        description = ca.description or ""
        needs_update = renamed or description != live.description_text
        unchanged = ca.active and not needs_update and live.draft_definition is None
        if unchanged and live.active == desired:
            return []  # the common case, decided without looking at drafts
        effective_draft = live.draft if live.draft is not None else live.active
        if ca.active:
            current = live.active
            if current == desired:
                if needs_update:
                    steps = ["update"]
                elif live.draft is not None:
                    steps = ["discard_draft"]
                else:
                    steps = []
            elif live.draft == desired and not needs_update:
                steps = ["activate"]
            else:
                steps = ["update", "activate"]
        else:
            current = effective_draft
            if effective_draft == desired and not needs_update:
                steps = []
            elif live.active == desired and not needs_update:
                steps = ["discard_draft"]
            else:
                steps = ["update"]
        if not steps:
            return []

        # Show what changes against what the CA holds now: its active definition, or for a
        # CA never activated, its draft.
        shown = current if current is not None else live.draft
        before = _document(live.name, live.description_text, shown)
        after = _document(ca.name, description, desired)
        changes = changes_between(before, after)
        audiences = _audiences(live)
        breaks = _seed_breaks(live.active or live.draft, desired, renamed)
        if breaks and ca.protect:
            self.errors.append(
                f'"{ca.name}" is protected (protect: true) and this change would discard its '
                f"seeds ({', '.join(breaks)} changes). Revert the change, or remove protect "
                "to allow it and re-send the seeds afterwards."
            )
        actions: list[Action] = []
        for step in steps:
            warnings: list[str] = []
            if step == "update":
                action = Action(
                    action="update", name=ca.name, id=live.id, changes=changes, body=_body(ca)
                )
                if renamed and "name" in breaks:
                    warnings.append(INVALIDATES_SEEDS)
                if renamed:
                    warnings += audiences
            elif step == "activate":
                if live.active is not None and live.active != desired:
                    warnings.append(RECALCULATES)
                if [b for b in breaks if b != "name"] and live.active is not None:
                    warnings.append(INVALIDATES_SEEDS)
                warnings += audiences if live.active is not None else []
                action = Action(
                    action="activate",
                    name=ca.name,
                    id=live.id,
                    changes=[] if "update" in steps else changes,
                )
            else:
                discarded = changes_between(
                    _document(live.name, live.description_text, live.draft),
                    _document(live.name, live.description_text, live.active),
                )
                action = Action(action="discard_draft", name=ca.name, id=live.id, changes=discarded)
            actions.append(action.model_copy(update={"warnings": warnings}))
        return actions

    def delete(self, live: LiveCA) -> Action:
        return Action(action="delete", name=live.name, id=live.id, warnings=_audiences(live))


def match(
    desired: Sequence[DeclaredCA], live: Sequence[LiveCA]
) -> tuple[list[tuple[DeclaredCA, LiveCA | None]], list[LiveCA], list[str]]:
    """Pair each desired CA with its live CA (by name, else by renamed_from)."""
    by_name = {ca.name: ca for ca in live}
    pairs: list[tuple[DeclaredCA, LiveCA | None]] = []
    errors: list[str] = []
    claimed: set[int] = set()
    for ca in desired:
        found = by_name.get(ca.name)
        old = by_name.get(ca.renamed_from) if ca.renamed_from else None
        if found is not None and old is not None:
            errors.append(
                f'"{ca.name}" has renamed_from "{ca.renamed_from}", but both names exist in the '
                f"workspace (ids {found.id} and {old.id}); remove renamed_from, or delete one"
            )
        chosen = found if found is not None else old
        if chosen is not None:
            claimed.add(chosen.id)
        pairs.append((ca, chosen))
    unmanaged = [ca for ca in live if ca.id not in claimed]
    return pairs, unmanaged, errors


def plan(desired: Sequence[DeclaredCA], live: Sequence[LiveCA], options: PlanOptions) -> Plan:
    """The actions that make the workspace match `desired`; raises PlanError on blocked rules."""
    planner = _Planner(options)
    pairs, unmanaged, match_errors = match(desired, live)
    planner.errors += match_errors
    renames: list[Action] = []
    rest: list[Action] = []
    unchanged = 0
    for ca, found in sorted(pairs, key=lambda pair: pair[0].name):
        actions = planner.create(ca) if found is None else planner.existing(ca, found)
        if not actions:
            unchanged += 1
        elif any(action.renames for action in actions):
            renames += actions
        else:
            rest += actions
    unmanaged.sort(key=lambda ca: (ca.name, ca.id))
    deletes = [planner.delete(ca) for ca in unmanaged] if options.prune else []
    if planner.errors:
        raise PlanError(planner.errors)
    # Renames free their old names and deletes free names and active slots: both go first.
    actions = renames + deletes + rest
    touched = {action.id for action in actions if action.id is not None}
    return Plan(
        workspace_id=options.workspace_id,
        summary=summarize(actions, unchanged, len(unmanaged)),
        actions=actions,
        unmanaged=[ca.name for ca in unmanaged],
        # Stale detection needs the CAs the plan touches; fingerprinting 10,000 unchanged
        # ones would only grow the plan file.
        live={str(ca.id): ca.fingerprint for ca in live if ca.id in touched},
    )
