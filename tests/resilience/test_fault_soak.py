"""Fault soak: plan and apply against an emulator server that fails 30% of API requests
with every fault kind (500, 503, 429, dropped connection, commit-then-500).

Each seed stages a workspace holding every kind of pending change (see `scenario`),
applies it under faults, and checks that one apply converges: no duplicate name, every CA
equal to what a fault-free client gets for the same definition, existing CAs changed in
place, and the re-plan (still under faults) is empty.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import StartEmulator
from tests.resilience.scenario import check_converged, reference, shape, stage
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import RawApi, ca, env_for, write_manifests

FAULT_RATE = 0.3
FAULT_KINDS = {
    "server_error",
    "service_unavailable",
    "too_many_requests",
    "dropped_connection",
    "commit_then_500",
}
APPLY_SEEDS = [1, 2, 3, 4, 5, 6]
SAVED_PLAN_SEEDS = [7, 8]


@pytest.fixture
def soak(start_emulator: StartEmulator, request: pytest.FixtureRequest) -> EmulatorServer:
    """An emulator server of its own whose faults follow the test's seed (off until set)."""
    seed: int = request.param
    return start_emulator(fault_seed=seed)


@pytest.mark.parametrize("soak", APPLY_SEEDS, indirect=True, ids=[f"seed{s}" for s in APPLY_SEEDS])
def test_apply_converges_in_one_run_under_faults(
    soak: EmulatorServer, emulator: EmulatorServer, tmp_path: Path
) -> None:
    scenario = stage(soak.url)
    wanted = reference(emulator, scenario.desired)
    directory = write_manifests(tmp_path, scenario.desired, settings={"prune": True})
    env = env_for(soak.url)
    soak.settings(fault_rate=FAULT_RATE)

    applied = run_cli("apply", directory, "--auto-approve", "--force", env=env)
    assert applied.exit_code == 0, applied.output
    assert "Apply complete" in applied.stdout
    replan = run_cli("plan", directory, "--detailed-exitcode", env=env)
    assert replan.exit_code == 0, replan.output
    assert "No changes." in replan.stdout

    assert sum(soak.stats()["faults"].values()) >= 5
    check_converged(soak, scenario, wanted)


@pytest.mark.parametrize(
    "soak", SAVED_PLAN_SEEDS, indirect=True, ids=[f"seed{s}" for s in SAVED_PLAN_SEEDS]
)
def test_saved_plan_applies_under_faults(
    soak: EmulatorServer, emulator: EmulatorServer, tmp_path: Path
) -> None:
    scenario = stage(soak.url)
    wanted = reference(emulator, scenario.desired)
    directory = write_manifests(tmp_path / "m", scenario.desired, settings={"prune": True})
    saved = tmp_path / "plan.json"
    env = env_for(soak.url)
    soak.settings(fault_rate=FAULT_RATE)

    planned = run_cli("plan", directory, "--out", saved, "--force", env=env)
    assert planned.exit_code == 0, planned.output
    summary = json.loads(saved.read_text())["summary"]
    assert (summary["create"], summary["delete"]) == (scenario.creates, 2)
    applied = run_cli("apply", "--plan", saved, directory, "--force", env=env)
    assert applied.exit_code == 0, applied.output
    replan = run_cli("plan", directory, "--detailed-exitcode", env=env)
    assert replan.exit_code == 0, replan.output

    check_converged(soak, scenario, wanted)


def test_the_soak_meets_every_fault_kind(start_emulator: StartEmulator, tmp_path: Path) -> None:
    """At the soak's rate, 20 new CAs meet every kind of fault, and at least one create is
    committed with its answer lost, so adoption by name is exercised, not assumed."""
    server = start_emulator(fault_seed=APPLY_SEEDS[0], fault_rate=FAULT_RATE)
    directory = write_manifests(tmp_path, [ca(f"CA {n}", shape(n)) for n in range(20)])
    env = env_for(server.url)
    applied = run_cli("apply", directory, "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output
    log = server.stats()["fault_log"]
    assert {entry["fault"] for entry in log} == FAULT_KINDS
    lost_creates = [
        entry
        for entry in log
        if entry["committed"]
        and entry["route"] == "POST /platform/v2/workspaces/{workspace_id}/calculatedattributes"
    ]
    assert lost_creates
    assert "(adopted: it existed after a lost answer)" in applied.stdout  # with the plan
    server.settings(fault_rate=0)
    assert run_cli("plan", directory, "--detailed-exitcode", env=env).exit_code == 0
    api = RawApi(server.url)
    try:
        names = [item["name"] for item in api.list()]
    finally:
        api.close()
    assert sorted(names) == sorted(f"CA {n}" for n in range(20))
