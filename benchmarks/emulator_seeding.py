"""Benchmark: how fast a served emulator takes bulk seeding requests and answers the
Platform API over loopback. Run `python benchmarks/emulator_seeding.py [USERS]`."""

from __future__ import annotations

import base64
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconciler.emulator.process import EmulatorProcess, running

CUTOFF = "2019-12-01"
BATCH = 500  # users per request: ~240 KB here, under the 256 KB limit
BASIC = "Basic " + base64.b64encode(b"emulator:emulator").decode()


def _definition(calculation_type: str) -> dict[str, Any]:
    return {
        "recipe_type": "event",
        "datapoint": {"type": "event", "event_name": "Purchase", "event_type": "commerce_event"},
        "calculation_type": calculation_type,
        "time_period": {"type": "since", "date": "2019-10-01"},
        "seeding": {"cutoff_date": CUTOFF},
    }


def _user(mpid: int) -> dict[str, Any]:
    def seed(name: str, kind: str, value: Any) -> dict[str, Any]:
        return {
            "attribute_name": name,
            "calculation_type": kind,
            "cutoff_date": CUTOFF,
            "seed": value,
        }

    return {
        "environment": "production",
        "mpid": mpid,
        "calculated_attributes": {
            "workspace": [
                seed("LTV", "sum", {"value": mpid % 1000}),
                seed("Average", "average", {"key_value_pairs": {"sum": 10.5, "count": 3}}),
                seed("Interests", "unique_list", {"list": ["shoes", "hats"]}),
            ]
        },
        "user_attributes": {"workspace": [{"attribute_name": "tier", "attribute_value": "gold"}]},
    }


def run(server: EmulatorProcess, users: int) -> None:
    token = {"Authorization": f"Bearer {server.token()}"}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for name, kind in (("LTV", "sum"), ("Average", "average"), ("Interests", "unique_list")):
            ca = {"name": name, "draft_definition": _definition(kind)}
            http.post(server.platform_path(), json=ca, headers=token).raise_for_status()
        bodies = [
            orjson.dumps([_user(start + n) for n in range(min(BATCH, users - start))])
            for start in range(0, users, BATCH)
        ]
        headers = {"Authorization": BASIC, "Content-Type": "application/json"}
        started = time.perf_counter()
        for body in bodies:
            http.post(
                "/v2/bulkcalculatedattributes", content=body, headers=headers
            ).raise_for_status()
        elapsed = time.perf_counter() - started
        print(f"  seeding: {users} users in {elapsed:.2f} s = {users / elapsed:,.0f} users/s")

        started = time.perf_counter()
        for _ in range(500):
            http.get(server.platform_path(), headers=token).raise_for_status()
        per_request = (time.perf_counter() - started) / 500 * 1000
        print(f"  list of 3 CAs: {per_request:.2f} ms per request")


def main() -> None:
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print("in-memory database")
    with running(EmulatorProcess) as server:
        run(server, users)
    with tempfile.TemporaryDirectory() as directory:
        print("file database")
        with running(EmulatorProcess, db=Path(directory) / "emulator.db") as server:
            run(server, users)


if __name__ == "__main__":
    main()
