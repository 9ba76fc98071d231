"""Properties of plan + apply against the emulator (its ASGI app, in-process):
plans are deterministic, equal-by-meaning states plan nothing, and random desired and live
states converge in one apply."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reconciler import applier
from reconciler.api.client import PlatformClient
from reconciler.api.http import Http, RetryPolicy
from reconciler.emulator import EmulatorConfig, create_app
from reconciler.models import CalculatedAttribute, LiveCA
from reconciler.plan import planner
from tests.strategies import api_shaped, definitions, meaning_changes
from tests.support.emulator import close_app

T = TypeVar("T")
WORKSPACE = 1234
OPTIONS = planner.PlanOptions(workspace_id=WORKSPACE)


def run_against_emulator(body: Callable[[PlatformClient], Awaitable[T]]) -> T:
    """Run `body` with a client of a fresh in-memory emulator."""

    async def main() -> T:
        app = create_app(EmulatorConfig())
        transport = httpx.ASGITransport(app=app)
        client = PlatformClient(
            Http(httpx.AsyncClient(transport=transport), policy=RetryPolicy(attempts=1)),
            api_url="http://emulator",
            workspace_id=WORKSPACE,
            auth_url="http://emulator/oauth/token",
            client_id="emulator",
            client_secret="emulator",
        )
        try:
            return await body(client)
        finally:
            await client.aclose()
            close_app(app)

    return asyncio.run(main())


@st.composite
def live_entries(draw: st.DrawFn) -> dict[str, Any]:
    """A live CA as someone may have left it: draft only, active, active with a UI draft."""
    state = draw(st.sampled_from(["draft", "active", "active+draft"]))
    return {
        "definition": draw(definitions()),
        "state": state,
        "edited": draw(definitions()) if state == "active+draft" else None,
        "description": draw(st.sampled_from(["", "old words", "Lifetime value"])),
    }


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(live entries with names, desired manifest entries)."""
    live = draw(st.lists(live_entries(), max_size=5))
    for index, entry in enumerate(live):
        entry["name"] = f"Live {index}"
    desired: list[dict[str, Any]] = []
    for entry in live:
        fate = draw(st.sampled_from(["same", "changed", "renamed", "description", "unmanaged"]))
        if fate == "unmanaged":
            continue
        definition = entry["definition"]
        if fate == "changed":
            definition = draw(meaning_changes(definition))
        item: dict[str, Any] = {
            "name": entry["name"],
            "definition": definition,
            "active": draw(st.booleans()),
            "description": entry["description"] or None,
        }
        if fate == "renamed" and entry["state"] == "draft":
            item["name"] = entry["name"] + " renamed"
            item["renamed_from"] = entry["name"]
        if fate == "description":
            item["description"] = "new words"
        desired.append(item)
    for index, definition in enumerate(draw(st.lists(definitions(), max_size=3))):
        desired.append(
            {"name": f"New {index}", "definition": definition, "active": draw(st.booleans())}
        )
    return live, desired


async def stage(client: PlatformClient, entries: list[dict[str, Any]], seed: int) -> None:
    """Create the live entries through the API, in the API's own spellings."""
    for index, entry in enumerate(entries):
        body = {
            "name": entry["name"],
            "description": entry["description"],
            "draft_definition": api_shaped(entry["definition"], seed + index, sendable=True),
        }
        ca_id = await client.create(body)
        if entry["state"] != "draft":
            await client.activate(ca_id)
        if entry["edited"] is not None:
            edited = {
                **body,
                "draft_definition": api_shaped(entry["edited"], seed - index, sendable=True),
            }
            await client.update(ca_id, edited)


def models(desired: list[dict[str, Any]]) -> list[CalculatedAttribute]:
    return [CalculatedAttribute.model_validate(item) for item in desired]


SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(scenarios(), st.integers(0, 10_000))
def test_random_states_converge_in_one_apply(
    scenario: tuple[list[dict[str, Any]], list[dict[str, Any]]], seed: int
) -> None:
    live_entries_, desired = scenario
    wanted = models(desired)

    async def body(client: PlatformClient) -> None:
        await stage(client, live_entries_, seed)
        plan = planner.plan(wanted, await client.list(), OPTIONS)
        for action in plan.actions:
            event(f"{action.action}{' (rename)' if action.renames else ''}")
        report = await applier.apply(plan, client)
        assert report.ok, report.to_json()
        after = await client.list()
        assert planner.plan(wanted, after, OPTIONS).empty
        names = [ca.name for ca in after]
        assert len(names) == len(set(names))

    run_against_emulator(body)


@SLOW
@given(scenarios(), st.integers(0, 10_000), st.randoms(use_true_random=False))
def test_plans_are_deterministic(
    scenario: tuple[list[dict[str, Any]], list[dict[str, Any]]], seed: int, rng: random.Random
) -> None:
    live_entries_, desired = scenario

    async def body(client: PlatformClient) -> list[LiveCA]:
        await stage(client, live_entries_, seed)
        return await client.list()

    live = run_against_emulator(body)
    wanted = models(desired)
    first = planner.plan(wanted, live, OPTIONS)
    assert planner.plan(wanted, live, OPTIONS) == first
    shuffled_live, shuffled_wanted = list(live), list(wanted)
    rng.shuffle(shuffled_live)
    rng.shuffle(shuffled_wanted)
    assert planner.plan(shuffled_wanted, shuffled_live, OPTIONS) == first


@SLOW
@given(st.lists(definitions(), min_size=1, max_size=5), st.integers(0, 10_000))
def test_equal_by_meaning_plans_nothing(found: list[dict[str, Any]], seed: int) -> None:
    entries = [
        {"name": f"CA {i}", "definition": d, "state": "active", "edited": None, "description": ""}
        for i, d in enumerate(found)
    ]
    wanted = models([{"name": e["name"], "definition": e["definition"]} for e in entries])

    async def body(client: PlatformClient) -> list[LiveCA]:
        await stage(client, entries, seed)
        return await client.list()

    plan = planner.plan(wanted, run_against_emulator(body), OPTIONS)
    assert plan.empty, plan.actions
