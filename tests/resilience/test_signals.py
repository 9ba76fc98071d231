"""SIGTERM, how CI runners cancel a job, stops a command as Ctrl-C does: it ends what is in
flight, says so in one line and exits 143, rather than vanishing mid-request with no word
(Python's default). A real process waits on a server that never answers, and is sent the
signal once the server has its request; so also when Ctrl-C is ignored, as in a job
started in the background."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.servers import Server, hanging, running
from tests.support.workspace import ca, env_for, write_manifests

#: Far beyond what a run needs to stop; a process that ignored the signal would hit it.
LIMIT = 30
#: Starts the command line as `python -m reconciler` does, Ctrl-C ignored first or not.
START = (
    "import runpy, signal, sys; {ignore}"
    "sys.argv[0] = 'reconciler'; runpy.run_module('reconciler', run_name='__main__')"
)
IGNORE_CTRL_C = "signal.signal(signal.SIGINT, signal.SIG_IGN); "


def started(
    server: Server, directory: Path, command: list[str], ignore: bool
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
