"""Faults never duplicate or lose anything: 100 new CAs applied through every fault kind at
30% (500, 503, 429, dropped connection, commit-then-500) converge in one apply run, for
10 fault seeds. Each seed is a real `reconciler apply` process against its own server;
the seeds run side by side (most of their time is honouring Retry-After)."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.support.cli import run_cli
from tests.support.emulator import running_emulator
from tests.support.workspace import RawApi, ca, env_for, write_manifests

SEEDS = range(1, 11)
COUNT = 100


def definition(n: int) -> dict[str, Any]:
    """100 distinct definitions whose live fields can be checked one by one."""
    return {
        "calculation_type": "sum" if n % 2 else "count",
        "datapoint": {
            "event_name": f"Event {n % 7}",
            "event_type": "custom_event",
            "custom_event_type": "other",
            "attribute_name": "Amount",
        },
        "conditions": [
            {
                "type": "number",
                "operator": "greater_than",
                "attribute_name": "Step",
                "value": str(n),
            }
        ],
        "time_period": {"type": "within", "within": n % 50 + 1, "within_unit": "days"},
    }


def check_workspace(url: str) -> None:
    api = RawApi(url)
    try:
        live = api.list()
    finally:
        api.close()
    names = [item["name"] for item in live]
    assert len(names) == len(set(names)) == COUNT, "no duplicates, none missing"
    for item in live:
        n = int(item["name"].split()[-1])
        active = item["active_definition"]
        assert active is not None, item["name"]
        assert item["draft_definition"] in (None, active) or item["draft_definition"] == active
        assert active["calculation_type"] == definition(n)["calculation_type"]
        assert active["time_period"]["within"] == n % 50 + 1
        assert active["conditions"][0]["value"] == str(n)
        assert (active.get("datapoint") or active.get("data_point"))[
            "event_name"
        ] == f"Event {n % 7}"


def test_one_apply_converges_under_every_fault_kind(tmp_path: Path) -> None:
    directory = write_manifests(
        tmp_path / "m", [ca(f"CA {n}", definition(n)) for n in range(COUNT)]
    )
    with ExitStack() as stack:
        servers = {
            seed: stack.enter_context(running_emulator(fault_rate=0.3, fault_seed=seed))
            for seed in SEEDS
        }
        # Output goes to files, not pipes: a full pipe would stall a run until it is read.
        logs = {seed: tmp_path / f"apply-{seed}.log" for seed in SEEDS}
        runs = {
            seed: subprocess.Popen(
                [sys.executable, "-m", "reconciler", "apply", str(directory), "--auto-approve"],
                env={**os.environ, **env_for(server.url), "NO_COLOR": "1"},
                stdout=stack.enter_context(logs[seed].open("w")),
                stderr=subprocess.STDOUT,
            )
            for seed, server in servers.items()
        }
        for seed, run in runs.items():
            run.wait(timeout=600)
            log = logs[seed].read_text()
            assert run.returncode == 0, f"seed {seed}:\n{log}"
            assert "Traceback" not in log
        for seed, server in servers.items():
            faults = server.stats()["faults"]
            assert set(faults) >= {
                "server_error",
                "service_unavailable",
                "too_many_requests",
                "dropped_connection",
                "commit_then_500",
            }, f"seed {seed} drew {faults}"
            server.settings(fault_rate=0)
            check_workspace(server.url)
            again = run_cli("plan", directory, "--detailed-exitcode", env=env_for(server.url))
            assert again.exit_code == 0, f"seed {seed}: {again.output}"
