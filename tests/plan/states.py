"""Hand-built desired and live states for the planner's tests: one definition, another
one, and live CAs as the API returns them (other spellings, same meaning)."""

from __future__ import annotations

from typing import Any

from reconciler.models import CalculatedAttribute, LiveCA
from reconciler.plan import planner
from reconciler.plan.value import Plan
from tests.support.workspace import PURCHASES

#: The scenarios' purchases CA without its condition: a sum since 2024-01-01, seeded.
DEFINITION: dict[str, Any] = {key: value for key, value in PURCHASES.items() if key != "conditions"}
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
    audiences: int | None = 0,
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
