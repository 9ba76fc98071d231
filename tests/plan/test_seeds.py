"""Seeds in a plan (SPEC §9): where each CA's `seed` action goes among its steps, when a
plan refuses seeds that could not land, what the record of earlier runs spares, and the
phases apply runs them in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from reconciler.errors import PlanError
from reconciler.models import LiveCA
from reconciler.plan import phases
from reconciler.plan.seeds import AFTER_ACTIVATION, ROLLING, Seeded, SeedFacts, with_seeds
from reconciler.plan.value import Plan, SeedSource
from tests.plan.states import DEFINITION, OTHER, found, make, want

#: DEFINITION is a sum with cutoff 2024-02-01; OTHER a max with the same cutoff.
SUM = ("sum", "2024-02-01")
SOURCE = SeedSource(path="/data/seeds.jsonl", sha256="a" * 64, format="jsonl", users=10)


def facts(
    users: Mapping[str, int],
    shapes: Mapping[str, tuple[str, str | None]] | None = None,
    **extra: Any,
) -> SeedFacts:
    return SeedFacts(
        source=SOURCE,
        users=users,
        shapes=shapes or dict.fromkeys(users, SUM),
        **extra,
    )


def seeded(desired: list[Any], live: list[LiveCA], given: SeedFacts, **options: Any) -> Plan:
    plan = make(desired, live, **options)
    return with_seeds(plan, live, given, [ca.name for ca in desired])


def steps(plan: Plan) -> list[tuple[str, str]]:
    return [(a.action, a.name) for a in plan.actions]


def test_a_new_ca_is_written_then_seeded_then_activated() -> None:
    plan = seeded([want("LTV")], [], facts({"LTV": 7}))
    assert steps(plan) == [("create", "LTV"), ("seed", "LTV"), ("activate", "LTV")]
    action = plan.actions[1]
    assert (action.id, action.users, action.body) == (
        None,
        7,
        {"calculation_type": "sum", "cutoff_date": "2024-02-01"},
    )
    assert plan.seeds == SOURCE
    assert plan.summary.seed == 1
    document = plan.document()["actions"]
    assert document[1]["users"] == 7
    assert "users" not in document[0]  # only seeds say it


def test_an_untouched_ca_is_just_seeded_and_its_fingerprint_kept() -> None:
    live = [found("LTV", id=7, active=DEFINITION), found("Orders", id=8, active=DEFINITION)]
    plan = seeded([want("LTV"), want("Orders")], live, facts({"Orders": 3}))
    assert steps(plan) == [("seed", "Orders")]
    assert plan.actions[0].id == 8
    assert plan.summary.unchanged == 1  # LTV; Orders has an action now
    assert plan.live == {"8": live[1].fingerprint}  # so that apply --plan sees it change


def test_a_staged_draft_is_seeded_before_its_activation() -> None:
    live = [found("LTV", id=7, draft=DEFINITION)]
    plan = seeded([want("LTV")], live, facts({"LTV": 2}))
    assert steps(plan) == [("seed", "LTV"), ("activate", "LTV")]


def test_a_change_that_keeps_the_seed_shape_is_seeded_before_activation() -> None:
    changed = {**DEFINITION, "time_period": {"type": "since", "date": "2023-01-01"}}
    live = [found("LTV", id=7, active=DEFINITION)]
    plan = seeded([want("LTV", definition=changed)], live, facts({"LTV": 2}))
    assert steps(plan) == [("update", "LTV"), ("seed", "LTV"), ("activate", "LTV")]
    assert plan.actions[1].warnings == []


def test_a_new_seed_shape_of_an_active_ca_is_seeded_after_its_activation() -> None:
    live = [found("LTV", id=7, active=DEFINITION)]
    plan = seeded(
        [want("LTV", definition=OTHER)], live, facts({"LTV": 2}, {"LTV": ("max", "2024-02-01")})
    )
    assert steps(plan) == [("update", "LTV"), ("activate", "LTV"), ("seed", "LTV")]
    assert plan.actions[2].warnings == [AFTER_ACTIVATION]


def test_seeds_that_could_never_land_are_refused_with_what_to_do() -> None:
    live = [found("LTV", id=7, active=DEFINITION)]
    with pytest.raises(PlanError) as caught:
        seeded(
            [want("LTV", definition=OTHER, active=False), want("Plain")],
            live,
            facts(
                {"LTV": 1, "Plain": 1, "Elsewhere": 1},
                {"LTV": ("max", "2024-02-01"), "Plain": ("count", None)},
            ),
        )
    message = caught.value.message
    assert '"LTV" as max with cutoff 2024-02-01, but the definition in use stays' in message
    assert "(sum, cutoff 2024-02-01)" in message
    assert '"Plain", whose manifest has no seeding.cutoff_date' in message
    assert '"Elsewhere", which this plan does not cover' in message


def test_seeds_an_earlier_run_landed_are_not_sent_again() -> None:
    live = [found("LTV", id=7, active=DEFINITION), found("Orders", id=8, draft=DEFINITION)]
    record = {"LTV": Seeded(7, SUM), "Orders": Seeded(8, SUM)}
    given = facts({"LTV": 2, "Orders": 2}, seeded=record)
    plan = seeded([want("LTV"), want("Orders")], live, given)
    assert steps(plan) == [("activate", "Orders")]  # both seeded: Orders is activated at once
    again = seeded(
        [want("LTV")], [found("LTV", id=9, active=DEFINITION)], facts({"LTV": 2}, seeded=record)
    )
    assert steps(again) == [("seed", "LTV")]  # another CA by that name (deleted, re-created)
    moved = seeded(
        [want("LTV")],
        [found("LTV", id=7, active=DEFINITION)],
        facts({"LTV": 2}, seeded={"LTV": Seeded(7, ("sum", "2023-01-01"))}),
    )
    assert steps(moved) == [("seed", "LTV")]  # seeded for another cutoff


def test_a_rolling_window_is_seeded_with_a_warning() -> None:
    plan = seeded([want("LTV")], [], facts({"LTV": 1}, rolling=frozenset({"LTV"})))
    assert plan.actions[1].warnings == [ROLLING]


def test_phases_send_each_group_of_seeds_between_the_writes_and_the_activations() -> None:
    live = [
        found("Active", id=1, active=DEFINITION),
        found("Staged", id=2, draft=DEFINITION),
        found("Reshaped", id=3, active=DEFINITION),
        found("Legacy", id=4, active=DEFINITION),
    ]
    desired = [
        want("Active"),
        want("Staged"),
        want("Reshaped", definition=OTHER),
        want("New"),
        want("Unseeded"),
    ]
    given = facts(
        {"Active": 1, "Staged": 1, "Reshaped": 1, "New": 1},
        {**dict.fromkeys(["Active", "Staged", "New"], SUM), "Reshaped": ("max", "2024-02-01")},
    )
    plan = seeded(desired, live, given, prune=True)
    order = [
        (phase.number, [plan.actions[i].action + " " + plan.actions[i].name for i in positions])
        for phase in phases.phases(plan)
        for positions in phase.segments.values()
    ]
    assert order == [
        (phases.FIRST, ["delete Legacy"]),
        (phases.UNWRITTEN, ["seed Active"]),
        (phases.UNWRITTEN, ["seed Staged"]),
        (phases.WRITES, ["create New"]),
        (phases.WRITES, ["update Reshaped"]),
        (phases.WRITES, ["create Unseeded", "activate Unseeded"]),
        (phases.WRITTEN, ["seed New"]),
        (phases.ACTIVATIONS, ["activate New"]),
        (phases.ACTIVATIONS, ["activate Reshaped"]),
        (phases.ACTIVATIONS, ["activate Staged"]),
        (phases.ACTIVATED, ["seed Reshaped"]),
    ]
    assert [p.kind for p in phases.phases(plan)] == [
        "steps",
        "seeds",
        "steps",
        "seeds",
        "steps",
        "seeds",
    ]


def test_without_seeds_the_phases_are_the_first_and_the_rest() -> None:
    live = [found("Legacy", id=4, active=DEFINITION)]
    plan = make([want("New")], live, prune=True)
    assert [p.number for p in phases.phases(plan)] == [phases.FIRST, phases.WRITES]
