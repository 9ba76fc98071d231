"""On a terminal, apply shows the plan and asks; only `yes` goes ahead (pseudo-terminal)."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reconciler.api import http
from reconciler.api.retrying import Deadline
from reconciler.commands import apply as apply_command
from reconciler.console import Output
from tests.commands.test_plan import writes
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import RawApi, ca, env_for, write_manifests


def run_on_a_terminal(args: list[str], env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run the CLI with stdin/stdout on a pty, answer its prompt, return (exit code, screen)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, **env, "NO_COLOR": "1", "COLUMNS": "120"},
        close_fds=True,
    )
    os.close(slave)
    screen = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
            if not answered and b"Only 'yes' is accepted" in screen:
                os.write(master, answer.encode() + b"\n")
                answered = True
        elif process.poll() is not None:
            break
    code = process.wait(timeout=30)
    os.close(master)
    return code, screen.decode(errors="replace")


def test_only_yes_applies(tmp_path: Path, emulator: EmulatorServer, raw: RawApi) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    env = env_for(emulator.url)
    code, screen = run_on_a_terminal(["apply", str(directory)], env, "no")
    assert code == 1
    assert '+ create "A"' in screen
    assert "Apply cancelled; nothing was sent." in screen
    assert writes(emulator.stats()) == 0
    code, screen = run_on_a_terminal(["apply", str(directory)], env, "yes")
    assert code == 0, screen
    assert "Apply complete: 2 done." in screen
    assert [item["name"] for item in raw.list()] == ["A"]


class _Clock:
    """time.monotonic, moved forward at will."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.ahead


def test_time_spent_at_the_prompt_is_not_counted_in_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person who answers `yes` after the command's deadline (30 min) still gets the
    apply: every request was refused with "this command's deadline ... has passed"."""
    directory = write_manifests(tmp_path, [ca("A")])
    clock = _Clock()
    monkeypatch.setattr(
        http, "Deadline", lambda seconds, _http_clock=None: Deadline(seconds, clock)
    )
    monkeypatch.setattr(Output, "interactive", property(lambda self: True))

    def answered_an_hour_later(output: Output) -> bool:
        clock.ahead += 3600
        return True

    monkeypatch.setattr(apply_command, "_confirm", answered_an_hour_later)
    result = run_cli("apply", directory, env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "Apply complete: 2 done." in result.stdout


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_at_the_prompt_stops_at_once(
    tmp_path: Path, emulator: EmulatorServer, sent: signal.Signals, code: int
) -> None:
    """The answer was read by a worker thread that held the exit until Enter was pressed:
    Ctrl-C at the prompt seemed to do nothing."""
    directory = write_manifests(tmp_path, [ca("A")])
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", str(directory)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, **env_for(emulator.url), "NO_COLOR": "1", "COLUMNS": "120"},
        close_fds=True,
    )
    os.close(slave)
    screen = b""
    try:
        give_up = time.monotonic() + 60
        while b"Only 'yes' is accepted" not in screen and time.monotonic() < give_up:
            if select.select([master], [], [], 0.5)[0]:
                screen += os.read(master, 4096)
        process.send_signal(sent)
        assert process.wait(timeout=20) == code, screen.decode(errors="replace")
        while select.select([master], [], [], 0.2)[0]:
            try:
                screen += os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
    finally:
        process.kill()
        process.wait()
        os.close(master)
    assert b"Error: interrupted" in screen
    assert writes(emulator.stats()) == 0


def test_json_report_still_shows_the_plan_it_asks_about(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    code, screen = run_on_a_terminal(
        ["apply", str(directory), "--format", "json"], env_for(emulator.url), "no"
    )
    assert code == 1
    assert '+ create "A"' in screen
    assert "Apply cancelled; nothing was sent." in screen
    assert writes(emulator.stats()) == 0
