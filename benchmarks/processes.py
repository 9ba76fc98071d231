"""Whole-process figures: what a user waits for, from `exec` to exit, beside its floor.

- `reconciler --help` beside `python -c "import pydantic"` (target: at most 3x);
- `reconciler validate manifests/` (cache warm) beside `python -c pass`;
- `reconciler plan` of N CAs (1% changed) against an emulator process, cold (a fresh
  RECONCILER_CACHE_DIR, as on a new CI runner; target at 10,000: at most 3x the floor) and
  warm (target: at most 1.3x), beside a process that does one GET of the same list and
  parses it (the floor).

Each figure is the median of `--runs` runs, in wall-clock seconds, with beside it the CPU
seconds the process itself used (user + system, median): the waits (the emulator preparing
the list) are not in them, and on a shared machine they move less than wall time does, so
they show a change of a few percent that wall medians hide. The floor runs interleaved
with the measured commands, run by run, and a ratio is the median of each run's time over
the floor's time in the same run. `--compare DIR` runs the reconciler of another checkout
(e.g. `git archive main | tar -x -C DIR`) in the same runs, so that a busy machine weighs
on both alike.
Run: `python benchmarks/processes.py [--quick] [--runs 5] [--compare DIR] [--json]`.
"""

from __future__ import annotations

import argparse
import compileall
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import ROOT, cli_env, emulator, median, populate, process, write_manifests

#: The plan's floor: a process that GETs the same list with the same client and parses it
#: with the fastest JSON parser at hand (the token fetched beforehand).
FLOOR_LIST = (
    "import httpx, orjson, os\n"
    "answer = httpx.get(os.environ['LIST_URL'], "
    "headers={'authorization': 'Bearer ' + os.environ['LIST_TOKEN']}, timeout=120)\n"
    "orjson.loads(answer.content)\n"
)


@dataclass(frozen=True)
class Code:
    """A checkout whose reconciler is measured."""

    label: str
    root: Path

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, "PYTHONPATH": str(self.root)}

    def argv(self, *args: str | Path) -> list[str]:
        return [sys.executable, "-m", "reconciler", *map(str, args)]

    def compile(self) -> None:
        """Write the package's bytecode, as installing it does: a checkout run with
        PYTHONDONTWRITEBYTECODE (or read-only) would otherwise compile every module it
        imports on every run (50-90 ms of a plan), which no installed reconciler does."""
        compileall.compile_dir(self.root / "reconciler", quiet=1)


@dataclass(frozen=True)
class Floor:
    """What a figure is measured against: a process that does the least the command must."""

    name: str
    argv: list[str]
    env: dict[str, str]


