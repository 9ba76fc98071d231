"""The planning policies of SPEC §7–§8 as pure functions on hand-built states: ownership
scope and selection (filters on the planner's inputs), preserved UI drafts, the promotion
gate, and the named safety rules with `--allow`."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from reconciler.errors import SafetyError, SettingsError
from reconciler.models import LiveCA
from reconciler.models import live as live_models
from reconciler.plan import planner, promotion, safety, selection
from reconciler.plan.drafts import REPLACES_DRAFT
from reconciler.plan.selection import Chooser
from reconciler.plan.value import Plan
from reconciler.settings import SafetyPolicy
from tests.plan.states import DEFINITION, OTHER, found, want

THIRD: dict[str, Any] = {**DEFINITION, "calculation_type": "min"}


def plan_of(desired: list[Any], live: list[LiveCA], **options: Any) -> Plan:
    return planner.plan(desired, live, planner.PlanOptions(workspace_id=1, **options))


def steps(plan: Plan) -> list[tuple[str, str]]:
    return [(a.action, a.name) for a in plan.actions]


# -- scope and selection -----------------------------------------------------------------


def test_out_of_scope_live_cas_are_invisible() -> None:
    live = [found("Growth LTV", id=1, active=DEFINITION), found("Ops Count", id=2)]
    assert [ca.name for ca in selection.in_scope(live, ["Growth *"])] == ["Growth LTV"]
    assert selection.in_scope(live, None) == live
    assert selection.in_scope(live, ["growth *"]) == []  # case-sensitive
    plan = plan_of([], selection.in_scope(live, ["Growth *"]), prune=True)
    assert steps(plan) == [("delete", "Growth LTV")]  # never "Ops Count"


def test_selection_plans_only_the_chosen_cas_and_counts_the_rest() -> None:
    live = [
        found("A", id=1, active=DEFINITION),
        found("B", id=2, active=DEFINITION),
        found("Old C", id=3, draft=DEFINITION),
        found("Loose", id=4, active=DEFINITION),
        found("Stray", id=5, active=DEFINITION),
    ]
    desired = [want("A", OTHER), want("B", OTHER), want("C", renamed_from="Old C"), want("D")]
    chosen = selection.select(desired, live, Chooser(only=("A", "C", "L*"), exclude=("D",)))
    assert [ca.name for ca in chosen.desired] == ["A", "C"]
    # The live CAs the selected manifests claim (by name or renamed_from), and the
    # unclaimed live CAs whose own names are selected.
    assert [ca.name for ca in chosen.live] == ["A", "Old C", "Loose"]
    assert chosen.not_selected == 3  # B, D, and the unclaimed "Stray"
    plan = plan_of(chosen.desired, chosen.live, prune=True)
    assert steps(plan) == [
        ("update", "C"),
        ("activate", "C"),
        ("delete", "Loose"),
        ("update", "A"),
        ("activate", "A"),
    ]
    everything = selection.select(desired, live, Chooser())
    assert (everything.desired, everything.live, everything.not_selected) == (desired, live, 0)


def test_a_glob_that_selects_nothing_is_named() -> None:
    """`apply --only ltv` (the CA is `LTV`) planned nothing and exited 0, unremarked."""
    chooser = Chooser(only=("ltv", "L*"), exclude=("Stray", "zz*"))
    assert selection.unmatched(chooser, ["LTV", "Stray"]) == ["--only ltv", "--exclude zz*"]
    assert selection.unmatched(Chooser(), []) == []


# -- drafts: preserve --------------------------------------------------------------------


def test_a_ui_draft_is_kept_instead_of_discarded() -> None:
    live = [found(active=DEFINITION, draft=OTHER)]
    assert steps(plan_of([want()], live)) == [("discard_draft", "LTV")]
    kept = plan_of([want()], live, drafts="preserve")
    assert kept.empty
    assert [(n.name, n.id, n.kept) for n in kept.drafts] == [("LTV", 7, True)]
    assert safety.violations(kept, live) == []


def test_a_plan_that_would_overwrite_a_ui_draft_is_refused_by_the_drafts_rule() -> None:
    live = [found(active=DEFINITION, draft=OTHER)]
    plan = plan_of([want(definition=THIRD)], live, drafts="preserve")
    assert steps(plan) == [("update", "LTV"), ("activate", "LTV")]
    assert REPLACES_DRAFT in plan.actions[0].warnings
    assert [(n.name, n.kept) for n in plan.drafts] == [("LTV", False)]
    (violation,) = safety.violations(plan, live)
    assert violation.rule == "drafts"
    with pytest.raises(SafetyError, match=r"\[drafts\] \"LTV\" \(id 7\) holds a draft made"):
        safety.check(plan, live)
    safety.check(plan, live, allowed=["drafts"])
    # A description change would PUT the draft too.
    described = plan_of([want(description="new")], live, drafts="preserve")
    assert [n.kept for n in described.drafts] == [False]


@pytest.mark.parametrize(
    ("change", "planned"),
    [
        ({"description": "new"}, [("update", "LTV")]),
        ({"definition": THIRD}, [("update", "LTV"), ("activate", "LTV")]),
    ],
    ids=["a new description", "a new definition"],
)
def test_an_update_over_a_ui_draft_says_so_where_drafts_are_discarded(
    change: dict[str, Any], planned: list[tuple[str, str]]
) -> None:
    """`drafts: discard` (the default): a stray draft alone is a `discard draft` line, but
    an update writes the full draft, so a new description of an active CA discarded a UI
    edit while its line showed only the description. Not refused: discarding is the policy."""
    live = [found(active=DEFINITION, draft=OTHER)]
    plan = plan_of([want(**change)], live)
    assert steps(plan) == planned
    assert plan.actions[0].warnings == [REPLACES_DRAFT]
    assert all(REPLACES_DRAFT not in action.warnings for action in plan.actions[1:])
    assert plan.drafts == []
    assert safety.violations(plan, live) == []
    # No draft made outside Git (none, or the manifest's own staged): nothing to say.
    for draft in (None, change.get("definition", DEFINITION)):
        quiet = plan_of([want(**change)], [found(active=DEFINITION, draft=draft)])
        assert all(REPLACES_DRAFT not in action.warnings for action in quiet.actions)


@pytest.mark.parametrize("mode", ["discard", "preserve"])
@pytest.mark.parametrize("held", ["no draft", "a draft equal to the active definition"])
def test_the_draft_check_reduces_no_definition_sent_as_the_manifest_has_it(
    mode: str, held: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asking whether a draft was made outside Git, for every matched CA, read `live.active`,
    which reduces each definition: a third of a warm plan of 10,000 unchanged CAs. The
    planner recognises a definition the API sent exactly as the manifest's without that."""
    sent = orjson.loads(orjson.dumps(want().canonical))
    live = LiveCA.model_validate(
        {
            "id": 7,
            "name": "LTV",
            "active_definition": sent,
            "draft_definition": sent if held != "no draft" else None,
            "audience_count": 0,
        }
    )

    def reduced(data: object) -> object:
        raise AssertionError("a definition sent as the manifest's was reduced")

    monkeypatch.setattr(live_models, "canonical_live", reduced)
    assert plan_of([want()], [live], drafts=mode).empty


