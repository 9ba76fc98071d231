"""Apply under a server rate limit: N CAs to create and activate (about 2N requests) against
an emulator server that takes R requests a second and answers the rest 429 with
`Retry-After`, at each of the given concurrencies.

Reports the whole `reconciler apply` command's wall time against the ideal (2N / R), the
429s the server answered, the longest shared pause the client announced ("holding
requests for ...") and the longest wait it announced for a refused request ("retrying 2/12
... in ..."). Raising the concurrency should not make the apply slower.
Run: `python benchmarks/apply_rate_limit.py [--cas 500] [--rate-limit 50]
[--concurrency 8 64] [--json]`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from support import cli_env, emulator, write_manifests

#: A shared pause announced (`for at most` is how it was worded before the pacer).
HOLDING = re.compile(r"holding requests for (?:at most )?(?:(\d+) min )?(\d+(?:\.\d+)?) s")
#: A refused request's own wait announced.
RETRYING = re.compile(r"retrying \d+/\d+ \S+ \S+ in (?:(\d+) min )?(\d+(?:\.\d+)?) s")


def longest(pattern: re.Pattern[str], stderr: str) -> float:
    """The longest wait announced in lines matching `pattern`, in seconds (0 if none)."""
    waits = [float(m or 0) * 60 + float(s) for m, s in pattern.findall(stderr)]
    return max(waits, default=0.0)


def measure(count: int, rate_limit: float, concurrency: int) -> dict[str, Any]:
    result: dict[str, Any] = {"cas": count, "rate_limit": rate_limit, "concurrency": concurrency}
    with (
        emulator(rate_limit=rate_limit, max_active=count + 10) as server,
        tempfile.TemporaryDirectory() as work,
    ):
        directory = write_manifests(Path(work), count)
        started = time.perf_counter()
        argv = ["apply", str(directory), "--auto-approve", "--concurrency", str(concurrency)]
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", *argv],
            env=cli_env(server.url, RECONCILER_CACHE_DIR=""),
            capture_output=True,
            check=False,
        )
        result["seconds"] = round(time.perf_counter() - started, 1)
        stats = server.stats()
    stderr = done.stderr.decode(errors="replace")
    result["exit_code"] = done.returncode
    result["requests"] = stats["total"]
    result["rate_limited"] = stats["rate_limited"]
    result["ideal_seconds"] = round(2 * count / rate_limit, 1)
    result["longest_hold_seconds"] = longest(HOLDING, stderr)
    result["longest_retry_wait_seconds"] = longest(RETRYING, stderr)
    if done.returncode != 0:
        result["error"] = stderr.strip().splitlines()[-1:]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cas", type=int, default=500)
    parser.add_argument("--rate-limit", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    results = []
    for concurrency in args.concurrency:
        results.append(measure(args.cas, args.rate_limit, concurrency))
        if not args.json:
            print("  ".join(f"{key} {value}" for key, value in results[-1].items()), flush=True)
    print(json.dumps({"apply_rate_limit": results}))


if __name__ == "__main__":
    main()
