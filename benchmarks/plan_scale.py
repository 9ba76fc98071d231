"""Plan at scale: the plan command against an emulator server with N CAs, 1% changed.

Reports wall time, requests sent (must be 1 list + at most 1 token at every N), and the
ratio to the floor: one GET of the same list plus JSON parsing, in the same process.
Run: `python benchmarks/plan_scale.py [--sizes 100,1000,10000] [--json]`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciler.cli import tune_collector
from reconciler.commands import plan as plan_command
from reconciler.console import Output
from tests.support.emulator import EmulatorServer, running_emulator
from tests.support.workspace import api_definition, env_for

LIST = "GET /platform/v2/workspaces/{workspace_id}/calculatedattributes"
TOKEN = "POST /oauth/token"
REPEATS = 3


def definition(n: int) -> dict[str, Any]:
    return {
        "calculation_type": ["count", "sum", "max", "most_frequent"][n % 4],
        "datapoint": {
            "event_name": f"Event {n % 50}",
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
            },
            {
                "type": "string",
                "operator": "in_list",
                "attribute_name": "Channel",
                "values": ["web", "ios"],
            },
        ],
        "time_period": {"type": "within", "within": n % 90 + 1, "within_unit": "days"},
    }


async def populate(server: EmulatorServer, count: int) -> None:
    """Create and activate `count` CAs through the API, 32 at a time."""
    token = server.token()
    headers = {"authorization": f"Bearer {token}"}
    base = server.url + server.platform_path()
    transport = httpx.AsyncHTTPTransport(retries=3)
    async with httpx.AsyncClient(headers=headers, timeout=60, transport=transport) as client:
        semaphore = asyncio.Semaphore(32)

        async def one(n: int) -> None:
            async with semaphore:
                body = {
                    "name": f"CA {n:05d}",
                    "description": "",
                    "draft_definition": api_definition(definition(n)),
                }
                response = await client.post(base, json=body)
                response.raise_for_status()
                ca_id = response.json()
                (await client.post(f"{base}/{ca_id}/activation")).raise_for_status()

        await asyncio.gather(*(one(n) for n in range(count)))


def write_manifests(directory: Path, count: int) -> None:
    """Manifests equal to the workspace, except 1% with a new description."""
    cas = []
    for n in range(count):
        item: dict[str, Any] = {"name": f"CA {n:05d}", "definition": definition(n)}
        if n % 100 == 0:
            item["description"] = "changed"
        cas.append(item)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "reconciler.yaml").write_text("workspace_id: 1234\n")
    (directory / "cas.yaml").write_text(json.dumps({"calculated_attributes": cas}))


def floor(server: EmulatorServer) -> float:
    """One GET of the same list plus JSON parsing (token fetched beforehand)."""
    token = server.token()
    with httpx.Client(timeout=60) as client:
        started = time.perf_counter()
        response = client.get(
            server.url + server.platform_path(), headers={"authorization": f"Bearer {token}"}
        )
        json.loads(response.content)
        return time.perf_counter() - started


def timed_plan(directory: Path) -> float:
    """The plan command as the CLI runs it (collector tuned), output discarded."""
    tune_collector()
    output = Output(no_color=True, stdout=io.StringIO(), stderr=io.StringIO())
    started = time.perf_counter()
    plan_command.run(plan_command.PlanCommandOptions(directory=directory), output)
    return time.perf_counter() - started


def measure(count: int, work: Path) -> dict[str, Any]:
    directory = work / f"m{count}"
    write_manifests(directory, count)
    with running_emulator(max_active=count + 1) as server:
        asyncio.run(populate(server, count))
        import os

        os.environ.update(env_for(server.url))
        floors, plans, requests = [], [], []
        for _ in range(REPEATS):
            floors.append(floor(server))
            before = server.stats()["requests"]
            plans.append(timed_plan(directory))
            after = server.stats()["requests"]
            requests.append(
                {
                    k: after.get(k, 0) - before.get(k, 0)
                    for k in after
                    if after.get(k, 0) != before.get(k, 0)
                }
            )
    plan_s = statistics.median(plans)
    floor_s = statistics.median(floors)
    return {
        "cas": count,
        "plan_seconds": round(plan_s, 3),
        "plan_seconds_first": round(plans[0], 3),
        "floor_seconds": round(floor_s, 3),
        "ratio": round(plan_s / floor_s, 2),
        "list_requests": requests[-1].get(LIST, 0),
        "token_requests": requests[-1].get(TOKEN, 0),
        "other_requests": sum(v for k, v in requests[-1].items() if k not in (LIST, TOKEN)),
    }


COLUMNS = (
    ("CAs", "cas"),
    ("plan s (warm)", "plan_seconds"),
    ("plan s (cold)", "plan_seconds_first"),
    ("floor s", "floor_seconds"),
    ("ratio", "ratio"),
    ("list", "list_requests"),
    ("token", "token_requests"),
    ("other", "other_requests"),
)


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["  ".join(f"{title:>13}" for title, _ in COLUMNS)]
    lines += ["  ".join(f"{row[key]!s:>13}" for _, key in COLUMNS) for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="plan-bench-"))
    try:
        rows = [measure(int(size), work) for size in args.sizes.split(",")]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not args.json:
        print(table(rows))
    print(json.dumps({"plan_scale": rows}))  # one line: benchmarks/run.py reads the last


if __name__ == "__main__":
    main()
