"""The planner as a pure function: every rule of SPEC §4.2 and §4.5 on hand-built states."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.errors import PlanError, SafetyError
from reconciler.models import CalculatedAttribute, LiveCA
from reconciler.plan import planner, safety
from reconciler.plan.value import Plan

DEFINITION: dict[str, Any] = {
    "calculation_type": "sum",
    "datapoint": {
        "event_name": "Purchase",
        "event_type": "commerce_event",
        "custom_event_type": "purchase",
        "attribute_name": "Total Amount",
    },
    "time_period": {"type": "since", "date": "2024-01-01"},
    "seeding": {"cutoff_date": "2024-02-01"},
}
OTHER: dict[str, Any] = {**DEFINITION, "calculation_type": "max"}


def want(
    name: str = "LTV", definition: dict[str, Any] | None = None, **extra: Any
) -> CalculatedAttribute:
    return CalculatedAttribute.model_validate(
        {"name": name, "definition": definition or DEFINITION, **extra}
    )


def api(definition: dict[str, Any] | None) -> dict[str, Any] | None:
    """A definition as the API returns it (other spellings, same meaning)."""
    if definition is None:
        return None
    return {
        **definition,
        "data_point": definition["datapoint"],
        "time_period": {**definition["time_period"], "date": "2024-01-01T00:00:00"},
        "conditions": None,
    }


def found(
    name: str = "LTV",
    *,
    id: int = 7,
    active: dict[str, Any] | None = None,
    draft: dict[str, Any] | None = None,
    description: str | None = None,
    audiences: int = 0,
    activated_on: str | None = None,
) -> LiveCA:
    return LiveCA.model_validate(
        {
            "id": id,
            "name": name,
            "description": description,
            "active_definition": api(active),
            "draft_definition": api(draft),
            "audience_count": audiences,
            "activated_on": activated_on or ("2024-01-01T00:00:00Z" if active else None),
        }
    )


def make(desired: list[CalculatedAttribute], live: list[LiveCA], prune: bool = False) -> Plan:
    return planner.plan(desired, live, planner.PlanOptions(workspace_id=1, prune=prune))


def steps(plan: Plan) -> list[tuple[str, str]]:
    return [(a.action, a.name) for a in plan.actions]


def test_absent_ca_is_created_then_activated() -> None:
    plan = make([want()], [])
    assert steps(plan) == [("create", "LTV"), ("activate", "LTV")]
    create = plan.actions[0]
    assert create.id is None
    assert create.body["name"] == "LTV"
    assert create.body["draft_definition"]["datapoint"]["event_name"] == "Purchase"
    assert {"path": "definition.calculation_type", "before": None, "after": "sum"} in [
        c.model_dump() for c in create.changes
    ]
    assert plan.summary.create == 1
    assert plan.summary.activate == 1


def test_inactive_ca_is_created_as_a_draft_only() -> None:
    assert steps(make([want(active=False)], [])) == [("create", "LTV")]


def test_equal_definitions_in_other_spellings_plan_nothing() -> None:
    plan = make([want()], [found(active=DEFINITION)])
    assert plan.empty
    assert plan.summary.unchanged == 1


def test_changed_definition_updates_then_activates_with_recalculation() -> None:
    plan = make([want(definition=OTHER)], [found(active=DEFINITION)])
    assert steps(plan) == [("update", "LTV"), ("activate", "LTV")]
    assert plan.actions[0].changes[0].model_dump() == {
        "path": "definition.calculation_type",
        "before": "sum",
        "after": "max",
    }
    assert "recalculates" in plan.actions[1].warnings
    assert "invalidates seeds" in plan.actions[1].warnings


def test_staged_draft_is_only_activated() -> None:
    plan = make([want(definition=OTHER)], [found(active=DEFINITION, draft=OTHER)])
    assert steps(plan) == [("activate", "LTV")]
    assert plan.actions[0].changes  # shows what activation changes


def test_stray_draft_of_an_active_ca_is_discarded() -> None:
    plan = make([want()], [found(active=DEFINITION, draft=OTHER)])
    assert steps(plan) == [("discard_draft", "LTV")]
    assert plan.actions[0].changes[0].model_dump() == {
        "path": "definition.calculation_type",
        "before": "max",
        "after": "sum",
    }


def test_inactive_desired_keeps_the_definition_as_a_draft() -> None:
    plan = make([want(definition=OTHER, active=False)], [found(active=DEFINITION)])
    assert steps(plan) == [("update", "LTV")]
    # Already staged: nothing to do, and the active definition is left alone.
    assert make(
        [want(definition=OTHER, active=False)], [found(active=DEFINITION, draft=OTHER)]
    ).empty


def test_inactive_desired_equal_to_active_discards_a_stray_draft() -> None:
    plan = make([want(active=False)], [found(active=DEFINITION, draft=OTHER)])
    assert steps(plan) == [("discard_draft", "LTV")]


def test_description_only_change_is_an_update_without_activation() -> None:
    plan = make([want(description="Lifetime value")], [found(active=DEFINITION, description="old")])
    assert steps(plan) == [("update", "LTV")]
    assert plan.actions[0].changes[0].model_dump() == {
        "path": "description",
        "before": "old",
        "after": "Lifetime value",
    }
    assert plan.actions[0].body["draft_definition"]["calculation_type"] == "sum"


def test_missing_description_equals_empty() -> None:
    assert make([want()], [found(active=DEFINITION, description="")]).empty


def test_rename_before_activation_updates_in_place() -> None:
    plan = make([want("New", renamed_from="Old")], [found("Old", draft=DEFINITION)])
    assert steps(plan) == [("update", "New"), ("activate", "New")]
    assert plan.actions[0].id == 7
    assert plan.actions[0].body["name"] == "New"
    assert {"path": "name", "before": "Old", "after": "New"} in [
        c.model_dump() for c in plan.actions[0].changes
    ]


def test_renames_come_before_creates() -> None:
    plan = make(
        [want("A new one"), want("Z renamed", renamed_from="Old")], [found("Old", draft=DEFINITION)]
    )
    assert steps(plan)[0] == ("update", "Z renamed")


def test_rename_of_an_activated_ca_is_an_error() -> None:
    with pytest.raises(PlanError) as caught:
        make([want("New", renamed_from="Old")], [found("Old", active=DEFINITION)])
    assert "names are read-only once a CA has been activated" in caught.value.message


def test_rename_of_a_ca_activated_before_but_now_draft_only_is_an_error() -> None:
    live = found("Old", draft=DEFINITION, activated_on="2024-01-01T00:00:00Z")
    with pytest.raises(PlanError):
        make([want("New", renamed_from="Old")], [live])


def test_renamed_from_is_ignored_once_the_new_name_exists() -> None:
    plan = make([want("New", renamed_from="Old")], [found("New", id=9, active=DEFINITION)])
    assert plan.empty


def test_both_names_existing_is_an_error() -> None:
    with pytest.raises(PlanError, match="both names exist"):
        make(
            [want("New", renamed_from="Old")],
            [found("New", id=9, active=DEFINITION), found("Old", id=8, draft=DEFINITION)],
        )


def test_unmanaged_cas_are_listed_not_deleted() -> None:
    plan = make([want()], [found(active=DEFINITION), found("Legacy", id=3, active=OTHER)])
    assert plan.empty
    assert plan.unmanaged == ["Legacy"]
    assert plan.summary.unmanaged == 1


def test_prune_deletes_unmanaged_cas_first() -> None:
    plan = make([want("Fresh")], [found("Legacy", id=3, active=OTHER, audiences=2)], prune=True)
    assert steps(plan) == [("delete", "Legacy"), ("create", "Fresh"), ("activate", "Fresh")]
    assert plan.actions[0].warnings == ["used by 2 audiences"]


def test_used_by_audiences_warning_on_activation() -> None:
    plan = make([want(definition=OTHER)], [found(active=DEFINITION, audiences=1)])
    assert "used by 1 audience" in plan.actions[1].warnings


def test_protect_turns_seed_invalidation_into_an_error() -> None:
    with pytest.raises(PlanError, match="protected"):
        make([want(definition=OTHER, protect=True)], [found(active=DEFINITION)])
    cutoff = {**DEFINITION, "seeding": {"cutoff_date": "2024-03-01"}}
    with pytest.raises(PlanError, match=r"seeding\.cutoff_date"):
        make([want(definition=cutoff, protect=True)], [found(active=DEFINITION)])


def test_protect_allows_changes_that_keep_seeds() -> None:
    later = {**DEFINITION, "time_period": {"type": "since", "date": "2023-01-01"}}
    plan = make([want(definition=later, protect=True)], [found(active=DEFINITION)])
    assert steps(plan) == [("update", "LTV"), ("activate", "LTV")]
    assert "invalidates seeds" not in plan.actions[1].warnings


def test_plan_records_fingerprints_of_the_cas_it_touches() -> None:
    live = [
        found(active=DEFINITION),
        found("Legacy", id=3, active=OTHER),
        found("Same", id=4, active=DEFINITION),
    ]
    plan = make([want(description="new"), want("Same")], live, prune=True)
    assert plan.live == {"7": live[0].fingerprint, "3": live[1].fingerprint}


def test_plan_is_json_round_trip_stable(tmp_path: Any) -> None:
    plan = make([want("New", renamed_from="Old"), want("X")], [found("Old", draft=DEFINITION)])
    path = tmp_path / "plan.json"
    plan.save(path)
    assert Plan.load(path) == plan


def test_safety_refuses_deleting_used_cas_without_force() -> None:
    live = [found("Legacy", id=3, active=OTHER, audiences=2)]
    plan = make([], live, prune=True)
    with pytest.raises(SafetyError, match="breaks 2 audiences"):
        safety.check(plan, live, force=False)
    safety.check(plan, live, force=True)


def test_safety_threshold_counts_touched_share_of_large_workspaces() -> None:
    live = [found(f"CA {n}", id=n, active=DEFINITION) for n in range(10)]
    desired = [want(f"CA {n}", definition=OTHER if n < 4 else DEFINITION) for n in range(10)]
    plan = make(desired, live)
    with pytest.raises(SafetyError, match="changes or deletes 4 of the workspace's 10 CAs"):
        safety.check(plan, live, force=False)
    three = [want(f"CA {n}", definition=OTHER if n < 3 else DEFINITION) for n in range(10)]
    safety.check(make(three, live), live, force=False)
    small = make(desired[:4], live[:4])
    safety.check(small, live[:4], force=False)  # workspaces under 10 CAs are exempt


def test_activating_staged_drafts_is_not_a_large_change() -> None:
    live = [found(f"CA {n}", id=n, draft=DEFINITION) for n in range(10)]
    plan = make([want(f"CA {n}") for n in range(10)], live)
    assert [a.action for a in plan.actions] == ["activate"] * 10
    safety.check(plan, live, force=False)
