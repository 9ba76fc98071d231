"""Plan at scale: the plan command in this process against an emulator server with N CAs,
1% changed (processes.py times whole processes, cold and warm).

Reports wall time, requests sent (must be 1 list + at most 1 token at every N), and the
ratio to the floor: one GET of the same list plus JSON parsing, in the same process.
Run: `python benchmarks/plan_scale.py [--sizes 100,1000,10000] [--json]`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from support import LIST, TOKEN, cli_env, emulator, populate, write_manifests

from reconciler.cli import tune_collector
from reconciler.commands import plan as plan_command
from reconciler.console import Output
from reconciler.emulator.process import EmulatorProcess

REPEATS = 3


def floor(server: EmulatorProcess) -> float:
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
    with emulator(max_active=count + 1) as server:
        populate(server, count)
        os.environ.update(cli_env(server.url))
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
