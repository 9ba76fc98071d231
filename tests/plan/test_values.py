"""Value diffs (plan.values): which definition "before" is in each state of a CA, which
action carries the values, which CAs get none; and that "after" is exactly what
`reconciler test` computes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from reconciler import manifest, testfiles
from reconciler.models import CalculatedAttribute, LiveCA
from reconciler.plan import planner, values
from reconciler.plan.value import Action, FailedTest, FixedTest, Plan, ValueDiff
from reconciler.testfiles import Suite
from tests.plan.states import DEFINITION, OTHER, found, make, want

ROOT = Path(__file__).resolve().parents[2]
#: A count since 2024-01-01 (seeded like the sum it is made from).
COUNT: dict[str, Any] = {**DEFINITION, "calculation_type": "count"}
#: The sum, from March on: the test users' purchases (April, May) all still count.
LATER: dict[str, Any] = {**DEFINITION, "time_period": {"type": "since", "date": "2024-03-01"}}


def _purchase(when: str, amount: int) -> dict[str, Any]:
    return {
        "event_type": "commerce_event",
        "data": {
            "timestamp_unixtime_ms": when,
            "product_action": {"action": "purchase", "total_amount": amount},
            "custom_attributes": {"Total Amount": amount},
        },
    }


def suites(directory: Path, *desired: CalculatedAttribute, alice: Any = 0) -> list[Suite]:
    """alice (seed 100, purchases of 10 and 20 in spring 2024) and bob (nothing), each
    expected to hold a value of LTV (alice `alice`); loaded as `plan` loads them."""
    directory.mkdir(exist_ok=True)
    document = {
        "as_of": "2024-06-01T00:00:00Z",
        "users": {
            "alice": {
                "seeds": {"LTV": {"value": 100}},
                "events": [
                    _purchase("2024-04-01T00:00:00Z", 10),
                    _purchase("2024-05-01T00:00:00Z", 20),
                ],
            },
            "bob": {},
        },
        "expect": {"alice": {"LTV": alice}, "bob": {"LTV": None}},
    }
    (directory / "ltv.test.yaml").write_text(json.dumps(document))
    return testfiles.load(directory, {ca.name: ca.canonical for ca in desired})


def diffs(
    tmp_path: Path, desired: list[CalculatedAttribute], live: list[LiveCA]
) -> tuple[Plan, list[str]]:
    plan = make(desired, live)
    return values.with_values(plan, live, desired, suites(tmp_path, *desired))


def shown(action: Action) -> list[tuple[str, str, str]] | None:
    if action.values is None:
        return None
    return [(d.user, d.before, d.after) for d in action.values]


def test_a_create_goes_from_no_value(tmp_path: Path) -> None:
    plan, notes = diffs(tmp_path, [want()], [])
    create, activate = plan.actions
    assert shown(create) == [("alice", "-", "130"), ("bob", "-", "-")]
    assert activate.values is None
    assert notes == []


def test_an_active_ca_goes_from_its_active_definition(tmp_path: Path) -> None:
    plan, _ = diffs(tmp_path, [want()], [found(active=OTHER)])
    update, activate = plan.actions
    # max of the seed 100 and 10, 20 -> the sum 100 + 10 + 20
    assert shown(update) == [("alice", "100", "130"), ("bob", "-", "-")]
    assert activate.values is None


def test_activating_a_staged_draft_carries_the_values(tmp_path: Path) -> None:
    plan, _ = diffs(tmp_path, [want()], [found(active=OTHER, draft=DEFINITION)])
    (activate,) = plan.actions
    assert activate.action == "activate"
    assert shown(activate) == [("alice", "100", "130"), ("bob", "-", "-")]


def test_a_ca_never_activated_has_no_value_before_even_with_a_draft(tmp_path: Path) -> None:
    plan, _ = diffs(tmp_path, [want()], [found(draft=OTHER)])
    assert [a.action for a in plan.actions] == ["update", "activate"]
    assert shown(plan.actions[0]) == [("alice", "-", "130"), ("bob", "-", "-")]


def test_a_ca_kept_as_a_draft_goes_from_the_draft_it_replaces(tmp_path: Path) -> None:
    # Active: the sum (alice 130); pending draft: max (alice 100); wanted: count, as a draft.
    desired = want(definition=COUNT, active=False)
    plan, _ = diffs(tmp_path, [desired], [found(active=DEFINITION, draft=OTHER)])
    (update,) = plan.actions
    assert shown(update) == [("alice", "100", "102"), ("bob", "-", "0")]


def test_a_ca_kept_as_a_draft_without_one_goes_from_the_active_definition(
    tmp_path: Path,
) -> None:
    desired = want(definition=COUNT, active=False)
    plan, _ = diffs(tmp_path, [desired], [found(active=DEFINITION)])
    assert shown(plan.actions[0]) == [("alice", "130", "102"), ("bob", "-", "0")]


def test_a_change_that_moves_no_value_lists_every_user_unchanged(tmp_path: Path) -> None:
    plan, _ = diffs(tmp_path, [want(definition=LATER)], [found(active=DEFINITION)])
    update = plan.actions[0]
    assert update.values is not None
    assert [d.changed for d in update.values] == [False, False]
    assert shown(update) == [("alice", "130", "130"), ("bob", "-", "-")]


@pytest.mark.parametrize(
    ("desired", "live"),
    [
        (want(description="new words"), found(active=DEFINITION)),  # a description only
        (want(), found(active=DEFINITION, draft=OTHER)),  # a stray draft is discarded
    ],
)
def test_no_definition_change_no_values(
    tmp_path: Path, desired: CalculatedAttribute, live: LiveCA
) -> None:
    plan, _ = diffs(tmp_path, [desired], [live])
    assert plan.actions
    assert all(action.values is None for action in plan.actions)


def test_a_ca_without_test_users_gets_no_values(tmp_path: Path) -> None:
    other = want("Search Count", definition=OTHER)
    plan, _ = diffs(tmp_path, [want(), other], [])
    by_name = {a.name: a for a in plan.actions if a.action == "create"}
    assert by_name["LTV"].values is not None
    assert by_name["Search Count"].values is None


def test_a_live_definition_the_evaluator_cannot_read_is_named_and_left_out(
    tmp_path: Path,
) -> None:
    live = found(active={**DEFINITION, "calculation_type": "median"})
    plan, notes = diffs(tmp_path, [want()], [live])
    assert all(action.values is None for action in plan.actions)
    assert notes == [
        '"LTV": no value diff: the evaluator cannot read its definition '
        "(calculation_type 'median' is unknown)"
    ]


def test_no_suites_no_work(tmp_path: Path) -> None:
    plan = make([want()], [])
    assert values.with_values(plan, [], [want()], []) == (plan, [])


def test_after_is_what_reconciler_test_computes(tmp_path: Path) -> None:
    """Every CA of the example workspace created: each test user's "after" is the value
    `reconciler test` computes for that user and CA."""
    directory = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", directory, ignore=shutil.ignore_patterns(".reconciler"))
    loaded = manifest.load(directory)
    desired = [d.ca for d in loaded.cas]
    definitions = {d.name: d.ca.canonical for d in loaded.cas}
    found_suites = testfiles.load(directory, definitions)
    every_create = planner.plan(desired, [], planner.PlanOptions(workspace_id=1))
    plan, notes = values.with_values(every_create, [], desired, found_suites)
    computed = {
        (outcome.file, outcome.user, outcome.ca): outcome.actual
        for result in testfiles.run(found_suites, definitions)
        for outcome in result.outcomes
    }
    shown_values = {
        (diff.file, diff.user, action.name): diff
        for action in plan.actions
        for diff in action.values or []
    }
    assert notes == []
    assert set(shown_values) == set(computed)
    assert all(d.before == "-" for d in shown_values.values())
    assert {key: d.after for key, d in shown_values.items()} == computed
    assert shown_values[(str(directory / "commerce.test.yaml"), "alice", "LTV")] == ValueDiff(
        user="alice", file=str(directory / "commerce.test.yaml"), before="-", after="129.99"
    )


def test_an_after_value_that_fails_its_test_is_marked_with_what_was_expected(
    tmp_path: Path,
) -> None:
    """alice's file expects 0 (the sum is 130: her test fails), bob's null (he has none)."""
    plan, _ = diffs(tmp_path, [want()], [])
    create = plan.actions[0]
    assert create.values is not None
    alice, bob = create.values
    assert alice.fails_test == FailedTest(expected="0", line=1)  # the file is one JSON line
    assert bob.fails_test is None


def test_a_change_that_makes_a_failing_test_pass_is_marked_with_the_test_it_fixes(
    tmp_path: Path,
) -> None:
    """alice's file expects 130: the active max (100) fails it, the sum (130) holds it.
    bob's expectation (none) holds before and after: nothing to fix. A create fixes no
    test (there is no "before" to fail one), and a change away from 130 fixes nothing."""

    def marks(desired: CalculatedAttribute, live: list[LiveCA]) -> list[Any]:
        plan = make([desired], live)
        folder = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
        found_values = values.with_values(plan, live, [desired], suites(folder, desired, alice=130))
        (carrier,) = [a for a in found_values[0].actions if a.values is not None]
        assert carrier.values is not None
        return [(d.user, d.before, d.after, d.fails_test, d.fixes_test) for d in carrier.values]

    fixed = FixedTest(expected="130", line=1)
    assert marks(want(), [found(active=OTHER)]) == [
        ("alice", "100", "130", None, fixed),
        ("bob", "-", "-", None, None),
    ]
    assert marks(want(), []) == [("alice", "-", "130", None, None), ("bob", "-", "-", None, None)]
    broken = FailedTest(expected="130", line=1)
    assert marks(want(definition=OTHER), [found(active=DEFINITION)]) == [
        ("alice", "130", "100", broken, None),
        ("bob", "-", "-", None, None),
    ]


def test_a_change_is_marked_exactly_where_reconciler_test_fails(tmp_path: Path) -> None:
    """The example workspace with LTV's condition changed (alice's and bob's LTV tests
    fail) and one expectation of a list written in another order (it passes): the marks
    are `reconciler test`'s failures, with its expected values and lines."""
    directory = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", directory, ignore=shutil.ignore_patterns(".reconciler"))
    commerce = directory / "commerce.yaml"
    commerce.write_text(
        commerce.read_text().replace(
            'attribute_name: Checkout Step, value: "22"',
            'attribute_name: Checkout Step, value: "21"',
        )
    )
    engagement = directory / "engagement.test.yaml"
    engagement.write_text(
        engagement.read_text().replace(
            "Screens Visited: [Cart, Home]", "Screens Visited: [Home, Cart]"
        )
    )
    loaded = manifest.load(directory)
    desired = [d.ca for d in loaded.cas]
    definitions = {d.name: d.ca.canonical for d in loaded.cas}
    found_suites = testfiles.load(directory, definitions)
    every_create = planner.plan(desired, [], planner.PlanOptions(workspace_id=1))
    plan, _ = values.with_values(every_create, [], desired, found_suites)
    marked = {
        (diff.file, diff.user, action.name): diff.fails_test
        for action in plan.actions
        for diff in action.values or []
        if diff.fails_test is not None
    }
    failed = {
        (o.file, o.user, o.ca): FailedTest(expected=o.expected, line=o.line)
        for result in testfiles.run(found_suites, definitions)
        for o in result.outcomes
        if o.failed
    }
    assert len(failed) == 2
    assert marked == failed
