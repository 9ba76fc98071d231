"""`drafts: preserve` (SPEC §8): drafts made outside Git are kept. Consulted by the planner
after it decided a CA's steps; pure, over the facts of one (desired, live) pair.

A draft counts as made outside Git when the CA has an active definition and its draft
differs from both that and the manifest's definition (someone edited it in the UI). A CA
never activated is left out on purpose: its draft is its only definition, which the
manifest owns, so staging a changed definition there is ordinary work. A kept draft is
reported (`draft kept`); a plan whose steps would overwrite or discard it records that, and
the safety rule `drafts` refuses it unless allowed. With `drafts: discard` (the default) an
update that overwrites such a draft says so (`overwritten`): a new description alone writes
the draft too, and its line would otherwise show only the description.
"""

from __future__ import annotations

from reconciler.models import DeclaredCA, LiveCA
from reconciler.plan.value import Action, DraftNote

#: The warning on actions that replace a draft made outside Git.
REPLACES_DRAFT = "replaces a draft made outside Git"


def made_outside_git(ca: DeclaredCA, live: LiveCA) -> bool:
    """Whether `live` holds a draft that is neither its active definition nor the manifest's."""
    # Asked of every CA a plan matched, so it reduces no definition the API sent exactly as
    # the manifest's (`definitions_as`): reading `live.active` and `live.draft` instead
    # reduced all of them, a third of a warm plan of 10,000 CAs. The draft is None when it
    # equals the active definition.
    if live.draft_definition is None or live.active_definition is None:
        return False
    active, draft = live.definitions_as(ca.canonical)
    return active is not None and draft is not None and draft != ca.canonical


def preserve(
    ca: DeclaredCA, live: LiveCA, actions: list[Action]
) -> tuple[list[Action], DraftNote | None]:
    """The actions for `ca` with its UI draft preserved, and the note to report.

    Discarding the draft and nothing else becomes no action (`draft kept`); any other
    plan that writes the draft (update, or discard along with other steps) keeps its
    actions, marked, for the `drafts` rule to refuse.
    """
    if not made_outside_git(ca, live):
        return actions, None
    kinds = {action.action for action in actions}
    if kinds <= {"discard_draft"}:
        return [], DraftNote(name=ca.name, id=live.id, kept=True)
    if not kinds & {"update", "discard_draft"}:
        return actions, DraftNote(name=ca.name, id=live.id, kept=True)
    marked = _marked(actions, ("update", "discard_draft"))
    return marked, DraftNote(name=ca.name, id=live.id, kept=False)


def overwritten(ca: DeclaredCA, live: LiveCA, actions: list[Action]) -> list[Action]:
    """`drafts: discard`: the actions for `ca`, an update that writes over a draft made
    outside Git marked `REPLACES_DRAFT`. A draft discard says so on its own line; an update
    replaces the draft whatever it changes (the API takes the full draft), so a new
    description of an active CA discarded a UI edit with nothing in the plan saying so."""
    if not any(action.action == "update" for action in actions):
        return actions
    return _marked(actions, ("update",)) if made_outside_git(ca, live) else actions


def _marked(actions: list[Action], kinds: tuple[str, ...]) -> list[Action]:
    """`actions`, those of these kinds warned that they replace a draft made outside Git."""
    return [
        action.model_copy(update={"warnings": [*action.warnings, REPLACES_DRAFT]})
        if action.action in kinds
        else action
        for action in actions
    ]
