"""A seed run killed mid-way resumes from its checkpoint: SIGINT and SIGTERM let the batches
in flight finish and be recorded, and send nothing more (batches waiting for their pacing
slot are left unsent); SIGKILL loses at most those in flight. The re-run completes and never
re-sends a batch the checkpoint confirmed (requests counted by the emulator)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.seeding.conftest import Serve, cli_env
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.seeds import MANIFESTS, users, write_jsonl

USERS = 20_000
BATCHES = USERS // 100
BULK = "POST /v2/bulkcalculatedattributes"


def start_seed(
    path: Path, checkpoint: Path, server: EmulatorServer, log: Path, *options: str
) -> subprocess.Popen[bytes]:
    """`reconciler seed` as its own process, as a user's terminal would run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MPARTICLE_", "RECONCILER_"))}
    command = [sys.executable, "-m", "reconciler", "seed", str(path), str(MANIFESTS)]
    command += ["--checkpoint", str(checkpoint), "--concurrency", "4", *options]
    with log.open("wb") as output:
        return subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env={**env, **cli_env(server)}
        )


def confirmed(checkpoint: Path) -> int:
    """Batches the checkpoint records as confirmed (complete lines after the header)."""
    if not checkpoint.exists():
        return 0
    return max(checkpoint.read_bytes().count(b"\n") - 1, 0)


def wait_until_confirmed(process: subprocess.Popen[bytes], checkpoint: Path, count: int) -> None:
    """Poll the checkpoint until `count` batches are confirmed, while the run goes on."""
    deadline = time.monotonic() + 60
    while confirmed(checkpoint) < count:
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "no progress in the checkpoint"
        time.sleep(0.01)


def resume(path: Path, checkpoint: Path, server: EmulatorServer) -> dict[str, object]:
    server.settings(latency_ms=0)
    result = run_cli(
        "seed", path, MANIFESTS, "--checkpoint", checkpoint, "--format", "json",
        env=cli_env(server),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.stdout)
    return report


def stopped_while_waiting(
    server: EmulatorServer,
    tmp_path: Path,
    *options: str,
    ready: Callable[[], bool] | None = None,
) -> tuple[Path, Path, str]:
    """`seed` of 1,000 users (10 batches), sent Ctrl-C once a batch is confirmed and
    `ready()`, while the others wait: the run must end at once (exit 130), long before
    any of those waits would. The seed file, the checkpoint and the run's output."""
    path = write_jsonl(tmp_path / "seeds.jsonl", users(1000))
    checkpoint = tmp_path / "seeds.checkpoint"
    log = tmp_path / "run.log"
    process = start_seed(path, checkpoint, server, log, *options)
    try:
        wait_until_confirmed(process, checkpoint, 1)
        deadline = time.monotonic() + 30
        while ready is not None and not ready():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the run never got where it is interrupted"
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 130, log.read_text()
    finally:
        process.kill()
    return path, checkpoint, log.read_text()


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_finishes_batches_in_flight_and_the_rerun_sends_only_the_rest(
    serve: Serve, tmp_path: Path, sent: signal.Signals, code: int
) -> None:
    path = write_jsonl(tmp_path / "seeds.jsonl", users(USERS))
    checkpoint = tmp_path / "seeds.checkpoint"
    log = tmp_path / "run.log"
    with serve(latency_ms=50) as server:
        process = start_seed(path, checkpoint, server, log)
        wait_until_confirmed(process, checkpoint, 10)
        process.send_signal(sent)
        assert process.wait(60) == code
        output = log.read_text()
        first = confirmed(checkpoint)
        # The batches in flight finished and were recorded: the server saw nothing else.
        assert server.stats()["requests"][BULK] == first
        assert 10 <= first < BATCHES
        assert f"stopped by {sent.name}" in output
        assert f"Resume with: reconciler seed {path} {MANIFESTS} --checkpoint {checkpoint}" in (
            output.replace("\n", " ")
        )
        report = resume(path, checkpoint, server)
        stats = server.stats()
        assert server.seeds(limit=0)["count"] == USERS
    assert report["batches"] == {"total": BATCHES, "sent": BATCHES - first, "skipped": first}
    assert stats["requests"][BULK] == BATCHES
    assert stats["seed_users_accepted"] == USERS
    assert confirmed(checkpoint) == BATCHES


def test_a_signal_sends_nothing_more_and_leaves_batches_waiting_for_their_slot_unsent(
    serve: Serve, tmp_path: Path
) -> None:
    # --rate 10 starts at 1 user/s: the first request goes at once, the next three workers
    # wait 100, 200 and 300 s for their slots (one request every 100 s). A signal must end
    # those waits, not send them.
    with serve() as server:
        path, checkpoint, output = stopped_while_waiting(server, tmp_path, "--rate", "10")
        assert server.stats()["requests"][BULK] == 1 == confirmed(checkpoint)
        # Not "finishing the 0 request(s) in flight, then stopping (again to stop at once)".
        assert "SIGINT: sending no more; no request is in flight: stopping; batches" in output
        # One line for the queue, which says the cadence (not "the next request waits
        # 100s", "... 200s", "... 300s", a line per worker, read as a pause of minutes).
        pacing = [line for line in output.splitlines() if line.startswith("pacing:")]
        assert len(pacing) == 1, output
        assert re.fullmatch(
            r"pacing: one request of 100 users every 100 s \(seeding at 1\.0 users/s\); "
            r"3 waiting, the last going at (?:\S+ )?\d\d:\d\d:\d\d \S+; then 600 users "
            r"more, at up to 10\.0 users/s as the workspace allows",
            pacing[0],
        ), pacing[0]
        report = resume(path, checkpoint, server)
        stats = server.stats()
        assert server.seeds(limit=0)["count"] == 1000
    assert report["batches"] == {"total": 10, "sent": 9, "skipped": 1}
    assert stats["requests"][BULK] == 10  # each batch exactly once over both runs
    assert confirmed(checkpoint) == 10


