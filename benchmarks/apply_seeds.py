"""Benchmark of `apply --seeds` against the emulator server over loopback (not a test).

The workload of the seeding benchmark (7 CAs, one per seed shape; N users seeding all of
them). Measured: `plan --seeds` (reading, validating and counting the file), and
`apply --seeds` into an empty workspace (create the 7 CAs, seed them once the Seeding API
knows them, activate them). The floor is the two commands that do the same without the
order mParticle recommends, on a fresh server: `apply` (create and activate), then `seed`.
Prints a table and one JSON line.

    python benchmarks/apply_seeds.py                  # 50,000 users
    python benchmarks/apply_seeds.py --users 200000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seed_workload import users, write_jsonl, write_manifests
from support import emulator

from reconciler.emulator.process import EmulatorProcess

WORKSPACE = 1234


def command_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPARTICLE_", "RECONCILER_"))}
    return env | {
        "MPARTICLE_API_URL": url,
        "MPARTICLE_AUTH_URL": f"{url}/oauth/token",
        "MPARTICLE_CLIENT_ID": "emulator",
        "MPARTICLE_CLIENT_SECRET": "emulator",
        "MPARTICLE_S2S_URL": url,
        "MPARTICLE_API_KEY": "emulator",
        "MPARTICLE_API_SECRET": "emulator",
        # No seeding limits on the server: a throughput measure, so the governor never paces.
        "RECONCILER_SEED_RATE": "10000000",
        "RECONCILER_CACHE_DIR": "",
    }


def timed(*args: str | Path, url: str) -> float:
    """Run `reconciler ARGS` as a child; its wall time (it must succeed)."""
    command = [sys.executable, "-m", "reconciler", *map(str, args)]
    started = time.perf_counter()
    environment = command_env(url)
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall


def landed(server: EmulatorProcess) -> int:
    count: int = server.control("GET", "seeds", params={"limit": 0}).json()["count"]
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="apply-seeds-bench-") as directory:
        root = Path(directory)
        path = write_jsonl(root / "seeds.jsonl", users(args.users))
        seeded = write_manifests(root / "seeded", WORKSPACE)
        with emulator(workspace_id=WORKSPACE, seed_limit=0) as server:
            plan = timed("plan", seeded, "--seeds", path, url=server.url)
            apply = timed("apply", seeded, "--seeds", path, "--auto-approve", url=server.url)
            count = landed(server)
        assert count == args.users, f"only {count} of {args.users} users landed"
        plain = write_manifests(root / "plain", WORKSPACE)
        with emulator(workspace_id=WORKSPACE, seed_limit=0) as server:
            first = timed("apply", plain, "--auto-approve", url=server.url)
            then = timed("seed", path, plain, "--rate", "10000000", url=server.url)
            assert landed(server) == args.users
    floor = first + then
    result = {
        "users": args.users,
        "cas": 7,
        "plan_seconds": round(plan, 2),
        "apply_seeds_seconds": round(apply, 2),
        "floor_apply_seconds": round(first, 2),
        "floor_seed_seconds": round(then, 2),
        "floor_seconds": round(floor, 2),
        "ratio": round(apply / floor, 2),
    }
    rows = [
        ("users", f"{args.users:,}, each seeding 7 CAs"),
        ("plan --seeds", f"{plan:.2f} s (read, validate, count; no request for the file)"),
        ("apply --seeds", f"{apply:.2f} s (create, seed, activate)"),
        ("floor: apply, then seed", f"{first:.2f} s + {then:.2f} s = {floor:.2f} s"),
        ("ratio apply --seeds / floor", f"{result['ratio']:.2f}x"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(json.dumps({"apply_seeds": result}))


if __name__ == "__main__":
    main()
