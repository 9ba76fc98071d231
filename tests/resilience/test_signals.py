"""SIGTERM, how CI runners cancel a job, stops a command as Ctrl-C does: it ends what is in
flight, says so in one line and exits 143, rather than vanishing mid-request with no word
(Python's default). A real process waits on a server that never answers, and is sent the
signal once the server has its request; so also when Ctrl-C is ignored, as in a job
started in the background."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import StartEmulator
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.servers import Server, hanging, running
from tests.support.workspace import RawApi, ca, env_for, write_manifests

#: Far beyond what a run needs to stop; a process that ignored the signal would hit it.
LIMIT = 30
#: Starts the command line as `python -m reconciler` does, Ctrl-C ignored first or not.
START = (
    "import runpy, signal, sys; {ignore}"
    "sys.argv[0] = 'reconciler'; runpy.run_module('reconciler', run_name='__main__')"
)
IGNORE_CTRL_C = "signal.signal(signal.SIGINT, signal.SIG_IGN); "


def started(
    server: Server | EmulatorServer, directory: Path, command: list[str], ignore: bool
) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MPARTICLE_", "RECONCILER_"))}
    code = START.format(ignore=IGNORE_CTRL_C if ignore else "")
    return subprocess.Popen(
        [sys.executable, "-c", code, *command, str(directory)],
        env={**clean, **env_for(server.url), "NO_COLOR": "1", "RECONCILER_CACHE_DIR": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    ("command", "ignore"),
    [(["plan"], False), (["apply", "--auto-approve"], False), (["apply", "--auto-approve"], True)],
)
def test_sigterm_while_waiting_for_an_answer_stops_as_ctrl_c_does(
    tmp_path: Path, command: list[str], ignore: bool
) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    with running(hanging) as server:
        process = started(server, directory, command, ignore)
        try:
            give_up = time.monotonic() + LIMIT
            while not server.requests and process.poll() is None and time.monotonic() < give_up:
                time.sleep(0.02)
            assert server.requests, "the command never sent its first request"
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=LIMIT)
        finally:
            process.kill()
    assert process.returncode == 143, stderr
    assert stderr == "Error: interrupted by SIGTERM\n"


@pytest.mark.parametrize(
    ("sent", "code", "ignore"),
    [(signal.SIGINT, 130, False), (signal.SIGTERM, 143, False), (signal.SIGTERM, 143, True)],
)
def test_an_apply_stopped_mid_way_says_what_was_done_and_a_re_run_converges(
    tmp_path: Path, start_emulator: StartEmulator, sent: signal.Signals, code: int, ignore: bool
) -> None:
    """Terraform's promise on Ctrl-C: the steps done are reported, the one cut off on its
    way is named as such, the rest as not started, and a re-run finishes the job. SIGTERM
    too, also when Ctrl-C is ignored (a job started in the background): the report, and
    one line on stderr, no traceback."""
    directory = write_manifests(tmp_path, [ca(f"CA {n}") for n in range(8)])
    server = start_emulator()
    server.settings(latency_ms=150)
    process = started(server, directory, ["apply", "--auto-approve", "--concurrency", "1"], ignore)
    try:
        give_up = time.monotonic() + LIMIT
        while creates(server) < 3 and process.poll() is None and time.monotonic() < give_up:
            time.sleep(0.01)
        assert creates(server) >= 3, "the apply never got going"
        process.send_signal(sent)
        stdout, stderr = process.communicate(timeout=LIMIT)
    finally:
        process.kill()
    assert process.returncode == code, stderr
    assert re.search(r"Apply stopped: \d+ done, 1 failed, \d+ not started\.", stdout), stdout
    assert "interrupted on its way: it may or may not have been carried out" in stdout
    assert "Nothing was rolled back. Re-run `reconciler apply` to continue" in stdout
    # SIGTERM named as such, as every other command names it: a CI runner's cancel.
    by = " by SIGTERM" if sent == signal.SIGTERM else ""
    assert stderr == f"Error: interrupted{by}; re-run the same command to continue\n"
    server.settings(latency_ms=0)
    again = run_cli("apply", directory, "--auto-approve", env=env_for(server.url))
    assert again.exit_code == 0, again.output
    api = RawApi(server.url)
    names = [item["name"] for item in api.list()]
    api.close()
    assert sorted(names) == sorted(f"CA {n}" for n in range(8))  # none twice
    plan = run_cli("plan", directory, "--detailed-exitcode", env=env_for(server.url))
    assert plan.exit_code == 0, plan.output


def creates(server: EmulatorServer) -> int:
    return sum(n for route, n in server.stats()["requests"].items() if route.startswith("POST /p"))


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_saved_plan_waiting_for_an_export_of_its_folder_stops_on_a_signal(
    tmp_path: Path, start_emulator: StartEmulator, sent: signal.Signals, code: int
) -> None:
    """`apply --plan FILE DIR` read DIR's manifests inside its event loop: waiting there
    for an export writing DIR (30 s at most) blocked the loop, so Ctrl-C and SIGTERM did
    nothing until the wait was over, and the command then failed on the wait's error."""
    directory = write_manifests(tmp_path / "m", [ca("A")])
    server = start_emulator()
    saved = tmp_path / "plan.json"
    assert run_cli("plan", directory, "--out", saved, env=env_for(server.url)).exit_code == 0
    export = os.open(directory, os.O_RDONLY)  # an export, mid-way, holds the folder
    fcntl.flock(export, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        process = started(
            server, directory, ["apply", "--plan", str(saved), "--auto-approve"], False
        )
        try:
            assert process.stderr is not None
            waiting = process.stderr.readline()
            assert "a `reconciler export` is writing into it; waiting" in waiting, waiting
            sent_at = time.monotonic()
            process.send_signal(sent)
            _, stderr = process.communicate(timeout=LIMIT + 10)
            took = time.monotonic() - sent_at
        finally:
            process.kill()
    finally:
        os.close(export)
    assert process.returncode == code, stderr
    assert took < LIMIT / 3, took  # the wait was for 30 s
    by = " by SIGTERM" if sent == signal.SIGTERM else ""
    # Not the waiting line again first: a signal that landed after rich wrote it but
    # before it cleared its buffer (about one run in four) had it written twice.
    assert stderr == f"Error: interrupted{by}\n", stderr
    assert "Traceback" not in stderr, stderr
