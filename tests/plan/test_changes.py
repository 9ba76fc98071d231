"""Field-level changes: paths, a walk only where structures differ, and definitions shown
as the manifest reads (conditions named, operands typed)."""

from __future__ import annotations

from typing import Any

from reconciler.models import LiveCA
from reconciler.plan import planner
from reconciler.plan.changes import changes_between
from tests.plan.states import want
from tests.support.workspace import api_definition


def test_paths_and_values() -> None:
    before = {"name": "a", "description": "", "definition": {"x": 1, "c": [{"v": "1"}]}}
    after = {"name": "b", "description": "", "definition": {"x": 2, "c": [{"v": "2"}], "y": 3}}
    assert [c.model_dump() for c in changes_between(before, after)] == [
        {"path": "definition.c[0].v", "before": "1", "after": "2"},
        {"path": "definition.x", "before": 1, "after": 2},
        {"path": "definition.y", "before": None, "after": 3},
        {"path": "name", "before": "a", "after": "b"},
    ]


def test_a_definition_appearing_is_one_change() -> None:
    (change,) = changes_between({"definition": None}, {"definition": {"x": 1}})
    assert change.model_dump() == {"path": "definition", "before": None, "after": {"x": 1}}


def test_a_description_change_is_the_only_change() -> None:
    definition = {"calculation_type": "sum", "conditions": [{"value": "1"}]}
    changes = changes_between(
        {"name": "a", "description": "", "definition": definition},
        {"name": "a", "description": "new", "definition": dict(definition)},
    )
    assert [c.path for c in changes] == ["description"]


def definition_with(values: list[str]) -> dict[str, object]:
    condition = {"type": "string", "operator": "in_list", "values": values}
    return {"definition": {"conditions": [condition]}}


def test_one_value_added_to_a_list_is_one_addition() -> None:
    changes = changes_between(
        definition_with(["ios", "web"]), definition_with(["app", "ios", "web"])
    )
    assert [c.model_dump() for c in changes] == [
        {"path": "definition.conditions[0].values[0]", "before": None, "after": "app"}
    ]


def test_values_replaced_in_place_are_changes_at_their_index() -> None:
    changes = changes_between(definition_with(["1", "2"]), definition_with(["0", "1"]))
    assert [(c.path, c.before, c.after) for c in changes] == [
        ("definition.conditions[0].values[0]", "1", "0"),
        ("definition.conditions[0].values[1]", "2", "1"),
    ]


def test_conditions_are_compared_item_by_item() -> None:
    first = {"type": "number", "operator": "equals", "value": "1"}
    second = {"type": "number", "operator": "equals", "value": "2"}
    changes = changes_between(
        {"definition": {"conditions": [first, second]}}, {"definition": {"conditions": [second]}}
    )
    assert [(c.path, c.before, c.after) for c in changes] == [
        ("definition.conditions[0].value", "1", "2"),
        ("definition.conditions[1]", second, None),
    ]


def test_a_key_that_is_not_a_word_is_quoted() -> None:
    (change,) = changes_between({"a": {"b c": 1}}, {"a": {"b c": 2}})
    assert change.path == 'a["b c"]'


# Changes as the manifest reads: conditions named by what they test, operands as written.

BASE: dict[str, Any] = {
    "calculation_type": "count",
    "datapoint": {"event_name": "Purchase", "event_type": "commerce_event"},
    "time_period": {"type": "since", "date": "2019-10-01"},
}


def condition(attribute: str, operator: str = "equals", **operand: Any) -> dict[str, Any]:
    return {"type": "number", "operator": operator, "attribute_name": attribute, **operand}


def plan_changes(live: list[dict[str, Any]], desired: list[dict[str, Any]]) -> list[Any]:
    """The (path, before, after) of the update a changed condition list plans."""
    active = api_definition({**BASE, "conditions": live})
    found = LiveCA.model_validate(
        {"id": 7, "name": "LTV", "active_definition": active, "activated_on": "2024-01-01"}
    )
    plan = planner.plan(
        [want(definition={**BASE, "conditions": desired})],
        [found],
        planner.PlanOptions(workspace_id=1),
    )
    (update,) = (action for action in plan.actions if action.action == "update")
    return [(change.path, change.before, change.after) for change in update.changes]


def test_the_first_condition_written_is_named_by_its_attribute_not_by_its_sorted_index() -> None:
    """The canonical form sorts conditions: the manifest's first condition (`Zone`) was
    shown as `conditions[1]`."""
    live = [condition("Zone", value="1"), condition("Amount", "greater_than", value="50")]
    desired = [condition("Zone", value=2), condition("Amount", "greater_than", value=50)]
    assert plan_changes(live, desired) == [('definition.conditions["Zone"].value', 1, 2)]


def test_a_number_operand_reads_as_written_unless_its_type_is_the_change() -> None:
    """`value: 50` was shown as `"50"`."""
    live = [condition("Amount", "greater_than", value="50")]
    assert plan_changes(live, [condition("Amount", "greater_than", value=60.5)]) == [
        ('definition.conditions["Amount"].value', 50, 60.5)
    ]
    as_text = {**condition("Amount", value="50"), "type": "string"}
    assert plan_changes(live, [as_text]) == [
        ('definition.conditions["Amount"].operator', "greater_than", "equals"),
        ('definition.conditions["Amount"].type', "number", "string"),
        ('definition.conditions["Amount"].value', 50, "50"),
    ]


def test_conditions_on_one_attribute_are_told_apart_by_operator_then_operand() -> None:
    live = [
        condition("Amount", "greater_than", value="10"),
        condition("Amount", "less_than", value="100"),
        condition("Step", "equals", value="1"),
        condition("Step", "equals", value="2"),
    ]
    desired = [
        condition("Amount", "greater_than", value=20),
        condition("Amount", "less_than", value=100),
        condition("Step", "equals", value=1),
        condition("Step", "equals", value=3),
    ]
    assert plan_changes(live, desired) == [
        ('definition.conditions["Amount" greater_than].value', 10, 20),
        ('definition.conditions["Step" equals 3].value', 2, 3),
    ]


def test_a_condition_added_and_one_removed_are_named_whole() -> None:
    live = [condition("Step", value="1")]
    desired = [condition("Zone", "between", min_value=1, max_value=5)]
    changes = plan_changes(live, desired)
    assert [path for path, _, _ in changes] == [
        'definition.conditions["Step"]',
        'definition.conditions["Zone"]',
    ]
    removed, added = changes
    assert removed[1]["value"] == 1
    assert removed[2] is None
    assert added[1] is None
    assert (added[2]["min_value"], added[2]["max_value"]) == (1, 5)


def test_a_create_lists_what_the_manifest_wrote() -> None:
    desired = want(
        definition={**BASE, "conditions": [condition("Amount", "greater_than", value=0)]}
    )
    plan = planner.plan([desired], [], planner.PlanOptions(workspace_id=1))
    shown = {change.path: change.after for change in plan.actions[0].changes}
    assert shown['definition.conditions["Amount"].value'] == 0
    assert shown["definition.time_period.date"] == "2019-10-01"
    assert not any(
        path.startswith("definition.conditions[") and path[23].isdigit() for path in shown
    )