class Bench:
    """Runs each measured command `runs` times per checkout, interleaved run by run with
    its floor: the machine's speed drifts over minutes, and a floor measured in a block
    before the commands made the same code 1.26x one run and 1.76x the next."""

    def __init__(self, codes: list[Code], runs: int, work: Path) -> None:
        self.codes = codes
        self.runs = runs
        self.work = work  # the working directory: no checkout on sys.path by accident

    def timed(self, argv: list[str], env: dict[str, str]) -> tuple[float, float]:
        """(wall seconds, CPU seconds of the process: user + system) of one run."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        process(argv, env, self.work)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        return wall, cpu

    def each(
        self, args: list[str | Path], env: dict[str, str], floor: Floor, fresh_cache: bool
    ) -> dict[str, Any]:
        """One row: the floor's and each checkout's median wall seconds (`floor_seconds`,
        by label) and CPU seconds (`floor_cpu`, `<label>_cpu`), and each checkout's ratio
        to the floor (`<label>_ratio`: the median over runs of its time over the floor's
        time in the same run). With `fresh_cache` every run starts without a manifest
        cache, else the cache is primed once first."""
        caches = {code.label: self.work / f"cache-{code.label}" for code in self.codes}
        if not fresh_cache:
            for code in self.codes:
                shutil.rmtree(caches[code.label], ignore_errors=True)
                run_env = code.env(env | {"RECONCILER_CACHE_DIR": str(caches[code.label])})
                process(code.argv(*args), run_env, self.work)
        labels = ["floor", *(code.label for code in self.codes)]
        walls: dict[str, list[float]] = {label: [] for label in labels}
        cpus: dict[str, list[float]] = {label: [] for label in labels}
        for _ in range(self.runs):
            wall, cpu = self.timed(floor.argv, floor.env)
            walls["floor"].append(wall)
            cpus["floor"].append(cpu)
            for code in self.codes:
                cache = caches[code.label]
                if fresh_cache:
                    shutil.rmtree(cache, ignore_errors=True)
                run_env = code.env(env | {"RECONCILER_CACHE_DIR": str(cache)})
                wall, cpu = self.timed(code.argv(*args), run_env)
                walls[code.label].append(wall)
                cpus[code.label].append(cpu)
        row: dict[str, Any] = {
            "floor": floor.name,
            "floor_seconds": median(walls["floor"]),
            "floor_cpu": median(cpus["floor"]),
        }
        for code in self.codes:
            ratios = [w / f for w, f in zip(walls[code.label], walls["floor"], strict=True)]
            row[code.label] = median(walls[code.label])
            row[f"{code.label}_cpu"] = median(cpus[code.label])
            row[f"{code.label}_ratio"] = round(statistics.median(ratios), 2)
        return row


def startup(bench: Bench) -> list[dict[str, Any]]:
    env = cli_env("http://unused.invalid")
    python = sys.executable
    pydantic = Floor("import pydantic", [python, "-c", "import pydantic"], env)
    bare = Floor("python -c pass", [python, "-c", "pass"], env)
    return [
        {"figure": "--help", **bench.each(["--help"], env, pydantic, fresh_cache=False)},
        {
            "figure": "validate manifests/",
            **bench.each(["validate", ROOT / "manifests"], env, bare, fresh_cache=False),
        },
    ]


def plans(bench: Bench, count: int) -> list[dict[str, Any]]:
    directory = write_manifests(bench.work / f"m{count}", count)
    with emulator(max_active=count + 1) as server:
        populate(server, count)
        env = cli_env(server.url)
        floor_env = env | {
            "LIST_URL": server.url + server.platform_path(),
            "LIST_TOKEN": server.token(),
        }
        floor = Floor("GET list + parse", [sys.executable, "-c", FLOOR_LIST], floor_env)
        cold = bench.each(["plan", directory], env, floor, fresh_cache=True)
        warm = bench.each(["plan", directory], env, floor, fresh_cache=False)
    return [
        {"figure": f"plan {count:,} CAs, cold", **cold},
        {"figure": f"plan {count:,} CAs, warm", **warm},
    ]


#: The targets of issue 11, as a multiple of the floor: --help, and plan at 10,000 CAs.
TARGETS = {"--help": 3.0, "plan 10,000 CAs, cold": 3.0, "plan 10,000 CAs, warm": 1.3}


def table(rows: list[dict[str, Any]], labels: list[str]) -> str:
    lines = []
    for row in rows:
        floor = row["floor_seconds"]
        shown = f"floor {floor:6.3f} s, cpu {row['floor_cpu']:5.3f} ({row['floor']})"
        cells = [f"{row['figure']:<24}", shown[:48].ljust(48)]
        for label in labels:
            cells.append(
                f"{label} {row[label]:6.3f} s = {row[label + '_ratio']:5.2f}x, "
                f"cpu {row[label + '_cpu']:5.3f}"
            )
        if row.get("target"):
            cells.append(f"(target <= {row['target']}x)")
        lines.append("  ".join(cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 CAs, 3 runs")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 5)")
    parser.add_argument("--sizes", default=None, help="CA counts (default 100,1000,10000)")
    parser.add_argument("--compare", type=Path, help="another checkout, measured alongside")
    parser.add_argument("--json", action="store_true", help="print the JSON line only")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    sizes = args.sizes or ("100,1000" if args.quick else "100,1000,10000")
    codes = [Code("this", ROOT)]
    if args.compare is not None:
        codes.append(Code("compared", args.compare.resolve()))
    for code in codes:
        code.compile()
    work = Path(tempfile.mkdtemp(prefix="process-bench-"))
    try:
        bench = Bench(codes, runs, work)
        rows = startup(bench)
        for size in sizes.split(","):
            rows += plans(bench, int(size))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for row in rows:
        row["target"] = TARGETS.get(row["figure"])
    if not args.json:
        print(table(rows, [code.label for code in codes]))
    print(json.dumps({"processes": rows}))  # one line: benchmarks/run.py reads the last


if __name__ == "__main__":
    main()