def test_drafts_that_are_not_ui_edits_are_not_preserved() -> None:
    # The draft is what the manifest wants: activating it replaces nothing.
    staged = plan_of([want(definition=OTHER)], [found(active=DEFINITION, draft=OTHER)])
    assert steps(staged) == [("activate", "LTV")]
    assert (
        plan_of(
            [want(definition=OTHER)], [found(active=DEFINITION, draft=OTHER)], drafts="preserve"
        )
        == staged
    )
    # A CA never activated: its draft is its only definition, which the manifest owns.
    never = plan_of([want(active=False)], [found(draft=OTHER)], drafts="preserve")
    assert steps(never) == [("update", "LTV")]
    assert never.drafts == []


# -- the promotion gate ------------------------------------------------------------------


def gated(plan: Plan, source_desired: list[Any], source_live: list[LiveCA]) -> dict[str, str]:
    result = promotion.gate(plan, "staging", {ca.name: ca for ca in source_desired}, source_live)
    return {
        check.name: ("✓ " if check.promoted else "✗ ") + check.reason for check in result.checks
    }


def test_the_gate_checks_every_created_updated_or_activated_ca() -> None:
    prod_live = [found("Same", id=1, active=DEFINITION), found("Changed", id=2, active=DEFINITION)]
    desired = [
        want("Same"),
        want("Changed", OTHER),
        want("New"),
        want("Staged", OTHER),
        want("Nowhere"),
        want("Inactive there"),
    ]
    plan = plan_of(desired, prod_live)
    source_desired = [
        want("Same"),
        want("Changed", OTHER),
        want("New"),
        want("Staged", OTHER),
        want("Inactive there", active=False),
    ]
    source_live = [
        found("Changed", id=11, active=OTHER),
        found("New", id=12, active=DEFINITION),
        found("Staged", id=13, active=DEFINITION, draft=OTHER),
        found("Inactive there", id=14, draft=DEFINITION),
    ]
    assert gated(plan, source_desired, source_live) == {
        "Changed": "✓ promoted from staging",
        "Inactive there": "✗ inactive in staging by its manifest (active: false there)",
        "New": "✓ promoted from staging",
        "Nowhere": "✗ not declared in staging",
        "Staged": "✗ not yet active in staging (it runs another definition)",
    }
    assert "Same" not in gated(plan, source_desired, source_live)  # unchanged: not gated
    assert gated(plan, source_desired, [])["New"] == "✗ not yet created in staging"


