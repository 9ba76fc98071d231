"""Live definitions holding fields the models do not know (newer than the docs, set in the
UI): a plan that replaces such a definition says which fields it drops; one that leaves
it in place says nothing. An update always replaces the draft held (it sends the full
draft); an activation replaces the active definition; a draft discard deletes the draft."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from reconciler.models import LiveCA
from reconciler.plan import drafts, planner
from reconciler.plan.value import Plan
from tests.plan.states import DEFINITION, OTHER, found, make, want

#: Where the warning says the fields go (the definition replaced, or the draft discarded).
DROPS = " and drops them, and no manifest can hold them"


def extended(
    active: dict[str, Any] | None = None, draft: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A live CA (as `found` takes it) whose `active`/`draft` definitions also hold unknown
    fields: `filter_mode` in the datapoint, `source` at the top."""
    ca = found(active=active, draft=draft).model_dump()
    for field in ("active_definition", "draft_definition"):
        if ca[field] is not None:
            ca[field]["data_point"] = {**ca[field]["data_point"], "filter_mode": "all"}
            ca[field]["source"] = "ui"
    return ca


def live(active: dict[str, Any] | None = None, draft: dict[str, Any] | None = None) -> LiveCA:
    return LiveCA.model_validate(extended(active, draft))


def warned(plan: Plan) -> list[tuple[str, str]]:
    """(action, warning) of each warning about unknown fields."""
    return [(a.action, w) for a in plan.actions for w in a.warnings if DROPS in w]


def named(warning: str) -> str:
    """The fields a warning about unknown fields names."""
    return warning.split("does not know (", 1)[1].split("): applying", 1)[0]


def test_a_changed_active_definition_names_the_ca_and_the_fields_it_drops() -> None:
    plan = make([want(definition=OTHER)], [live(active=DEFINITION)])
    assert [a.action for a in plan.actions] == ["update", "activate"]
    [(action, warning)] = warned(plan)
    assert action == "update"  # the action that shows the change
    assert warning == (
        '"LTV" (id 7) holds fields the reconciler does not know '
        "(active_definition.data_point.filter_mode, active_definition.source): applying "
        "replaces the definition and drops them, and no manifest can hold them; to keep "
        "them, leave this CA out of the plan (--exclude, or out of the manifests and the "
        "scope), or apply to accept their loss"
    )


THIRD = {**DEFINITION, "calculation_type": "min"}
#: The fields `extended` sets, as the warning names them, by the definition holding them.
ACTIVE = "active_definition.data_point.filter_mode, active_definition.source"
DRAFT = "draft_definition.data_point.filter_mode, draft_definition.source"


class Case(NamedTuple):
    """A desired CA and its live counterpart (both its definitions holding unknown fields
    where it has them), the steps planned, and the fields the warning names (None: no
    warning) on the first step: the update, or an activation alone."""

    want: dict[str, Any]
    active: dict[str, Any] | None
    draft: dict[str, Any] | None
    steps: list[str]
    dropped: str | None


