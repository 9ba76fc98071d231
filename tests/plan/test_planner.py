"""The planner as a pure function: every rule of SPEC §4.2 (and prune, §4.5) on hand-built
states; the decision table itself is tested row by row in test_steps.py."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.errors import Blocker, PlanError
from reconciler.plan import planner
from reconciler.plan.value import Plan
from tests.plan.states import DEFINITION, OTHER, found, make, want


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


ROLLING: dict[str, Any] = {
    **{key: value for key, value in DEFINITION.items() if key != "seeding"},
    "time_period": {"type": "within", "within": 30, "within_unit": "days"},
}


def rolling(within: object) -> dict[str, Any]:
    return {**ROLLING, "time_period": {**ROLLING["time_period"], "within": within}}


def test_a_live_window_written_as_a_whole_float_is_that_window() -> None:
    """A server's `"within": 30.0` read as no window: the plan showed `None -> 30`, and
    every apply rewrote it."""
    ca = found(active=rolling(30.0))
    assert make([want(definition=ROLLING)], [ca]).empty
    changed = make([want(definition=rolling(60))], [ca])
    assert changed.actions[0].changes[0].model_dump() == {
        "path": "definition.time_period.within",
        "before": 30,
        "after": 60,
    }


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


def test_a_pruned_ca_is_counted_as_a_delete_not_again_as_unmanaged() -> None:
    """With prune, "1 to delete. 1 unchanged, 1 unmanaged." counted three of two live CAs."""
    live = [found(active=DEFINITION), found("Legacy", id=3, active=OTHER)]
    pruned = make([want()], live, prune=True)
    assert steps(pruned) == [("delete", "Legacy")]
    assert pruned.unmanaged == pruned.left_alone == []
    counts = pruned.summary.model_dump(include={"delete", "unchanged", "unmanaged"})
    assert counts == {"delete": 1, "unchanged": 1, "unmanaged": 0}
    kept = make([want()], live)
    assert kept.unmanaged == kept.left_alone == ["Legacy"]
    assert (kept.summary.unchanged, kept.summary.unmanaged) == (1, 1)


def test_used_by_audiences_warning_on_activation() -> None:
    plan = make([want(definition=OTHER)], [found(active=DEFINITION, audiences=1)])
    assert "used by 1 audience" in plan.actions[1].warnings


@pytest.mark.parametrize("count", [None, -1])
def test_an_unknown_audience_count_is_no_count_of_none(count: int | None) -> None:
    """`audience_count or 0` left a CA the answer gave no count for (or -1) unwarned."""
    legacy = found("Legacy", id=3, active=OTHER, audiences=count)
    pruned = make([want()], [found(active=DEFINITION), legacy], prune=True)
    assert [a.warnings for a in pruned.actions] == [["used by an unknown number of audiences"]]
    changed = make([want(definition=OTHER)], [found(active=DEFINITION, audiences=count)])
    assert "used by an unknown number of audiences" in changed.actions[1].warnings


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


def test_the_refusals_are_rules_of_their_own() -> None:
    renamed = want("New", renamed_from="Old")
    assert planner.rename_refused(renamed, found("Old", draft=DEFINITION)) is None
    refused = planner.rename_refused(renamed, found("Old", active=DEFINITION))
    assert refused is not None
    assert "read-only once a CA has been activated" in refused
    assert planner.protect_refused(want(protect=True), []) is None
    assert planner.protect_refused(want(), ["calculation_type"]) is None
    protected = planner.protect_refused(want(protect=True), ["calculation_type"])
    assert protected is not None
    assert "discard its seeds (calculation_type changes)" in protected


def warnings_of(plan: Plan, name: str) -> list[str]:
    return [w for a in plan.actions if a.name == name and a.action == "create" for w in a.warnings]


def test_renamed_from_naming_no_live_ca_suggests_close_live_names() -> None:
    plan = make([want("New", renamed_from="Lifetime Valeu")], [found("Lifetime Value", id=4)])
    assert warnings_of(plan, "New") == [
        'renamed_from "Lifetime Valeu" names no CA in the workspace, so this creates a new '
        'CA; did you mean "Lifetime Value"?'
    ]
    far = make([want("New", renamed_from="Sessions")], [found("Lifetime Value", id=4)])
    assert warnings_of(far, "New") == [
        'renamed_from "Sessions" names no CA in the workspace, so this creates a new CA'
    ]


def test_a_name_that_differs_from_a_live_one_only_in_case_or_unicode_form_warns() -> None:
    plan = make([want("ｌｔｖ", definition=OTHER)], [found("LTV", id=4, active=DEFINITION)])
    assert steps(plan) == [("create", "ｌｔｖ"), ("activate", "ｌｔｖ")]
    assert warnings_of(plan, "ｌｔｖ") == [
        '"ｌｔｖ" differs from the live "LTV" (id 4) only in case, Unicode form or whitespace '
        "around it: this creates a second CA; to change that one, use its name or "
        'renamed_from: "LTV"'
    ]


def test_a_name_that_differs_from_a_live_one_only_in_whitespace_around_it_warns() -> None:
    """A CA named "Total Spend " in the UI and "Total Spend" in a manifest read as one name,
    but the plan created a second CA (with prune, deleted the first) without a word."""
    live = [found("Total Spend ", id=4, active=DEFINITION)]
    plan = make([want("Total Spend", definition=OTHER)], live)
    assert warnings_of(plan, "Total Spend") == [
        '"Total Spend" differs from the live "Total Spend " (id 4) only in case, Unicode form '
        "or whitespace around it: this creates a second CA; to change that one, use its name "
        'or renamed_from: "Total Spend "'
    ]
    typo = make([want("New", renamed_from=" Total Spend")], live)
    assert 'did you mean "Total Spend "?' in warnings_of(typo, "New")[0]


def test_a_new_ca_equal_to_an_unmanaged_one_hints_at_a_missed_rename() -> None:
    live = [found("Old", id=4, active=DEFINITION), found("Kept", id=5, draft=OTHER)]
    plan = make(
        [want("New"), want("Other", definition=OTHER), want("Kept", definition=OTHER)], live
    )
    assert warnings_of(plan, "New") == [
        'same definition as the unmanaged "Old" (id 4): if this is a rename, add '
        'renamed_from: "Old" to keep its id, seeds and audiences'
    ]
    # "Kept" is managed (matched by name): its twin "Other" is no missed rename of it.
    assert warnings_of(plan, "Other") == []


def test_creates_without_a_look_alike_carry_no_hint() -> None:
    plan = make([want("Fresh", definition=OTHER)], [found("LTV", id=4, active=DEFINITION)])
    assert warnings_of(plan, "Fresh") == []


#: A name mParticle accepts: a `"`, a line break and a right-to-left override in it.
TRICKY = 'Evil "x" \n\u202eboN'
#: That name as the plan's change lines write it: quoted, `"` escaped, the rest escaped.
TRICKY_QUOTED = '"Evil \\"x\\" \\n\\u202eboN"'


def refusal(desired: list[Any], live: list[Any]) -> str:
    with pytest.raises(PlanError) as caught:
        make(desired, live)
    return caught.value.message


@pytest.mark.parametrize(
    ("desired", "live", "expected"),
    [
        pytest.param(
            [want(TRICKY, definition=OTHER, protect=True)],
            [found(TRICKY, active=DEFINITION)],
            f"{TRICKY_QUOTED} is protected (protect: true)",
            id="protect",
        ),
        pytest.param(
            [want("New", renamed_from=TRICKY)],
            [found(TRICKY, active=DEFINITION)],
            f'{TRICKY_QUOTED} (id 7) cannot be renamed to "New"',
            id="rename-after-activation",
        ),
        pytest.param(
            [want(TRICKY, renamed_from="Old")],
            [found(TRICKY, id=9, active=DEFINITION), found("Old", id=8, draft=DEFINITION)],
            f'{TRICKY_QUOTED} has renamed_from "Old", but both names exist',
            id="both-names",
        ),
    ],
)
def test_a_refusal_quotes_a_name_as_the_plan_does(
    desired: list[Any], live: list[Any], expected: str
) -> None:
    """A line break in a name broke `Cannot plan:`'s list into a line of its own, and a `"`
    in it read as its end: every refusal names a CA as the plan's change lines do."""
    message = refusal(desired, live)
    assert message.splitlines()[1].startswith(f"  - {expected}"), message
    assert len(message.splitlines()) == 2, message


