"""Benchmark of the value diffs in plans (not a test): what test files cost `plan`.

- In-process, at the example workspace's size (`manifests/`: 13 CAs, 3 test files) and
  at 1,000 CAs (the generated workspace of `evaluator.py`, with `--users` test users and
  `--events` events each): looking for test files where there are none, loading them
  (checked against the CAs), and computing the value diffs of a plan that creates every
  CA (one evaluation per user and CA) and of one that changes every CA (two).
- Whole processes: `reconciler plan` of the example workspace (embedded target) with its
  test files and without them (the same manifests), beside the `reconciler plan` of the
  checkout given with `--compare DIR` (e.g. main), interleaved run by run.

    python benchmarks/value_diffs.py [--users 10] [--events 50] [--runs 7] [--compare DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from evaluator import write_workspace  # noqa: E402

from reconciler.console import Output  # noqa: E402
from reconciler.models import LiveCA  # noqa: E402
from reconciler.settings import Flags  # noqa: E402
from reconciler.workspace import Workspace, load, planning, suites  # noqa: E402

T = TypeVar("T")


def timed(run: Callable[[], T], repeat: int = 5) -> tuple[T, float]:
    """The result of `run` and the median of `repeat` timings, in seconds."""
    times = []
    result: T
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def changed_live(ws: Workspace) -> list[LiveCA]:
    """Every CA of `ws` live and active with another time period: a plan updates them all."""
    found = []
    for number, ca in enumerate(ws.desired, start=1):
        definition = {**ca.canonical, "time_period": {"type": "since", "date": "2024-01-20"}}
        found.append(
            LiveCA.model_validate({"id": number, "name": ca.name, "active_definition": definition})
        )
    return found


def in_process(directory: Path, label: str) -> dict[str, Any]:
    quiet = Output(no_color=True)
    ws = load(directory, Flags(), quiet)
    bare = ws.manifests.directory.parent / "bare"
    bare.mkdir(exist_ok=True)
    _, none_seconds = timed(lambda: suites.present(bare))
    loaded, load_seconds = timed(lambda: suites.load(ws, quiet), repeat=3)
    assert loaded, "the workspace has test files"
    options = planning.Options()
    live = changed_live(ws)
    _, plan_seconds = timed(lambda: planning.build(ws, [], options), repeat=3)
    _, create_seconds = timed(lambda: planning.build(ws, [], options, None, loaded), 3)
    _, update_seconds = timed(lambda: planning.build(ws, live, options), repeat=3)
    changed, change_seconds = timed(lambda: planning.build(ws, live, options, None, loaded), 3)
    diffs = sum(len(a.values or []) for a in changed.plan.actions)
    return {
        "workspace": label,
        "cas": len(ws.desired),
        "test_files": len(loaded),
        "test_users": sum(len(suite.users) for suite in loaded),
        "value_diffs": diffs,
        "no_test_files_seconds": round(none_seconds, 5),
        "load_seconds": round(load_seconds, 4),
        "plan_seconds": round(plan_seconds, 4),
        "values_on_create_seconds": round(create_seconds - plan_seconds, 4),
        "values_on_change_seconds": round(change_seconds - update_seconds, 4),
    }


def _plan_once(checkout: Path, directory: Path) -> float:
    env = {"PYTHONPATH": str(checkout), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", str(directory)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=directory.parent,
    )
    return time.perf_counter() - started


def processes(work: Path, runs: int, compare: Path | None) -> dict[str, float]:
    """Median seconds of `reconciler plan` of the example, with and without test files."""
    with_tests = work / "with-tests"
    shutil.copytree(ROOT / "manifests", with_tests, ignore=shutil.ignore_patterns(".reconciler"))
    without = work / "without-tests"
    shutil.copytree(with_tests, without)
    for path in without.glob("*.test.yaml"):
        path.unlink()
    cases = {"with test files": (ROOT, with_tests), "without test files": (ROOT, without)}
    if compare is not None:
        cases["with test files, --compare"] = (compare.resolve(), with_tests)
        cases["without test files, --compare"] = (compare.resolve(), without)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for checkout, directory in cases.values():
        _plan_once(checkout, directory)  # the embedded database and the caches, once
    for _ in range(runs):
        for name, (checkout, directory) in cases.items():
            times[name].append(_plan_once(checkout, directory))
    return {name: round(statistics.median(found), 3) for name, found in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--compare", type=Path, help="another checkout's root (e.g. main)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        example = work / "example" / "manifests"
        shutil.copytree(ROOT / "manifests", example, ignore=shutil.ignore_patterns(".reconciler"))
        large = work / "large" / "manifests"
        write_workspace(large, 1000, args.users, args.events, seed=7)
        rows = [in_process(example, "example"), in_process(large, "1,000 CAs")]
        whole = processes(work, args.runs, args.compare)
    for row in rows:
        print(
            f"value diffs, {row['workspace']} ({row['cas']} CAs, {row['test_users']} test "
            f"users, {row['value_diffs']} diffs): no test files {row['no_test_files_seconds']}"
            f" s; loading {row['load_seconds']} s; values on create "
            f"{row['values_on_create_seconds']} s, on change {row['values_on_change_seconds']}"
            f" s (the plan itself {row['plan_seconds']} s)"
        )
    print("reconciler plan manifests/: " + ", ".join(f"{k} {v} s" for k, v in whole.items()))
    print(json.dumps({"value_diffs": {"in_process": rows, "plan_process_seconds": whole}}))


if __name__ == "__main__":
    main()
