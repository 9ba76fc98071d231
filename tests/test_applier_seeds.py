"""The applier with seeds, against the emulator server and a seeder that stands in for the
seeding pipeline (`apply --seeds` end to end is in tests/commands/test_apply_seeds.py):
each group is handed over at its moment, a CA is activated only once its seeds landed,
and a failure stops everything after it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler import applier
from reconciler.api import transports as target
from reconciler.applier import SeedResult
from reconciler.errors import ReconcilerError
from reconciler.models import CalculatedAttribute, LiveCA
from reconciler.plan import planner
from reconciler.plan.report import ApplyReport
from reconciler.plan.report_text import progress_line, report_text
from reconciler.plan.seeds import SeedFacts, with_seeds
from reconciler.plan.value import Plan, SeedSource
from reconciler.settings import SettingsFile, resolve
from tests.support.emulator import EmulatorServer
from tests.support.workspace import PURCHASES, WORKSPACE, RawApi, ca, env_for

SHAPE = ("sum", "2024-02-01")
SOURCE = SeedSource(path="/seeds.jsonl", sha256="b" * 64, format="jsonl", users=9)


class Seeder:
    """Records each group it is handed, with what the workspace held at that moment."""

    def __init__(self, raw: RawApi, answer: Any = None) -> None:
        self.raw = raw
        self.answer = answer
        self.calls: list[tuple[dict[str, int], bool, dict[str, bool]]] = []

    async def __call__(self, cas: Mapping[str, int], first: bool) -> Mapping[str, SeedResult]:
        active = {item["name"]: item["active_definition"] is not None for item in self.raw.list()}
        self.calls.append((dict(cas), first, {name: active[name] for name in cas}))
        if isinstance(self.answer, Exception):
            raise self.answer
        if callable(self.answer):
            found: Mapping[str, SeedResult] = self.answer(cas)
            return found
        return {name: SeedResult(landed=3) for name in cas}


def seeded_plan(raw: RawApi, names: list[str]) -> Plan:
    desired = [CalculatedAttribute.model_validate(ca(name, PURCHASES)) for name in names]
    live = [LiveCA.model_validate(item) for item in raw.list()]
    plan = planner.plan(desired, live, planner.PlanOptions(workspace_id=WORKSPACE))
    given = SeedFacts(
        source=SOURCE, users=dict.fromkeys(names, 3), shapes=dict.fromkeys(names, SHAPE)
    )
    return with_seeds(plan, live, given, names)


async def run(tmp_path: Path, emulator: EmulatorServer, plan: Plan, seeder: Any) -> ApplyReport:
    file = SettingsFile(workspace_id=WORKSPACE)
    settings = resolve(tmp_path, file, environ=env_for(emulator.url))
    async with target.platform(settings) as client:
        return await applier.apply(plan, client, seeder=seeder)


async def test_each_group_is_seeded_at_its_moment_and_activated_after(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    old = raw.create("Old", PURCHASES)
    raw.activate(old)
    plan = seeded_plan(raw, ["New", "Old"])
    assert [(a.action, a.name) for a in plan.actions] == [
        ("create", "New"),
        ("seed", "New"),
        ("activate", "New"),
        ("seed", "Old"),
    ]
    seeder = Seeder(raw)
    report = await run(tmp_path, emulator, plan, seeder)
    assert report.ok, report.to_json()
    new = raw.by_name()["New"]["id"]
    assert seeder.calls == [
        ({"Old": old}, True, {"Old": True}),  # untouched: first, before any write
        ({"New": new}, False, {"New": False}),  # written, not yet active
    ]
    assert raw.by_name()["New"]["active_definition"] is not None
    lines = [progress_line(progress) for progress in report.cas()]
    assert lines == [
        f'"New" (id {new}): drafted, seeded (3 users), activated',
        f'"Old" (id {old}): seeded (3 users)',
    ]
    assert report.to_json()["cas"][0] == {
        "name": "New",
        "id": new,
        "reached": ["drafted", "seeded", "activated"],
        "users_seeded": 3,
        "failed": None,
        "message": "",
        "not_started": [],
    }


async def test_refused_users_leave_every_ca_unactivated(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    plan = seeded_plan(raw, ["A", "B"])

    def answer(cas: Mapping[str, int]) -> dict[str, SeedResult]:
        return {"A": SeedResult(landed=3), "B": SeedResult(landed=2, refused=1)}

    report = await run(tmp_path, emulator, plan, Seeder(raw, answer))
    assert not report.ok
    held = raw.by_name()
    assert all(held[name]["active_definition"] is None for name in ("A", "B"))
    lines = [progress_line(progress) for progress in report.cas()]
    assert lines == [
        f'"A" (id {held["A"]["id"]}): drafted, seeded (3 users); activate not started',
        f'"B" (id {held["B"]["id"]}): drafted; seed failed: 1 of its users were refused by the '
        "server (see the rejects file); activate not started",
    ]
    text = "\n".join(str(line) for line in report_text(report))
    assert "No CA was activated before all its seeds were confirmed." in text
    # Told to re-run `reconciler apply`, a user who left --seeds out had A and B activated
    # with their seeds unsent.
    assert "Re-run `reconciler apply` with the same `--seeds FILE` to continue" in text


async def test_a_group_that_cannot_start_fails_every_seed_in_it(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    plan = seeded_plan(raw, ["A", "B"])
    report = await run(tmp_path, emulator, plan, Seeder(raw, ReconcilerError("no credentials")))
    seeds = [o for o in report.outcomes if o.action.action == "seed"]
    assert [(o.status, o.message) for o in seeds] == [("failed", "no credentials")] * 2
    assert [o.status for o in report.outcomes if o.action.action == "activate"] == [
        "not_started"
    ] * 2


async def test_an_interrupted_group_is_said_so(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    plan = seeded_plan(raw, ["A"])

    def answer(cas: Mapping[str, int]) -> dict[str, SeedResult]:
        return {"A": SeedResult(error="interrupted by SIGINT", interrupted=True)}

    report = await run(tmp_path, emulator, plan, Seeder(raw, answer))
    assert report.interrupted
    assert report.to_json()["interrupted"] is True
    assert raw.by_name()["A"]["active_definition"] is None
