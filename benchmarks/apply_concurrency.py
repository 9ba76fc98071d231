"""Apply concurrency: 200 CAs to create and activate against an emulator server that adds
50 ms to every request, at --concurrency 16 (and 1, for the sequential figure).

Reports the applier's wall time against the ideal critical path, ceil(N/C) x 2 requests x
latency, and the whole `reconciler apply` command (token, list, plan, apply, check).
Run: `python benchmarks/apply_concurrency.py [--cas 200] [--concurrency 16] [--json]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from support import WORKSPACE, ca_name, cli_env, definition, emulator, write_manifests

from reconciler import applier
from reconciler.api.client import PlatformClient
from reconciler.api.http import Http
from reconciler.models import CalculatedAttribute
from reconciler.plan import planner


def desired(count: int) -> list[dict[str, Any]]:
    """The CAs of `support.write_manifests(directory, count)` (descriptions aside)."""
    return [{"name": ca_name(n), "definition": definition(n)} for n in range(count)]


async def applier_seconds(url: str, cas: list[dict[str, Any]], concurrency: int) -> float:
    """Plan outside the clock, then time the applier alone."""
    http = Http(httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64)))
    client = PlatformClient(
        http,
        api_url=url,
        workspace_id=WORKSPACE,
        auth_url=f"{url}/oauth/token",
        client_id="emulator",
        client_secret="emulator",
    )
    try:
        await client.tokens.get()
        wanted = [CalculatedAttribute.model_validate(item) for item in cas]
        plan = planner.plan(wanted, await client.list(), planner.PlanOptions(WORKSPACE))
        started = time.perf_counter()
        report = await applier.apply(plan, client, concurrency=concurrency)
        elapsed = time.perf_counter() - started
        if not report.ok:
            raise SystemExit(f"apply failed: {report.to_json()['summary']}")
        return elapsed
    finally:
        await client.aclose()


def command_seconds(url: str, directory: Path, concurrency: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "reconciler",
            "apply",
            str(directory),
            "--auto-approve",
            "--concurrency",
            str(concurrency),
        ],
        env=cli_env(url, RECONCILER_CACHE_DIR=""),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def measure(count: int, concurrency: int, latency_ms: float, sequential: bool) -> dict[str, Any]:
    cas = desired(count)
    ideal = math.ceil(count / concurrency) * 2 * latency_ms / 1000
    result: dict[str, Any] = {"cas": count, "concurrency": concurrency, "latency_ms": latency_ms}
    options: dict[str, Any] = {"latency_ms": latency_ms, "max_active": count + 1}
    with emulator(**options) as server:
        result["applier_seconds"] = round(
            asyncio.run(applier_seconds(server.url, cas, concurrency)), 3
        )
    with emulator(**options) as server, tempfile.TemporaryDirectory() as work:
        directory = write_manifests(Path(work), count)
        result["command_seconds"] = round(command_seconds(server.url, directory, concurrency), 3)
    result["ideal_seconds"] = round(ideal, 3)
    result["ratio"] = round(result["applier_seconds"] / ideal, 2)
    if sequential:
        with emulator(**options) as server:
            seconds = asyncio.run(applier_seconds(server.url, cas, 1))
        result["sequential_seconds"] = round(seconds, 3)
        result["speedup"] = round(seconds / result["applier_seconds"], 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cas", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--no-sequential", action="store_true", help="skip concurrency 1")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    result = measure(args.cas, args.concurrency, args.latency_ms, not args.no_sequential)
    if not args.json:
        for key, value in result.items():
            print(f"{key:<18} {value}")
    print(json.dumps({"apply_concurrency": result}))


if __name__ == "__main__":
    main()
