"""Over loopback against the emulator server: 100,000 users land completely from JSONL and
from CSV, each exactly as sent; under a low rate limit and 20% faults they still do, and
nothing is sent twice beyond the retries of failed requests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.seeding.conftest import Serve, cli_env
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.seeds import (
    MANIFESTS,
    cutoffs,
    expected,
    index_of,
    small_user,
    user,
    users,
    write_csv,
    write_jsonl,
)

USERS = 100_000
BATCH = 100
BULK = "POST /v2/bulkcalculatedattributes"


def assert_landed(
    server: EmulatorServer, count: int, sent: Callable[[int], dict[str, Any]] = user
) -> None:
    """The emulator holds `count` users; pages at the start, middle and end of what it
    holds are each exactly the user as sent (types and cutoffs filled in)."""
    assert server.seeds(limit=0)["count"] == count
    table = cutoffs()
    checked = 0
    for offset in (0, count // 2, count - 500):
        for stored in server.seeds(limit=500, offset=offset)["users"]:
            assert stored == expected(sent(index_of(stored)), table)
            checked += 1
    assert checked == 1500


def seed_json(path: Path, server: EmulatorServer, *args: str) -> dict[str, Any]:
    result = run_cli("seed", path, MANIFESTS, "--format", "json", *args, env=cli_env(server))
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_100k_users_from_jsonl_land_exactly_as_sent(serve: Serve, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "seeds.jsonl", users(USERS))
    with serve() as server:
        report = seed_json(path, server)
        stats = server.stats()
        assert_landed(server, USERS)
    assert report["users"] == {
        "read": USERS,
        "valid": USERS,
        "sent": USERS,
        "already_sent": 0,
        "nothing_to_send": 0,
        "rejected": {"invalid": 0, "server": 0, "missing_ca": 0},
    }
    assert report["batches"] == {"total": USERS // BATCH, "sent": USERS // BATCH, "skipped": 0}
    assert stats["requests"] == {BULK: USERS // BATCH}
    assert stats["seed_users_accepted"] == USERS
    assert report["complete"] is True


def test_100k_users_from_csv_land_exactly_as_sent(serve: Serve, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "seeds.csv", users(USERS))
    with serve() as server:
        report = seed_json(path, server)
        stats = server.stats()
        assert_landed(server, USERS)
    assert report["format"] == "csv"
    assert report["users"]["sent"] == USERS
    assert stats["requests"] == {BULK: USERS // BATCH}
    assert stats["seed_users_accepted"] == USERS


def test_rate_limit_and_faults_still_land_everything_once(serve: Serve, tmp_path: Path) -> None:
    # Every 429 (a fault or the limit) pauses the client for its Retry-After (1 s), so the
    # cost is in requests: 100,000 one-seed users go in 100 requests of 1,000.
    batch = 1000
    path = write_jsonl(tmp_path / "seeds.jsonl", (small_user(i) for i in range(USERS)))
    # The server allows 10 requests/s with bursts of 10: the opening 16 requests in flight
    # (the client paces itself at 270/s) surely meet 429s with Retry-After, and a fifth of
    # all requests fail on top.
    with serve(rate_limit=10, fault_rate=0.2, fault_seed=7) as server:
        report = seed_json(path, server, "--batch-size", str(batch), "--concurrency", "16")
        stats = server.stats()
        assert_landed(server, USERS, small_user)
    faults = [fault for fault in stats["fault_log"] if fault["route"] == BULK]
    committed = sum(1 for fault in faults if fault["committed"])
    assert faults, "the run met faults"
    assert committed, "some batches were committed and their answer lost"
    assert stats["rate_limited"], "the run met the server's rate limit"
    sent, retried = report["requests"]["sent"], report["requests"]["retried"]
    # Every request beyond one per batch is the retry of a failed one, and every failure
    # was retried once: nothing else was sent twice.
    assert stats["requests"] == {BULK: sent}
    assert sent == USERS // batch + retried
    assert retried == len(faults) + stats["rate_limited"]
    # Users are accepted twice only when the server committed a batch and lost its answer.
    assert stats["seed_users_accepted"] == USERS + batch * committed
    assert report["users"]["sent"] == USERS