def test_each_refusal_says_which_ca_and_which_field_of_its_entry_to_fix() -> None:
    """The caller, which knows where each CA is written, places a refusal at its field."""
    cases: list[tuple[list[Any], list[Any], str, str]] = [
        ([want(definition=OTHER, protect=True)], [found(active=DEFINITION)], "LTV", "protect"),
        (
            [want("New", renamed_from="Old")],
            [found("Old", active=DEFINITION)],
            "New",
            "renamed_from",
        ),
        (
            [want("New", renamed_from="Old")],
            [found("New", id=9, active=DEFINITION), found("Old", id=8, draft=DEFINITION)],
            "New",
            "renamed_from",
        ),
        ([want()], [found(id=3), found(id=9)], "LTV", "name"),
        ([want("New", renamed_from="LTV")], [found(id=3), found(id=9)], "New", "renamed_from"),
    ]
    for desired, live, name, field in cases:
        with pytest.raises(PlanError) as caught:
            make(desired, live)
        blockers = caught.value.blockers
        assert [(b.name, b.field) for b in blockers if isinstance(b, Blocker)] == [
            (name, (field,))
        ], blockers


def test_a_renamed_from_hint_quotes_names_as_the_plan_does() -> None:
    plan = make([want("New", renamed_from=TRICKY + "!")], [found(TRICKY, id=4)])
    assert warnings_of(plan, "New") == [
        f'renamed_from "Evil \\"x\\" \\n\\u202eboN!" names no CA in the workspace, so this '
        f"creates a new CA; did you mean {TRICKY_QUOTED}?"
    ]


