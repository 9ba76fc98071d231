"""Property: for random manifests with environments and overrides, applying in every
environment (twice over, the second time to other random manifests) leaves `plan --env
all` empty. The embedded emulator runs in-process, one database per environment."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reconciler import applier, manifest
from reconciler.api import transports as target
from reconciler.settings import Flags, resolve
from reconciler.workspace import Workspace, planning
from tests.strategies import definitions
from tests.support.cli import run_cli

NAMES = ("dev", "staging", "prod")
SETTINGS = {
    "environments": {
        "dev": {"workspace_id": 1},
        "staging": {"workspace_id": 2, "drafts": "preserve"},
        "prod": {"workspace_id": 3, "promote_from": "staging", "prune": True},
    }
}
POOL = ["Growth A", "Growth B", "Growth C", "Other D", "Other E"]


def _replacing(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """An override that turns `base` into `other` through a deep merge (null removes)."""
    patch: dict[str, Any] = {}
    for key in base.keys() | other.keys():
        if key not in other:
            patch[key] = None
        elif isinstance(base.get(key), dict) and isinstance(other[key], dict):
            patch[key] = _replacing(base[key], other[key])
        else:
            patch[key] = other[key]
    return patch


@st.composite
def cas(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(st.lists(st.sampled_from(POOL), unique=True, max_size=4))
    found = []
    for name in names:
        definition = draw(definitions())
        item: dict[str, Any] = {
            "name": name,
            "definition": definition,
            "active": draw(st.booleans()),
        }
        where = draw(
            st.one_of(st.none(), st.lists(st.sampled_from(NAMES), min_size=1, unique=True))
        )
        if where is not None:
            item["environments"] = where
        overrides: dict[str, Any] = {}
        for environment in where or NAMES:
            kind = draw(st.sampled_from(["none", "active", "description", "definition"]))
            if kind == "active":
                overrides[environment] = {"active": not item["active"]}
            elif kind == "description":
                overrides[environment] = {"description": f"in {environment}"}
            elif kind == "definition":
                other = draw(definitions())
                overrides[environment] = {"definition": _replacing(definition, other)}
        if overrides:
            item["overrides"] = overrides
        found.append(item)
    return found


def write(directory: Path, items: list[dict[str, Any]]) -> None:
    (directory / "reconciler.yaml").write_text(json.dumps(SETTINGS))
    (directory / "cas.yaml").write_text(
        json.dumps({"calculated_attributes": items}, default=str, indent=1)
    )


async def apply_everywhere(directory: Path) -> None:
    """Plan and apply each environment in promotion order, the way `apply --env` does."""
    loaded = manifest.load(directory)
    options = planning.Options(allowed=("promotion", "drafts"))
    for name in NAMES:
        ws = Workspace(loaded, resolve(directory, loaded.settings, Flags(environment=name), {}))
        async with target.platform(ws.settings) as client:
            planned = planning.build(ws, await client.list(), options)
            for action in planned.plan.actions:
                event(f"{action.action} in {name}")
            report = await applier.apply(planned.plan, client)
            assert report.ok, report.to_json()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cas(), cas())
def test_apply_in_every_environment_then_plan_all_is_empty(
    first: list[dict[str, Any]], second: list[dict[str, Any]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        for items in (first, second):
            write(directory, items)
            asyncio.run(apply_everywhere(directory))
        result = run_cli(
            "plan", directory, "--env", "all", "--detailed-exitcode", "--allow", "promotion"
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.count("No changes.") == len(NAMES)
