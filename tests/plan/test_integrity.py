"""`plan.integrity` on every state the planner meets: the plans it makes pass the check
(read back from JSON), and a body edited after the fact is refused by name and field."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from reconciler.models import LiveCA
from reconciler.plan import integrity
from reconciler.plan.value import Plan
from tests.plan.states import DEFINITION, OTHER, found, make, want

THIRD: dict[str, Any] = {**DEFINITION, "calculation_type": "min"}
DEFINITIONS = (None, DEFINITION, OTHER, THIRD)
#: Live (active, draft) x desired definition x active: true/false x description.
STATES = [
    (active, draft, desired, wanted, description)
    for active, draft, desired, wanted, description in itertools.product(
        DEFINITIONS, DEFINITIONS, (DEFINITION, OTHER), (True, False), ("", "new")
    )
    if active is not None or draft is not None
]


def saved(plan: Plan) -> Plan:
    """The plan as `apply --plan` reads it: through its JSON."""
    return Plan.model_validate_json(plan.to_json())


def planned(state: tuple[Any, ...]) -> tuple[Plan, list[LiveCA]]:
    active, draft, desired, wanted, description = state
    live = [
        found("LTV", id=7, active=active, draft=draft, audiences=2),
        found("Gone", id=8, active=DEFINITION),
    ]
    manifests = [
        want("LTV", desired, active=wanted, description=description),
        want("New", OTHER, active=wanted, description=description),
    ]
    return saved(make(manifests, live, prune=True)), live


@pytest.mark.parametrize("state", STATES)
def test_every_plan_the_planner_makes_passes(state: tuple[Any, ...]) -> None:
    plan, live = planned(state)
    assert integrity.offline(plan) == []
    assert integrity.against_live(plan, live) == []


def test_a_rename_passes() -> None:
    live = [found("Old", id=7, draft=DEFINITION)]
    plan = saved(make([want("New", OTHER, renamed_from="Old")], live))
    assert [a.action for a in plan.actions] == ["update", "activate"]
    assert integrity.offline(plan) == []
    assert integrity.against_live(plan, live) == []


@pytest.mark.parametrize("state", [s for s in STATES if planned(s)[0].summary.update])
def test_an_edited_update_body_is_refused(state: tuple[Any, ...]) -> None:
    plan, live = planned(state)
    update = next(a for a in plan.actions if a.action == "update")
    body = {**update.body, "draft_definition": {**update.body["draft_definition"]}}
    body["draft_definition"]["calculation_type"] = "average"
    edited = plan.model_copy(
        update={
            "actions": [
                a.model_copy(update={"body": body}) if a is update else a for a in plan.actions
            ]
        }
    )
    assert integrity.offline(edited) == []  # only the live CA tells
    (problem,) = integrity.against_live(edited, live)
    assert problem.startswith('"LTV" (update, id 7): definition.calculation_type: ')
    assert problem.endswith('"average" is sent') or '"average" is sent, which' in problem
