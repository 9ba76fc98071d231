"""Seed soak: `reconciler seed` against an emulator server that fails 30% of requests with
every fault kind (500, 503, 429, dropped connection, commit-then-500), for several fault
seeds, from JSONL and CSV. Every valid user lands exactly as sent, none is lost or stored
twice, the users the file or the server refuses are exactly the rejects file's, and a
re-run with the checkpoint sends nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import StartEmulator
from tests.seeding.conftest import API_KEY, API_SECRET, WORKSPACE_ID, cli_env
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.seeds import (
    MANIFESTS,
    create_workspace,
    cutoffs,
    expected,
    seeded,
    user_key,
    users,
    write_csv,
    write_jsonl,
)

FAULT_RATE = 0.3
USERS = 1000
BATCH = "50"
BULK = "POST /v2/bulkcalculatedattributes"
#: Users (by index) the file check refuses, and users only the server refuses.
INVALID = (16, 700)
REFUSED = (2, 998)


def _bodies() -> list[dict[str, Any]]:
    bodies = list(users(USERS))
    for index in INVALID:
        bodies[index]["calculated_attributes"]["workspace"][0]["seed"]["value"] = "lots"
    return bodies


@pytest.fixture
def seeding_server(start_emulator: StartEmulator, request: pytest.FixtureRequest) -> EmulatorServer:
    """A server whose workspace holds the seeding manifests' CAs; faults follow the seed."""
    server = start_emulator(
        workspace_id=WORKSPACE_ID, api_key=API_KEY, api_secret=API_SECRET, fault_seed=request.param
    )
    create_workspace(server.url, server.token(), WORKSPACE_ID)
    return server


CASES = [(31, "jsonl"), (32, "jsonl"), (33, "jsonl"), (34, "csv"), (35, "csv")]


@pytest.mark.parametrize(
    ("seeding_server", "kind"),
    CASES,
    indirect=["seeding_server"],
    ids=[f"seed{s}-{k}" for s, k in CASES],
)
def test_seeds_land_completely_under_faults(
    seeding_server: EmulatorServer, kind: str, tmp_path: Path
) -> None:
    server = seeding_server
    bodies = _bodies()
    if kind == "jsonl":
        # Users only the server refuses (the file check finds nothing wrong with them).
        server.refuse_seeds(*(bodies[index]["mpid"] for index in REFUSED))
    write = write_jsonl if kind == "jsonl" else write_csv
    path = write(tmp_path / f"seeds.{kind}", bodies)
    checkpoint = tmp_path / "seeds.checkpoint"
    rejects = tmp_path / "rejects.jsonl"
    command = (
        "seed", path, MANIFESTS, "--skip-invalid", "--rejects", rejects,
        "--checkpoint", checkpoint, "--batch-size", BATCH, "--format", "json",
    )  # fmt: skip
    server.settings(fault_rate=FAULT_RATE)

    result = run_cli(*command, env=cli_env(server))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    refused = REFUSED if kind == "jsonl" else ()
    kept = [i for i in range(USERS) if i not in (*INVALID, *refused)]
    assert report["users"]["sent"] == len(kept)
    assert report["complete"] is True

    server.settings(fault_rate=0)
    held = seeded(server.url)
    table = cutoffs()
    wanted = {user_key(expected(bodies[i], table)): expected(bodies[i], table) for i in kept}
    assert held.keys() == wanted.keys()  # none lost, none extra
    assert [key for key in wanted if held[key] != wanted[key]] == []
    assert server.seeds(limit=0)["count"] == len(kept)
    lines = sorted(orjson.loads(row)["line"] for row in rejects.read_bytes().splitlines())
    header = 1 if kind == "csv" else 0
    assert lines == sorted(index + 1 + header for index in (*INVALID, *refused))
    stats = server.stats()
    assert sum(1 for f in stats["fault_log"] if f["route"] == BULK) >= 3

    before = stats["requests"].get(BULK, 0)
    again = run_cli(*command, env=cli_env(server))
    assert again.exit_code == 0, again.output
    assert server.stats()["requests"].get(BULK, 0) == before  # the checkpoint resumes: done