def test_sigkill_loses_at_most_the_batches_in_flight_and_confirmed_ones_are_not_resent(
    serve: Serve, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "seeds.jsonl", users(USERS))
    checkpoint = tmp_path / "seeds.checkpoint"
    with serve(latency_ms=50) as server:
        process = start_seed(path, checkpoint, server, tmp_path / "run.log")
        wait_until_confirmed(process, checkpoint, 10)
        process.kill()
        assert process.wait(60) == -signal.SIGKILL
        first = confirmed(checkpoint)
        before = server.stats()["requests"][BULK]
        # Requests in flight when the process died reached the server unrecorded.
        assert first <= before <= first + 4
        report = resume(path, checkpoint, server)
        stats = server.stats()
        assert server.seeds(limit=0)["count"] == USERS
    assert report["batches"] == {"total": BATCHES, "sent": BATCHES - first, "skipped": first}
    # The re-run sent exactly the batches the checkpoint did not confirm.
    assert stats["requests"][BULK] - before == BATCHES - first
    # Sent twice at most: the batches that reached the server unconfirmed. Not exactly
    # those: one the process died sending may be counted and never taken (its connection
    # gone before the emulator's latency ran out), as a load on the machine showed.
    assert USERS <= stats["seed_users_accepted"] <= USERS + 100 * (before - first)
    assert confirmed(checkpoint) == BATCHES


def test_a_signal_during_a_retry_wait_sends_no_retry_and_stops_at_once(
    serve: Serve, tmp_path: Path
) -> None:
    # One request per 100 s: the first batch lands, the other workers' requests are refused
    # with a Retry-After of 100 s and wait to be tried again. A signal must end those
    # waits and send no retry: the batches go with the resume.
    with serve() as server:
        server.settings(rate_limit=0.01)

        def waiting() -> bool:
            # The other workers were refused and wait for their retries: the server counted
            # the 429s, and the run announced each wait. (The server's count alone let the
            # signal come before the run had read the 429s: no wait to end.) Usually three
            # are refused; two when the first 429 is read before the last worker sends, which
            # the pacer then holds (a wait too) instead of sending.
            log = tmp_path / "run.log"
            announced = log.read_text().count("retrying 2/12") if log.exists() else 0
            refused = server.stats()["rate_limited"]
            return bool(refused >= 2 and announced >= refused)

        path, checkpoint, output = stopped_while_waiting(server, tmp_path, ready=waiting)
        # The first request and the refused ones, and no retry after the signal. Usually
        # three are refused (two when the pacer held the last worker); one more when the
        # worker whose batch landed sends its next one before the signal (a busy machine),
        # and that one may still be on its way back when the signal comes, unannounced.
        # Every refused request was a first attempt: none announced a second retry (a retry
        # sent after the signal would meet a 429).
        stopped = server.stats()
        refusals = stopped["rate_limited"]
        assert refusals in (2, 3, 4), stopped
        sent = stopped["requests"][BULK]
        assert sent == 1 + refusals, stopped
        said = " ".join(output.split())
        assert 2 <= said.count("retrying 2/12 seed 100 users of ") <= refusals, output
        assert "retrying 3/12" not in said, output
        assert confirmed(checkpoint) == 1
        # A 429 the server counted may still be on its way back when the signal comes: the
        # count of requests on the wire is 0 to 4; what matters is that none is retried.
        assert re.search(
            r"SIGINT: sending no more; (finishing the [1-4] request\(s\) in flight|no request "
            r"is in flight: stopping)",
            said,
        ), output
        server.settings(rate_limit=None)
        report = resume(path, checkpoint, server)
        stats = server.stats()
        assert server.seeds(limit=0)["count"] == 1000
    assert report["batches"] == {"total": 10, "sent": 9, "skipped": 1}
    assert stats["requests"][BULK] == sent + 9
    assert confirmed(checkpoint) == 10


def test_after_sending_the_command_gets_back_its_own_signal_handlers(
    serve: Serve, tmp_path: Path
) -> None:
    # While it sends, the pipeline watches SIGINT and SIGTERM itself; afterwards the
    # command's own handlers are back (SIGTERM stopping it as Ctrl-C does, for the rest of an
    # `apply --seeds`), not Python's defaults, under which SIGTERM ends a process silently.
    path = write_jsonl(tmp_path / "seeds.jsonl", users(10))

    def own(signum: int, frame: object) -> None:
        raise AssertionError("not called")

    before = signal.signal(signal.SIGTERM, own)
    try:
        with serve() as server:
            result = run_cli("seed", path, MANIFESTS, env=cli_env(server))
        assert result.exit_code == 0, result.output
        assert signal.getsignal(signal.SIGTERM) is own
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGTERM, before)
