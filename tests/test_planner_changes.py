"""Field-level changes: paths, and deepdiff only where structures differ."""

from __future__ import annotations

import pytest

from reconciler.plan import changes as planner_changes
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


def test_deepdiff_is_not_called_for_scalar_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("deepdiff ran for a description-only change")

    monkeypatch.setattr(planner_changes, "DeepDiff", refuse)
    definition = {"calculation_type": "sum", "conditions": [{"value": "1"}]}
    changes = changes_between(
        {"name": "a", "description": "", "definition": definition},
        {"name": "a", "description": "new", "definition": dict(definition)},
    )
    assert [c.path for c in changes] == ["description"]
