"""Field-level changes: paths, and a walk only where structures differ."""

from __future__ import annotations

from reconciler.plan.changes import changes_between


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
