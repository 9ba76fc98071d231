"""Benchmark of `reconciler seed` against the emulator server over loopback (not a test).

Generates N users into a temporary seed file, starts an emulator server, runs the seed
command as a child process (wall time, the command's own elapsed time, peak RSS from
wait4), then measures the floor in the same run: the same pre-serialised batches posted
with the same concurrency, no validation, to a fresh server. Prints a table and JSON.

    python benchmarks/seeding.py                    # 200,000 users
    python benchmarks/seeding.py --users 1000000    # the memory figure
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from seed_workload import create_workspace, users, write_csv, write_jsonl, write_manifests
from support import emulator

from reconciler import manifest
from reconciler.emulator.process import EmulatorProcess
from reconciler.seeding.batches import MAX_BODY_BYTES, cut
from reconciler.seeding.catalogue import Catalogue
from reconciler.seeding.validate import UserValidator

KEY, SECRET = "bench-key", "bench-secret"
WORKSPACE = 1234


def run_seed(
    path: Path, manifests: Path, server: EmulatorProcess, batch_size: int, concurrency: int
) -> dict[str, Any]:
    """The seed command as a child: its report, wall time and peak RSS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPARTICLE_", "RECONCILER_"))}
    env |= {
        "RECONCILER_TARGET": "mparticle",
        "MPARTICLE_S2S_URL": server.url,
        "MPARTICLE_API_KEY": KEY,
        "MPARTICLE_API_SECRET": SECRET,
    }
    command = [sys.executable, "-m", "reconciler", "seed", str(path), str(manifests)]
    command += ["--format", "json", "--batch-size", str(batch_size)]
    # The emulator here has no seeding limits (a throughput measure, not a live workspace):
    # the rate is set far above what the machine can send, so the governor never paces.
    command += ["--concurrency", str(concurrency), "--rate", "10000000"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"seed failed ({process.returncode}): {err.read().decode()[-2000:]}")
        report: dict[str, Any] = json.loads(out.read())
    # ru_maxrss is in KiB on Linux.
    return {"report": report, "wall": wall, "peak_rss_mb": usage.ru_maxrss / 1024}


def preserialise(path: Path, manifests: Path, batch_size: int, spool: Path) -> int:
    """The bodies the command sends, one batch a line, prepared before the clock starts."""
    validator = UserValidator(Catalogue.from_manifests(manifest.load(manifests)))
    count = 0

    def sent() -> Any:
        with path.open("rb") as file:
            for line, raw in enumerate(file, start=1):
                user, _ = validator.check(orjson.loads(raw))
                yield line, orjson.dumps(user)

    with spool.open("wb") as out:
        for batch in cut(sent(), batch_size, MAX_BODY_BYTES):
            out.write(batch.body + b"\n")
            count += 1
    return count


async def post_all(spool: Path, url: str, concurrency: int) -> float:
    """Post every pre-serialised batch with `concurrency` in flight; the seconds it took."""
    token = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    headers = {"authorization": f"Basic {token}", "content-type": "application/json"}
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        with spool.open("rb") as file:
            bodies = iter(file)

            async def work() -> None:
                for body in bodies:
                    response = await client.post(
                        "/v2/bulkcalculatedattributes", content=body.rstrip(b"\n"), headers=headers
                    )
                    response.raise_for_status()

            started = time.perf_counter()
            await asyncio.gather(*(work() for _ in range(concurrency)))
            return time.perf_counter() - started


def fresh_server() -> Any:
    # Unthrottled (no Seeding API limit): this measures the pipeline against its floor;
    # seeding under the documented limits is `seed_live_workspace.py`'s.
    return emulator(workspace_id=WORKSPACE, api_key=KEY, api_secret=SECRET, seed_limit=0)


def landed(server: EmulatorProcess) -> int:
    """How many users the emulator holds seeds for."""
    count: int = server.control("GET", "seeds", params={"limit": 0}).json()["count"]
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="seed-bench-") as directory:
        manifests = write_manifests(Path(directory) / "manifests", WORKSPACE)
        path = Path(directory) / f"seeds.{args.format}"
        if args.format == "jsonl":
            write_jsonl(path, users(args.users))
        else:
            write_csv(path, args.users)
        size_mb = path.stat().st_size / 1e6

        with fresh_server() as server:
            create_workspace(server.url, server.token(), WORKSPACE)
            seeded = run_seed(path, manifests, server, args.batch_size, args.concurrency)
            count = landed(server)
        assert count == args.users, f"only {count} of {args.users} users landed"

        jsonl = (
            path
            if args.format == "jsonl"
            else write_jsonl(Path(directory) / "s.jsonl", users(args.users))
        )
        spool = Path(directory) / "batches.bin"
        batches = preserialise(jsonl, manifests, args.batch_size, spool)
        with fresh_server() as server:
            create_workspace(server.url, server.token(), WORKSPACE)
            floor = asyncio.run(post_all(spool, server.url, args.concurrency))
            assert landed(server) == args.users

    report = seeded["report"]
    elapsed = report["elapsed_seconds"]
    result = {
        "users": args.users,
        "format": args.format,
        "file_mb": round(size_mb, 1),
        "batch_size": args.batch_size,
        "concurrency": args.concurrency,
        "batches": batches,
        "seed_wall_seconds": round(seeded["wall"], 2),
        "seed_elapsed_seconds": elapsed,
        "seed_users_per_second": round(args.users / seeded["wall"]),
        "seed_peak_rss_mb": round(seeded["peak_rss_mb"], 1),
        "floor_seconds": round(floor, 2),
        "floor_users_per_second": round(args.users / floor),
        "ratio_to_floor": round(seeded["wall"] / floor, 2),
        "requests": report["requests"],
    }
    rows = [
        ("users", f"{args.users:,} ({args.format}, {size_mb:,.1f} MB)"),
        ("batches", f"{batches:,} of <= {args.batch_size} users, {args.concurrency} in flight"),
        ("seed: wall (process)", f"{seeded['wall']:.2f} s"),
        ("seed: elapsed (command)", f"{elapsed:.2f} s"),
        ("seed: users/s", f"{result['seed_users_per_second']:,}"),
        ("seed: peak RSS", f"{seeded['peak_rss_mb']:.1f} MB"),
        ("floor: post only", f"{floor:.2f} s ({result['floor_users_per_second']:,} users/s)"),
        ("ratio seed / floor", f"{result['ratio_to_floor']:.2f}x"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