def test_a_name_two_live_cas_hold_is_an_error_not_a_guess() -> None:
    """A list with two CAs named "LTV" matched the last one, and with prune deleted the
    other: possibly the very CA the manifest describes. mParticle keeps names unique, so
    such a list cannot be planned against."""
    live = [found("LTV", id=3, active=DEFINITION), found("LTV", id=9, active=OTHER)]
    for desired in ([want("LTV")], [want("New", renamed_from="LTV")]):
        with pytest.raises(PlanError, match=r'2 CAs named "LTV" \(ids 3, 9\)'):
            make(desired, live, prune=True)
    # A name no manifest uses is unmanaged as before, each CA listed.
    plan = make([want("Other")], live)
    assert plan.unmanaged == ["LTV", "LTV"]


def test_names_that_differ_only_in_unicode_normalisation_are_shown_apart() -> None:
    """A name typed as é (U+00E9) and one typed as e + U+0301 printed alike ("Café" differs
    from the live "Café"), with no way to see or copy the difference. Such names are written
    with escapes, which YAML reads back in double quotes."""
    plan = make([want("Caf\u00e9", definition=OTHER)], [found("Cafe\u0301", id=4)])
    assert warnings_of(plan, "Caf\u00e9") == [
        '"Caf\\u00e9" differs from the live "Cafe\\u0301" (id 4) only in case, Unicode form '
        "or whitespace around it: this creates a second CA; to change that one, use its name "
        'or renamed_from: "Cafe\\u0301"'
    ]
    # Names that print differently keep their plain spelling.
    cased = make([want("CAFÉ", definition=OTHER)], [found("Cafe\u0301", id=4)])
    assert warnings_of(cased, "CAFÉ")[0].startswith(
        '"CAFÉ" differs from the live "Cafe\u0301" (id 4)'
    )
