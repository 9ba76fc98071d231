"""Benchmark: seeding a workspace that has live traffic, governed vs today's fixed rate.

Two runs, each against a fresh emulator server that models mParticle's limits as the
default service limits page describes them: `--seed-limit 270` batches (users) a second,
shared with the workspace's live Events API traffic (`--live-traffic 0.3`: 30% of it),
and an acceleration limit (`--acceleration-limit 100`: the rate may grow by 100 batches/s
from one 10 s window to the next).

- governed: `reconciler seed` as a user runs it near the limit (`--rate 270
  --rate-ceiling 95 --batch-size 25`), a child process over loopback.
- fixed rate: what seed did before the governor: 270 requests a second of 100 users, 8 in
  flight, 429s retried after Retry-After (the same Http, poster and Sender, ungoverned).

The figure that matters is users/s against the headroom, limit x (1 - live share) = 189:
target >= 0.9, with 0 live-traffic 429s and 0 acceleration 429s.

    python benchmarks/seed_live_workspace.py               # 200,000 users (~40 min)
    python benchmarks/seed_live_workspace.py --users 20000
    python benchmarks/seed_live_workspace.py --users 8000 --acceleration 20 --no-fixed
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
from seed_workload import create_workspace, users, write_jsonl, write_manifests
from support import emulator as running_emulator

from reconciler import manifest
from reconciler.api.http import Http
from reconciler.emulator.process import EmulatorProcess
from reconciler.errors import ApiError
from reconciler.seeding.batches import MAX_BODY_BYTES, Batch, cut
from reconciler.seeding.catalogue import Catalogue
from reconciler.seeding.sender import BatchOutcome, Sender, poster
from reconciler.seeding.validate import UserValidator

KEY, SECRET = "bench-key", "bench-secret"
LIMIT, LIVE, ACCELERATION = 270, 0.3, 100
HEADROOM = LIMIT * (1 - LIVE)
GOVERNED_FLAGS = ["--rate", "270", "--rate-ceiling", "95", "--batch-size", "25"]


def server(acceleration: float = ACCELERATION) -> Any:
    return running_emulator(
        workspace_id=1234,
        api_key=KEY,
        api_secret=SECRET,
        seed_limit=LIMIT,
        acceleration_limit=acceleration,
        live_traffic=LIVE,
    )


def figures(emulator: EmulatorProcess, sent: int, seconds: float) -> dict[str, Any]:
    stats = emulator.stats()
    rate = sent / seconds if seconds > 0 else 0.0
    return {
        "users_sent": sent,
        "landed": emulator.control("GET", "seeds", params={"limit": 0}).json()["count"],
        "seconds": round(seconds, 1),
        "users_per_second": round(rate, 1),
        "of_headroom": round(rate / HEADROOM, 3),
        "seed_429s": stats["seed_limit"]["rate_limited"],
        "seed_acceleration_429s": stats["seed_limit"]["acceleration_limited"],
        "peak_percentage_used": stats["seed_limit"]["peak_percentage_used"],
        "live_requests": stats["live_traffic"]["requests"],
        "live_429s": stats["live_traffic"]["rate_limited"],
        "live_acceleration_429s": stats["live_traffic"]["acceleration_limited"],
    }


def governed(path: Path, manifests: Path, emulator: EmulatorProcess) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPARTICLE_", "RECONCILER_"))}
    env |= {
        "RECONCILER_TARGET": "mparticle",
        "MPARTICLE_S2S_URL": emulator.url,
        "MPARTICLE_API_KEY": KEY,
        "MPARTICLE_API_SECRET": SECRET,
        "MPARTICLE_API_URL": emulator.url,
        "MPARTICLE_AUTH_URL": f"{emulator.url}/oauth/token",
        "MPARTICLE_CLIENT_ID": "emulator",
        "MPARTICLE_CLIENT_SECRET": "emulator",
    }
    command = [sys.executable, "-m", "reconciler", "seed", str(path), str(manifests)]
    command += ["--format", "json", *GOVERNED_FLAGS]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"seed failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    result = figures(emulator, report["users"]["sent"], report["elapsed_seconds"])
    result["send_users_per_second"] = report["rate"]["users_per_second"]
    result["peak_rate"] = report["rate"]["peak"]
    return result


def batches(path: Path, manifests: Path, size: int) -> Iterator[Batch]:
    """The file's users as the command would send them, in batches of `size`."""
    validator = UserValidator(Catalogue.from_manifests(manifest.load(manifests)))

    def sent() -> Iterator[tuple[int, bytes]]:
        with path.open("rb") as file:
            for line, raw in enumerate(file, start=1):
                user, _ = validator.check(orjson.loads(raw))
                yield line, orjson.dumps(user)

    return cut(sent(), size, MAX_BODY_BYTES)


def fixed_rate(path: Path, manifests: Path, emulator: EmulatorProcess) -> dict[str, Any]:
    """Seed as before the governor: 270 requests/s of 100 users, 8 in flight."""
    sent = 0

    async def done(batch: Batch, outcome: BatchOutcome) -> None:
        nonlocal sent
        sent += outcome.landed

    async def main() -> str | None:
        client = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64))
        http = Http(client, rate_limit=LIMIT)
        post = poster(http, emulator.url, KEY, SECRET)
        try:
            await Sender(post, 8).run(batches(path, manifests, 100), done)
        except ApiError as exc:
            return exc.message
        finally:
            await http.aclose()
        return None

    started = time.monotonic()
    failure = asyncio.run(main())
    result = figures(emulator, sent, time.monotonic() - started)
    result["stopped_by"] = failure
    return result


def table(rows: dict[str, dict[str, Any]]) -> str:
    names = list(next(iter(rows.values())))
    width = max(len(name) for name in names)
    lines = [f"{'':<{width}}  " + "  ".join(f"{run:>14}" for run in rows)]
    for name in names:
        cells = "  ".join(f"{rows[run].get(name)!s:>14}" for run in rows)
        lines.append(f"{name:<{width}}  {cells}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--no-fixed", action="store_true", help="skip the fixed-rate run")
    parser.add_argument(
        "--acceleration",
        type=float,
        default=ACCELERATION,
        help="the emulator's --acceleration-limit (batches/s a 10 s window may grow by)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="seed-live-") as directory:
        path = write_jsonl(Path(directory) / "seeds.jsonl", users(args.users))
        manifests = write_manifests(Path(directory) / "manifests", 1234)
        rows: dict[str, dict[str, Any]] = {}
        with server(args.acceleration) as emulator:
            create_workspace(emulator.url, emulator.token(), 1234)
            rows["governed"] = governed(path, manifests, emulator)
        if not args.no_fixed:
            with server(args.acceleration) as emulator:
                create_workspace(emulator.url, emulator.token(), 1234)
                rows["fixed rate"] = fixed_rate(path, manifests, emulator)
    print(f"{args.users:,} users; limit {LIMIT}/s, live traffic {LIVE:.0%}, headroom "
          f"{HEADROOM:.0f}/s; acceleration {args.acceleration:g}/s per 10 s window")  # fmt: skip
    print(table(rows))
    print(json.dumps({"users": args.users, "headroom": HEADROOM, **rows}))


if __name__ == "__main__":
    main()
