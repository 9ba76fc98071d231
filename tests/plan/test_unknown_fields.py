"""Live definitions holding fields the models do not know (newer than the docs, set in the
UI): a plan that replaces such a definition says which fields it drops; one that leaves
it in place says nothing."""

from __future__ import annotations

from typing import Any

from reconciler.models import LiveCA
from reconciler.plan.value import Plan
from tests.plan.states import DEFINITION, OTHER, found, make, want

#: Where the warning says the fields go, and what to do about it.
DROPS = "applying replaces the definition and drops them"


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


def test_an_update_and_activation_name_the_fields_of_both_definitions() -> None:
    third = {**DEFINITION, "calculation_type": "min"}
    plan = make([want(definition=third)], [live(active=DEFINITION, draft=OTHER)])
    [(_, warning)] = warned(plan)
    assert "(active_definition.data_point.filter_mode, active_definition.source, " in warning
    assert "draft_definition.data_point.filter_mode, draft_definition.source)" in warning


def test_activating_a_staged_draft_drops_the_active_definition_s_fields() -> None:
    plan = make([want(definition=OTHER)], [live(active=DEFINITION, draft=OTHER)])
    assert [a.action for a in plan.actions] == ["activate"]
    [(action, warning)] = warned(plan)
    assert action == "activate"
    # The staged draft becomes the active definition, its own fields with it.
    assert "active_definition.source)" in warning
    assert "draft_definition" not in warning


def test_a_draft_written_for_an_inactive_ca_drops_only_the_draft_s_fields() -> None:
    third = {**DEFINITION, "calculation_type": "min"}
    plan = make([want(definition=third, active=False)], [live(active=DEFINITION, draft=OTHER)])
    assert [a.action for a in plan.actions] == ["update"]
    [(_, warning)] = warned(plan)
    assert "(draft_definition.data_point.filter_mode, draft_definition.source)" in warning


def test_a_ca_left_as_it_is_says_nothing() -> None:
    plan = make([want()], [live(active=DEFINITION)])
    assert plan.empty


def test_a_new_description_or_name_of_an_active_ca_says_nothing() -> None:
    """The definition in use stays in place: nothing is dropped from it."""
    described = make([want(description="new")], [live(active=DEFINITION)])
    assert [a.action for a in described.actions] == ["update"]
    assert warned(described) == []
    stray = make([want(description="new")], [live(active=DEFINITION, draft=OTHER)])
    assert [a.action for a in stray.actions] == ["update"]
    assert warned(stray) == []


def test_a_new_name_of_a_ca_never_activated_drops_its_draft_s_fields() -> None:
    """Its draft is its only definition, and the update that renames it replaces it."""
    renamed = make([want("New", renamed_from="LTV")], [live(draft=DEFINITION)])
    assert [a.action for a in renamed.actions] == ["update", "activate"]
    [(action, warning)] = warned(renamed)
    assert action == "update"
    assert "(draft_definition.data_point.filter_mode, draft_definition.source)" in warning


def test_a_discarded_draft_or_a_staged_draft_says_nothing() -> None:
    """Discarding a stray draft is the plan's own line; a staged draft is activated with its
    fields; an inactive CA whose draft is already desired is left alone."""
    assert warned(make([want()], [live(active=DEFINITION, draft=OTHER)])) == []
    plan = make([want(definition=OTHER)], [live(draft=OTHER)])
    assert [a.action for a in plan.actions] == ["activate"]
    assert warned(plan) == []
    assert make([want(definition=OTHER, active=False)], [live(draft=OTHER)]).empty


def test_known_fields_only_say_nothing() -> None:
    plan = make([want(definition=OTHER)], [found(active=DEFINITION)])
    assert [a.action for a in plan.actions] == ["update", "activate"]
    assert warned(plan) == []
