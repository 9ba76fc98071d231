"""The planner: a pure function from (desired CAs, live CAs, options) to a Plan. No I/O.

Matches by name (or `renamed_from`), compares canonical forms (equality first, so unchanged
CAs cost one dict comparison), and only for CAs that differ computes field-level changes.
Rules: SPEC §4.2; safety (prune, protect, thresholds): SPEC §4.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.errors import Blocker, PlanError, first_few, format_path, quoted
from reconciler.models import CanonicalDefinition, DeclaredCA, LiveCA
from reconciler.plan import drafts
from reconciler.plan.changes import as_written, ca_changes, leaves
from reconciler.plan.hints import create_hints
from reconciler.plan.steps import Facts, steps
from reconciler.plan.value import Action, ActionKind, Change, DraftNote, Plan, summarize

RECALCULATES = "recalculates"
INVALIDATES_SEEDS = "invalidates seeds"
AUDIENCES_UNKNOWN = "used by an unknown number of audiences"


@dataclass(frozen=True)
class PlanOptions:
    workspace_id: int
    prune: bool = False
    #: `preserve`: drafts made outside Git are kept (plan.drafts consults them).
    drafts: str = "discard"


def _audiences(live: LiveCA) -> list[str]:
    count = live.audiences
    if count is None:  # the answer gave no count (or a negative one): not "none"
        return [AUDIENCES_UNKNOWN]
    return [f"used by {count} audience{'s' if count != 1 else ''}"] if count > 0 else []


def _body(ca: DeclaredCA, name: str | None = None) -> dict[str, Any]:
    """The create/update body: always the full draft (the API requires it on PUT too)."""
    return {
        "name": name or ca.name,
        "description": ca.description or "",
        "draft_definition": dict(ca.canonical),
    }


def _nothing(value: Any) -> bool:
    """What a create does not list: an empty or default leaf (never 0, which is a value)."""
    return value is None or value is False or (isinstance(value, (str, list, dict)) and not value)


def document(name: str, description: str, definition: CanonicalDefinition | None) -> dict[str, Any]:
    """What a plan's changes compare: a CA's name, description and definition."""
    return {"name": name, "description": description, "definition": definition}


def created(name: str, description: str, definition: CanonicalDefinition) -> list[Change]:
    """The changes a create shows: every leaf of the new CA that is not empty or default."""
    _, written = as_written(None, definition)
    return [
        Change(path=format_path(p), before=None, after=v)
        for p, v in leaves(document(name, description, written))
        if not _nothing(v)
    ]


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


def rename_refused(ca: DeclaredCA, live: LiveCA) -> str | None:
    """Why `ca` may not take over `live` under its new name (SPEC §4.2), if it may not."""
    if ca.name == live.name or not live.was_activated:
        return None
    return (
        f"{quoted(live.name)} (id {live.id}) cannot be renamed to {quoted(ca.name)}: names are "
        "read-only once a CA has been activated. Keep the old name (remove renamed_from "
        "and use the old name), or create a new CA under the new name and delete the "
        "old one (this discards its seeds and breaks audiences that use it)."
    )


def protect_refused(ca: DeclaredCA, breaks: list[str]) -> str | None:
    """Why a protected CA may not change this way (it would discard its seeds), if so."""
    if not (breaks and ca.protect):
        return None
    return (
        f"{quoted(ca.name)} is protected (protect: true) and this change would discard its "
        f"seeds ({', '.join(breaks)} changes). Revert the change, or remove protect "
        "to allow it and re-send the seeds afterwards."
    )


@dataclass(frozen=True)
class _Matched:
    """One desired CA with its live counterpart, read once."""

    ca: DeclaredCA
    live: LiveCA
    desired: CanonicalDefinition
    active: CanonicalDefinition | None
    draft: CanonicalDefinition | None

    @property
    def renamed(self) -> bool:
        return self.ca.name != self.live.name

    def shown(self) -> CanonicalDefinition | None:
        """What the CA holds now, to show changes against: the definition in use, or for a
        CA kept as a draft (or never activated), its draft."""
        current = self.active if self.ca.active else (self.draft or self.active)
        return current if current is not None else self.draft


def facts_of(
    ca: DeclaredCA,
    live: LiveCA,
    desired: CanonicalDefinition,
    active: CanonicalDefinition | None,
    draft: CanonicalDefinition | None,
) -> Facts:
    """The facts the decision table reads (a definition recognised as `desired` is it)."""
    return Facts(
        wants_active=ca.active,
        active_is_desired=active is desired or active == desired,
        draft_is_desired=draft is desired or (draft is not None and draft == desired),
        has_draft=draft is not None,
        needs_update=ca.name != live.name or (ca.description or "") != live.description_text,
    )


def warnings_for(step: ActionKind, matched: _Matched, breaks: list[str]) -> list[str]:
    """The warnings of one step: recalculation, seeds discarded, audiences affected."""
    live, active = matched.live, matched.active
    if step == "update" and matched.renamed:
        return ([INVALIDATES_SEEDS] if "name" in breaks else []) + _audiences(live)
    if step != "activate" or active is None:
        return []
    found = [RECALCULATES] if active != matched.desired else []
    if any(b != "name" for b in breaks):
        found.append(INVALIDATES_SEEDS)
    return found + _audiences(live)


#: The live definition each step replaces, dropping the fields the models do not know that
#: it holds. An update sends the full draft (the API requires it on PUT), so it replaces
#: the draft held whatever it changes (a new name or description only, too; a draft equal
#: to the active definition or the manifest's, too); an activation moves the draft into
#: use, replacing the active definition; a draft discard deletes the draft. Its own line
#: says the draft goes, but not that it held what no manifest can, which copying the UI
#: edit into the manifest would not keep. A create replaces nothing, nor does a delete
#: (its line says the whole CA goes).
REPLACES: dict[ActionKind, str] = {
    "activate": "active_definition",
    "update": "draft_definition",
    "discard_draft": "draft_definition",
}


def dropped_fields(planned: tuple[ActionKind, ...], live: LiveCA) -> list[str]:
    """The fields the models do not know (a field newer than the docs, set in the UI) that
    these steps drop with the live definitions they replace (`REPLACES`)."""
    return [
        path
        for field in dict.fromkeys(
            REPLACES[step] for step in sorted(set(planned) & REPLACES.keys())
        )
        for path in live.unknown_fields(field)
    ]


def drops_fields(live: LiveCA, paths: list[str], step: ActionKind = "update") -> str:
    """The warning on the action (`step`) that replaces a definition holding unknown fields.
    A discarded draft is a draft made outside Git (its CA's active definition is the
    manifest's), which `drafts: preserve` keeps."""
    done, keep = "replaces the definition", ""
    if step == "discard_draft":
        done, keep = "discards the draft", ", keep drafts made outside Git (`drafts: preserve`)"
    return (
        f"{quoted(live.name)} (id {live.id}) holds fields the reconciler does not know "
        f"({first_few(paths, ', ', ', ')}): applying {done} and drops them, and no manifest "
        "can hold them; to keep them, leave this CA out of the plan (--exclude, or out of the "
        f"manifests and the scope){keep}, or apply to accept their loss"
    )


class _Planner:
    def __init__(self, options: PlanOptions) -> None:
        self.options = options
        self.errors: list[Blocker] = []

    def create(self, ca: DeclaredCA, warnings: list[str]) -> list[Action]:
        body = _body(ca)
        changes = created(ca.name, ca.description or "", ca.canonical)
        actions = [
            Action(action="create", name=ca.name, changes=changes, warnings=warnings, body=body)
        ]
        if ca.active:
            actions.append(Action(action="activate", name=ca.name))
        return actions

    def existing(self, ca: DeclaredCA, live: LiveCA) -> list[Action]:
        """Actions that bring one live CA to its manifest (empty when it already matches)."""
        refused = rename_refused(ca, live)
        if refused is not None:
            self.errors.append(Blocker(refused, ca.name, ("renamed_from",)))
            return []
        desired = ca.canonical
        active, draft = live.definitions_as(desired)
        planned = steps(facts_of(ca, live, desired, active, draft))
        if not planned:
            return []  # most CAs of a large workspace: nothing more is built for them
        matched = _Matched(ca, live, desired, active, draft)
        breaks = _seed_breaks(active or draft, desired, matched.renamed)
        refused = protect_refused(ca, breaks)
        if refused is not None:
            self.errors.append(Blocker(refused, ca.name, ("protect",)))
        changes = ca_changes(
            document(live.name, live.description_text, matched.shown()),
            document(ca.name, ca.description or "", desired),
        )
        dropped = dropped_fields(planned, live)
        actions = []
        for step in planned:
            # An activation after an update changes nothing more: the update lists it all.
            shown = [] if step == "activate" and "update" in planned else changes
            warnings = warnings_for(step, matched, breaks)
            if dropped and step == planned[0]:  # the update, or an activation alone
                warnings.append(drops_fields(live, dropped, step))
            actions.append(self.action(step, matched, shown, warnings))
        return actions

    def action(
        self, step: ActionKind, matched: _Matched, changes: list[Change], warnings: list[str]
    ) -> Action:
        ca, live = matched.ca, matched.live
        body: dict[str, Any] = {}
        if step == "update":
            body = _body(ca)
        elif step == "discard_draft":
            # What the discarded draft held, against what stays in use.
            changes = ca_changes(
                document(live.name, live.description_text, matched.draft),
                document(live.name, live.description_text, matched.active),
            )
        return Action(
            action=step, name=ca.name, id=live.id, changes=changes, warnings=warnings, body=body
        )

    def delete(self, live: LiveCA) -> Action:
        return Action(action="delete", name=live.name, id=live.id, warnings=_audiences(live))


def _ambiguous(desired: Sequence[DeclaredCA], live: Sequence[LiveCA]) -> list[Blocker]:
    """An error for each name a manifest uses (as its name or renamed_from) that two or more
    live CAs hold. mParticle keeps names unique, so a list with a name twice was misread or
    the workspace is damaged: matching one of them would update a CA the user may not mean
    and leave the other unmanaged (with prune, deleted). Each is placed at the field that
    names it (`name` or `renamed_from`): the manifest entry that means one of them."""
    ids: dict[str, list[int]] = {}
    for held in live:
        ids.setdefault(held.name, []).append(held.id)
    found = []
    for ca in desired:
        for name, field in {ca.name: "name", ca.renamed_from: "renamed_from"}.items():
            held_by = ids.get(name) if name is not None else None
            if held_by is not None and len(held_by) > 1:
                listed = ", ".join(str(i) for i in held_by)
                message = (
                    f"{quoted(ca.name)}: the workspace holds {len(held_by)} CAs named "
                    f"{quoted(name)} (ids {listed}), but mParticle keeps names unique, so the "
                    "reconciler cannot tell which one the manifest means; rename or delete "
                    "all but one in mParticle, then plan again"
                )
                found.append(Blocker(message, ca.name, (field,)))
    return found


def match(
    desired: Sequence[DeclaredCA], live: Sequence[LiveCA]
) -> tuple[list[tuple[DeclaredCA, LiveCA | None]], list[LiveCA], list[Blocker]]:
    """Pair each desired CA with its live CA (by name, else by renamed_from)."""
    by_name = {ca.name: ca for ca in live}
    pairs: list[tuple[DeclaredCA, LiveCA | None]] = []
    errors: list[Blocker] = []
    claimed: set[int] = set()
    if len(by_name) < len(live):
        errors += _ambiguous(desired, live)
    for ca in desired:
        found = by_name.get(ca.name)
        old = by_name.get(ca.renamed_from) if ca.renamed_from else None
        if found is not None and old is not None:
            message = (
                f"{quoted(ca.name)} has renamed_from {quoted(ca.renamed_from)}, but both names "
                f"exist in the workspace (ids {found.id} and {old.id}); remove renamed_from, or "
                "delete one"
            )
            errors.append(Blocker(message, ca.name, ("renamed_from",)))
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
    hints = create_hints([ca for ca, found in pairs if found is None], live, unmanaged)
    renames: list[Action] = []
    rest: list[Action] = []
    notes: list[DraftNote] = []
    unchanged = 0
    for ca, found in sorted(pairs, key=lambda pair: pair[0].name):
        if found is None:
            actions = planner.create(ca, hints.get(ca.name, []))
        else:
            actions = planner.existing(ca, found)
        if found is not None and options.drafts == "preserve":
            actions, note = drafts.preserve(ca, found, actions)
            notes += [note] if note is not None else []
        elif found is not None and actions:  # most CAs: nothing to mark
            actions = drafts.overwritten(ca, found, actions)
        if not actions:
            unchanged += 1
        elif any(action.renames for action in actions):
            renames += actions
        else:
            rest += actions
    unmanaged.sort(key=lambda ca: (ca.name, ca.id))
    deletes = [planner.delete(ca) for ca in unmanaged] if options.prune else []
    # A pruned CA is counted and listed once, as a delete: the counts add up to the live
    # CAs, and the JSON's `unmanaged` is what the text and Markdown list.
    left_alone = [] if options.prune else unmanaged
    if planner.errors:
        raise PlanError(planner.errors)
    # Renames free their old names and deletes free names and active slots: both go first.
    actions = renames + deletes + rest
    touched = {action.id for action in actions if action.id is not None}
    return Plan(
        workspace_id=options.workspace_id,
        summary=summarize(actions, unchanged, len(left_alone)),
        actions=actions,
        unmanaged=[ca.name for ca in left_alone],
        drafts=notes,
        # Stale detection needs the CAs the plan touches; fingerprinting 10,000 unchanged
        # ones would only grow the plan file.
        live={str(ca.id): ca.fingerprint for ca in live if ca.id in touched},
    )
