"""Benchmark of `reconciler test`'s evaluation (not a test): 100 CAs x 1,000 users x 50
events each, reported as (event, CA) evaluations per second (target: >= 500,000 on one
core). Also times loading the test file and its events file, and the whole command.

The workspace is generated into a temporary directory: CAs of every calculation type over
custom, commerce (product attributes), screen and session events, with conditions of every
condition type, since and within windows; each user's 50 events come from one events file
(JSONL of Events API batches, grouped by mpid).

    python benchmarks/evaluator.py [--cas 100] [--users 1000] [--events 50] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from reconciler import manifest, testfiles  # noqa: E402
from reconciler.models.vocabulary import CALCULATION_TYPES  # noqa: E402

TARGET = 500_000
START_MS = 1_704_067_200_000  # 2024-01-01
DAY_MS = 86_400_000
NAMES = ["Search", "Play", "Share", "Login", "Rate"]
CALCULATIONS = list(CALCULATION_TYPES)
CONDITIONS = [
    None,
    {"type": "string", "operator": "in_list", "attribute_name": "Genre", "values": ["a", "b"]},
    {"type": "number", "operator": "greater_than", "attribute_name": "Amount", "value": "20"},
    {"type": "string", "operator": "contains", "attribute_name": "Genre", "value": "c"},
    {"type": "boolean", "operator": "equals", "attribute_name": "Member", "value": "true"},
    {"type": "date", "operator": "after", "attribute_name": "Since", "value": "2024-01-10"},
    {"type": "string", "operator": "pattern", "attribute_name": "Genre", "value": "^[a-c]$"},
]


def _datapoint(index: int, calculation: str) -> dict[str, Any]:
    kind = index % 4
    needs = calculation not in ("count",) and not calculation.endswith("timestamp")
    point: dict[str, Any]
    if kind in {0, 1}:
        point = {
            "event_name": NAMES[index % len(NAMES)],
            "event_type": "custom_event",
            "custom_event_type": "other",
        }
        if needs:
            numeric = calculation in ("sum", "min", "max", "average")
            point["attribute_name"] = "Amount" if numeric else "Genre"
        return point
    if kind == 2:
        point = {
            "event_name": "Purchase",
            "event_type": "commerce_event",
            "custom_event_type": "purchase",
        }
        if needs:
            numeric = calculation in ("sum", "min", "max", "average")
            point |= {
                "attribute_name": "Price" if numeric else "Brand",
                "attribute_category": "product_attribute",
                "use_product_quantity": True,
            }
        return point
    if needs:
        return {"event_type": "screen_view", "attribute_name": "Screen Name"}
    return {"event_type": "session_start"}


def write_workspace(directory: Path, cas: int, users: int, events: int, seed: int) -> int:
    """A manifest directory with `cas` CAs and one test file; returns (event, CA) pairs."""
    directory.mkdir(parents=True)
    (directory / "reconciler.yaml").write_text("workspace_id: 1234\n")
    items = []
    for index in range(cas):
        calculation = CALCULATIONS[index % len(CALCULATIONS)]
        condition = CONDITIONS[index % len(CONDITIONS)]
        period = (
            {"type": "within", "within": 30, "within_unit": "days"}
            if index % 3 == 0
            else {"type": "since", "date": "2024-01-05"}
        )
        definition = {
            "calculation_type": calculation,
            "datapoint": _datapoint(index, calculation),
            "conditions": [condition] if condition else [],
            "time_period": period,
        }
        items.append({"name": f"CA {index:03d}", "definition": definition})
    (directory / "cas.yaml").write_text(json.dumps({"calculated_attributes": items}))
    rng = random.Random(seed)
    with (directory / "events.jsonl").open("w") as out:
        for user in range(users):
            batch = [_event(rng) for _ in range(events)]
            out.write(json.dumps({"mpid": user + 1, "events": batch}) + "\n")
    names = [item["name"] for item in items]
    lines = ["as_of: 2024-02-15T00:00:00Z", "users:"]
    lines += [f"  u{u}: {{mpid: {u + 1}, events_file: events.jsonl}}" for u in range(users)]
    lines.append("expect:")
    lines += [f"  u{u}: {json.dumps(dict.fromkeys(names, 0))}" for u in range(users)]
    (directory / "bench.test.yaml").write_text("\n".join(lines) + "\n")
    return cas * users * events


def _event(rng: random.Random) -> dict[str, Any]:
    when = START_MS + rng.randrange(45 * DAY_MS)
    kind = rng.random()
    attributes = {
        "Genre": rng.choice("abcdefg"),
        "Amount": str(rng.randrange(1, 60)),
        "Member": rng.choice(["true", "false"]),
        "Since": f"2024-01-{rng.randrange(1, 28):02d}",
    }
    if kind < 0.6:
        data = {
            "event_name": rng.choice(NAMES),
            "custom_event_type": "other",
            "custom_attributes": attributes,
        }
        return {"event_type": "custom_event", "data": {**data, "timestamp_unixtime_ms": when}}
    if kind < 0.8:
        products = [
            {"brand": rng.choice("xyz"), "price": rng.randrange(1, 90), "quantity": 2}
            for _ in range(rng.randrange(1, 4))
        ]
        action = {"action": "purchase", "products": products}
        data = {"product_action": action, "custom_attributes": attributes}
        return {"event_type": "commerce_event", "data": {**data, "timestamp_unixtime_ms": when}}
    if kind < 0.9:
        data = {"screen_name": rng.choice(["Home", "Cart"]), "custom_attributes": attributes}
        return {"event_type": "screen_view", "data": {**data, "timestamp_unixtime_ms": when}}
    return {"event_type": "session_start", "data": {"timestamp_unixtime_ms": when}}


def measure(directory: Path, pairs: int, profile: bool) -> dict[str, Any]:
    started = time.perf_counter()
    desired = manifest.load(directory)
    definitions = {d.name: d.ca.canonical for d in desired.cas}
    suites = testfiles.load(directory, definitions)
    loaded = time.perf_counter()
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    results = testfiles.run(suites, definitions)
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(20)
    evaluated = time.perf_counter()
    outcomes = sum(len(result.outcomes) for result in results)
    seconds = evaluated - loaded
    return {
        "pairs": pairs,
        "expectations": outcomes,
        "load_seconds": round(loaded - started, 2),
        "evaluate_seconds": round(seconds, 3),
        "pairs_per_second": int(pairs / seconds),
        "target_pairs_per_second": TARGET,
    }


def command_seconds(directory: Path) -> float:
    """The whole `reconciler test` command as a child process (its exit is 1: the
    benchmark's expectations are placeholders)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "reconciler", "test", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return round(time.perf_counter() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cas", type=int, default=100)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="cProfile the evaluation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        directory = Path(temp) / "manifests"
        pairs = write_workspace(directory, args.cas, args.users, args.events, seed=7)
        result = {"cas": args.cas, "users": args.users, "events_per_user": args.events}
        result |= measure(directory, pairs, args.profile)
        result["command_seconds"] = command_seconds(directory)
    print(
        f"test: {args.cas} CAs x {args.users:,} users x {args.events} events = {pairs:,} "
        f"(event, CA) pairs in {result['evaluate_seconds']} s: "
        f"{result['pairs_per_second']:,}/s (target >= {TARGET:,}); loading "
        f"{result['load_seconds']} s; whole command {result['command_seconds']} s"
    )
    print(json.dumps({"evaluator": result}))


if __name__ == "__main__":
    main()