def test_an_override_is_compared_as_the_source_resolves_it() -> None:
    # prod overrides the definition (OTHER); staging runs the CA as staging declares it.
    plan = plan_of([want("LTV", OTHER)], [])
    checked = gated(plan, [want("LTV", DEFINITION)], [found("LTV", active=DEFINITION)])
    assert checked == {"LTV": "✓ promoted from staging"}


def test_a_failed_gate_is_the_promotion_rule() -> None:
    plan = plan_of([want("LTV")], [])
    gate = promotion.gate(plan, "staging", {}, [])
    plan = plan.model_copy(update={"promotion": gate})
    with pytest.raises(SafetyError) as caught:
        safety.check(plan, [])
    assert caught.value.message == (
        'refusing this plan: [promotion] "LTV" is not declared in staging: staging\'s own '
        "manifests do not run it, so no apply of staging passes the gate; declare it there, "
        "active, first. If that is intended, pass --allow promotion (or --force to allow every "
        "rule)."
    )
    safety.check(plan, [], allowed=["promotion"])


def test_the_gate_says_apply_the_source_only_where_that_passes_it() -> None:
    """A CA that staging's own manifests leave out, or keep inactive, was refused with
    "apply --env staging first": no apply of staging ever runs it, so that advice could
    not pass the gate. Only a CA staging's manifests run gets it."""
    plan = plan_of([want("Nowhere"), want("Inactive there"), want("New")], [])
    source = {"Inactive there": want("Inactive there", active=False), "New": want("New")}
    gate = promotion.gate(plan, "staging", source, [])
    violations = safety.violations(plan.model_copy(update={"promotion": gate}), [])
    assert [(v.rule, v.message) for v in violations] == [
        ("promotion", '"New" is not yet created in staging: apply --env staging first'),
        (
            "promotion",
            '"Inactive there" is inactive in staging by its manifest (active: false there), '
            '"Nowhere" is not declared in staging: staging\'s own manifests do not run them, '
            "so no apply of staging passes the gate; declare them there, active, first",
        ),
    ]


