"""All benchmarks in one command: whole processes (--help, validate, plan cold and warm)
beside their floors, plan at scale, apply concurrency, apply under a rate limit at two
concurrencies, seeding throughput, seeding a
workspace with live traffic (governed, against today's fixed rate), `apply --seeds`
against apply-then-seed, the evaluator of `reconciler test`, and what test files cost
`plan` (its value diffs).

Each benchmark runs as its own process (so one's memory does not skew another's) and ends
its output with one JSON line; this prints them together as a table, then as JSON.
Run: `python benchmarks/run.py [--quick]` (--quick: smaller sizes, for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(HERE / script), *args], check=True, capture_output=True, text=True
    )
    last = done.stdout.strip().splitlines()[-1]
    result: dict[str, Any] = json.loads(last)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    args = parser.parse_args()
    sizes = "100,1000" if args.quick else "100,1000,10000"
    users = "20000" if args.quick else "200000"
    processes = run("processes.py", "--json", *(["--quick"] if args.quick else []))
    plan = run("plan_scale.py", "--sizes", sizes, "--json")["plan_scale"]
    apply = run("apply_concurrency.py", "--json", *(["--no-sequential"] if args.quick else []))
    limited = run("apply_rate_limit.py", "--json", "--cas", "100" if args.quick else "500")
    seeding = run("seeding.py", "--users", users)
    live = run("seed_live_workspace.py", "--users", users)
    seeded = run("apply_seeds.py", "--users", "10000" if args.quick else "50000")["apply_seeds"]
    evaluator = run("evaluator.py", *(["--users", "200"] if args.quick else []))["evaluator"]
    diffs = run("value_diffs.py", *(["--runs", "3"] if args.quick else []))["value_diffs"]

    rows: list[tuple[str, str, str]] = []
    for row in processes["processes"]:
        ratio = row["this_ratio"]
        target = f" (target <= {row['target']})" if row.get("target") else ""
        rows.append(
            (
                f"process: {row['figure']}",
                f"{row['this']} s (cpu {row['this_cpu']} s); floor {row['floor_seconds']} s "
                f"(cpu {row['floor_cpu']} s, {row['floor']})",
                f"ratio {ratio:.2f}{target}",
            )
        )
    for row in plan:
        rows.append(
            (
                f"plan, {row['cas']:,} CAs (1% changed)",
                f"{row['plan_seconds']} s warm, {row['plan_seconds_first']} s cold; floor "
                f"{row['floor_seconds']} s; {row['list_requests']} list + "
                f"{row['token_requests']} token + {row['other_requests']} other requests",
                f"ratio {row['ratio']} (target <= 2 at 10,000)",
            )
        )
    a = apply["apply_concurrency"]
    sequential = f"; sequential {a['sequential_seconds']} s" if "sequential_seconds" in a else ""
    rows.append(
        (
            f"apply, {a['cas']} CAs, concurrency {a['concurrency']}, {a['latency_ms']:.0f} ms",
            f"applier {a['applier_seconds']} s vs ideal {a['ideal_seconds']} s; whole command "
            f"{a['command_seconds']} s{sequential}",
            f"ratio {a['ratio']} (target <= 1.5)",
        )
    )
    for row in limited["apply_rate_limit"]:
        rows.append(
            (
                f"apply under a rate limit, {row['cas']} CAs, {row['rate_limit']:g} req/s, "
                f"concurrency {row['concurrency']}",
                f"{row['seconds']} s vs ideal {row['ideal_seconds']} s; {row['rate_limited']} "
                f"429s; longest hold {row['longest_hold_seconds']} s",
                f"ratio {row['seconds'] / row['ideal_seconds']:.2f} (no target: higher "
                "concurrency must not be slower)",
            )
        )
    rows.append(
        (
            f"seed, {seeding['users']:,} users",
            f"{seeding['seed_users_per_second']:,} users/s vs floor "
            f"{seeding['floor_users_per_second']:,}; peak RSS {seeding['seed_peak_rss_mb']} MB",
            f"{1 / seeding['ratio_to_floor']:.2f} of the floor (target >= 0.5)",
        )
    )
    for name in ("governed", "fixed rate"):
        row = live[name]
        rows.append(
            (
                f"seed {live['users']:,} users into a live workspace, {name}",
                f"{row['users_per_second']:,} users/s; 429s: {row['seed_429s']} rate, "
                f"{row['seed_acceleration_429s']} acceleration; live traffic 429s: "
                f"{row['live_429s']} rate, {row['live_acceleration_429s']} acceleration",
                f"{row['of_headroom']:.2f} of the headroom {live['headroom']:.0f}/s "
                "(target >= 0.9, 0 live 429s)",
            )
        )
    rows.append(
        (
            f"apply --seeds, {seeded['cas']} CAs x {seeded['users']:,} users",
            f"{seeded['apply_seeds_seconds']} s (plan --seeds {seeded['plan_seconds']} s) vs "
            f"apply then seed {seeded['floor_seconds']} s",
            f"ratio {seeded['ratio']} (target <= 1.5)",
        )
    )
    rows.append(
        (
            f"test, {evaluator['cas']} CAs x {evaluator['users']:,} users x "
            f"{evaluator['events_per_user']} events",
            f"{evaluator['pairs_per_second']:,} (event, CA) evaluations/s; loading "
            f"{evaluator['load_seconds']} s, whole command {evaluator['command_seconds']} s",
            f"{evaluator['pairs_per_second'] / evaluator['target_pairs_per_second']:.1f}x the "
            "target (target >= 1)",
        )
    )
    for row in diffs["in_process"]:
        rows.append(
            (
                f"plan value diffs, {row['workspace']} ({row['test_users']} test users)",
                f"loading test files {row['load_seconds']} s; values of a plan changing every "
                f"CA {row['values_on_change_seconds']} s",
                f"without test files: {row['no_test_files_seconds']} s",
            )
        )
    whole = diffs["plan_process_seconds"]
    rows.append(
        (
            "process: plan manifests/ with its test files",
            f"{whole['with test files']} s",
            f"without them {whole['without test files']} s",
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(
        json.dumps(
            {
                **processes,
                "plan_scale": plan,
                **apply,
                **limited,
                "seeding": seeding,
                "live": live,
                "apply_seeds": seeded,
                "evaluator": evaluator,
                "value_diffs": diffs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