#: Every step that sends a draft_definition (an update: the full draft, as the API requires
#: on PUT) replaces the draft held; an activation replaces the active definition with it.
CASES = {
    "a changed active definition: both replaced": Case(
        {"definition": OTHER}, DEFINITION, None, ["update", "activate"], ACTIVE
    ),
    "an update and activation over a staged draft": Case(
        {"definition": THIRD}, DEFINITION, OTHER, ["update", "activate"], f"{ACTIVE}, {DRAFT}"
    ),
    "activating a staged draft: its fields go into use": Case(
        {"definition": OTHER}, DEFINITION, OTHER, ["activate"], ACTIVE
    ),
    "a staged draft already desired, a new description, activated": Case(
        {"definition": OTHER, "description": "new"},
        DEFINITION,
        OTHER,
        ["update", "activate"],
        f"{ACTIVE}, {DRAFT}",
    ),
    "a draft written for an inactive CA": Case(
        {"definition": THIRD, "active": False}, DEFINITION, OTHER, ["update"], DRAFT
    ),
    "an inactive CA's draft already desired, a new description": Case(
        {"definition": OTHER, "active": False, "description": "new"},
        DEFINITION,
        OTHER,
        ["update"],
        DRAFT,
    ),
    "an active CA's draft equal to the active one, a new description": Case(
        {"description": "new"}, DEFINITION, DEFINITION, ["update"], DRAFT
    ),
    "an active CA's stray draft, a new description": Case(
        {"description": "new"}, DEFINITION, OTHER, ["update"], DRAFT
    ),
    "a new name of a CA never activated: its only definition": Case(
        {"name": "New", "renamed_from": "LTV"}, None, DEFINITION, ["update", "activate"], DRAFT
    ),
    "a new description of an active CA without a draft": Case(
        {"description": "new"}, DEFINITION, None, ["update"], None
    ),
    "a stray draft discarded": Case({}, DEFINITION, OTHER, ["discard_draft"], DRAFT),
    "a stray draft over an inactive CA's definition discarded": Case(
        {"active": False}, DEFINITION, OTHER, ["discard_draft"], DRAFT
    ),
    "a staged draft of a CA never activated, activated with its fields": Case(
        {"definition": OTHER}, None, OTHER, ["activate"], None
    ),
    "an inactive CA whose draft is desired, left alone": Case(
        {"definition": OTHER, "active": False}, None, OTHER, [], None
    ),
    "a CA left as it is": Case({}, DEFINITION, None, [], None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_step_that_replaces_a_definition_holding_them_names_them(case: Case) -> None:
    plan = make([want(**case.want)], [live(active=case.active, draft=case.draft)])
    assert [a.action for a in plan.actions] == case.steps
    expected = [] if case.dropped is None else [(case.steps[0], case.dropped)]
    assert [(action, named(warning)) for action, warning in warned(plan)] == expected


def test_a_preserved_draft_replaced_says_both() -> None:
    """`drafts: preserve`: the update that replaces a UI draft is refused by the rule
    `drafts` unless allowed, and says what of the draft it drops."""
    options = planner.PlanOptions(workspace_id=1, drafts="preserve")
    desired = [want(description="new")]
    plan = planner.plan(desired, [live(active=DEFINITION, draft=OTHER)], options)
    [update] = plan.actions
    assert update.warnings[0].startswith('"LTV" (id 7) holds fields the reconciler does not')
    assert update.warnings[1:] == [drafts.REPLACES_DRAFT]
    assert named(update.warnings[0]) == DRAFT


def test_a_discarded_draft_holding_them_says_so_and_that_preserve_keeps_it() -> None:
    """The discard's own line says the draft goes, and its changes show what it held, but
    not the fields no manifest can hold: copying the UI edit into the manifest, which that
    line invites, would not keep them. `drafts: preserve` keeps such a draft: no action,
    no warning."""
    plan = make([want()], [live(active=DEFINITION, draft=OTHER)])
    [discard] = plan.actions
    assert (discard.action, discard.warnings) == (
        "discard_draft",
        [
            '"LTV" (id 7) holds fields the reconciler does not know '
            f"({DRAFT}): applying discards the draft and drops them, and no manifest can hold "
            "them; to keep them, leave this CA out of the plan (--exclude, or out of the "
            "manifests and the scope), keep drafts made outside Git (`drafts: preserve`), or "
            "apply to accept their loss"
        ],
    )
    options = planner.PlanOptions(workspace_id=1, drafts="preserve")
    kept = planner.plan([want()], [live(active=DEFINITION, draft=OTHER)], options)
    assert kept.actions == []
    assert [(note.name, note.kept) for note in kept.drafts] == [("LTV", True)]


def test_known_fields_only_say_nothing() -> None:
    plan = make([want(definition=OTHER)], [found(active=DEFINITION)])
    assert [a.action for a in plan.actions] == ["update", "activate"]
    assert warned(plan) == []