def test_a_saved_gate_is_checked_again_against_the_source_as_it_is_now() -> None:
    plan = plan_of([want("LTV"), want("New")], [])
    gate = promotion.gate(
        plan, "staging", {"LTV": want("LTV"), "New": want("New")}, [found(active=DEFINITION)]
    )
    assert [(c.name, c.promoted) for c in gate.checks] == [("LTV", True), ("New", False)]
    now = [found(active=DEFINITION), found("New", id=8, active=DEFINITION)]
    assert promotion.unpromoted(gate, now) == []  # New was promoted since
    moved = [found(active=OTHER), found("New", id=8, active=DEFINITION)]
    assert [c.name for c in promotion.unpromoted(gate, moved)] == ["LTV"]
    assert [c.name for c in promotion.unpromoted(gate, [])] == ["LTV", "New"]
    undeclared = promotion.gate(plan, "staging", {}, now)
    assert [c.name for c in promotion.unpromoted(undeclared, now)] == ["LTV", "New"]


# -- safety rules ------------------------------------------------------------------------


def test_each_rule_by_name() -> None:
    live = [found(f"CA {n}", id=n + 1, active=DEFINITION) for n in range(4)]
    live[0] = found("CA 0", id=1, active=DEFINITION, audiences=2)
    plan = plan_of([want("CA 2", OTHER), want("CA 3", OTHER)], live, prune=True)
    policy = SafetyPolicy(
        max_change_percent=50, min_workspace_size=4, allow_delete=False, max_activations=1
    )
    found_rules = {(v.rule, v.message) for v in safety.violations(plan, live, policy)}
    assert found_rules == {
        ("threshold", "the plan changes or deletes 4 of the workspace's 4 CAs (more than 50%)"),
        (
            "delete",
            'deleting "CA 0" (id 1): this environment does not allow deletes '
            "(safety.allow_delete: false)",
        ),
        (
            "delete",
            'deleting "CA 1" (id 2): this environment does not allow deletes '
            "(safety.allow_delete: false)",
        ),
        ("delete-in-use", 'deleting "CA 0" (id 1) breaks 2 audiences that use it'),
        (
            "activations",
            "the plan activates 2 CAs (more than safety.max_activations: 1); each "
            "activation starts a recalculation",
        ),
    }
    assert safety.violations(plan, live) == [
        v for v in safety.violations(plan, live) if v.rule == "delete-in-use"
    ]
    with pytest.raises(SafetyError) as caught:
        safety.check(plan, live, policy=policy, allowed=["delete", "threshold"])
    assert "[delete-in-use]" in caught.value.message
    assert "[activations]" in caught.value.message
    assert "[threshold]" not in caught.value.message
    assert "--allow delete-in-use --allow activations" in caught.value.message
    safety.check(plan, live, policy=policy, force=True)


def test_allow_names_are_checked_with_did_you_mean() -> None:
    assert safety.allowed_rules(["drafts", "drafts", "promotion"]) == ["drafts", "promotion"]
    assert safety.allowed_rules([], force=True) == list(safety.RULES)
    with pytest.raises(SettingsError, match="did you mean `threshold`"):
        safety.allowed_rules(["thresold"])
    assert set(safety.RULES) >= {
        "threshold",
        "delete",
        "delete-in-use",
        "activations",
        "drafts",
        "promotion",
    }


def test_a_rule_joins_the_table_by_name() -> None:
    @safety.rule("test-only")
    def _never(facts: safety.Facts) -> list[str]:
        return [f"{len(facts.plan.actions)} actions"]

    try:
        plan = plan_of([want()], [])
        assert [v.rule for v in safety.violations(plan, [])] == ["test-only"]
        assert safety.allowed_rules(["test-only"]) == ["test-only"]
    finally:
        del safety.RULES["test-only"]
