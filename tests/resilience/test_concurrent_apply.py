"""Two `reconciler apply` processes against one emulator server and one workspace at once.

Both must end, the workspace must be converged afterwards (a third plan is empty), and no
CA name may ever exist twice: the emulator refuses a second CA of a name with 400 "must be
unique", and the applier adopts the CA that the other process created.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import StartEmulator
from tests.resilience.scenario import Scenario, check_converged, reference, stage
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import env_for, write_manifests

CREATE = "POST /platform/v2/workspaces/{workspace_id}/calculatedattributes"
PROMPT = b"Only 'yes' is accepted:"
#: Generous bound for a process to reach a given point; it only fails a hung test.
DEADLINE = 120.0


def _command(directory: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", "apply", str(directory), "--force", *extra]


def _env(url: str) -> dict[str, str]:
    return {**os.environ, **env_for(url), "NO_COLOR": "1", "COLUMNS": "200"}


def _prepare(server: EmulatorServer, tmp_path: Path) -> tuple[Scenario, Path]:
    scenario = stage(server.url)
    directory = write_manifests(tmp_path / "m", scenario.desired, settings={"prune": True})
    return scenario, directory


def _settled(
    server: EmulatorServer, emulator: EmulatorServer, scenario: Scenario, directory: Path
) -> None:
    replan = run_cli("plan", directory, "--detailed-exitcode", env=env_for(server.url))
    assert replan.exit_code == 0, replan.output
    check_converged(server, scenario, reference(emulator, scenario.desired))


def test_two_auto_approved_applies_at_once_under_faults(
    start_emulator: StartEmulator, emulator: EmulatorServer, tmp_path: Path
) -> None:
    # Latency stretches each apply well beyond the start-up skew of two interpreters; the
    # faults (30%, every kind) make lost answers meet the race.
    server = start_emulator(latency_ms=20, fault_seed=5)
    scenario, directory = _prepare(server, tmp_path)
    server.settings(fault_rate=0.3)
    env = _env(server.url)
    processes = [
        subprocess.Popen(
            _command(directory, "--auto-approve"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [process.communicate(timeout=DEADLINE) for process in processes]
    for process, (stdout, stderr) in zip(processes, results, strict=True):
        assert process.returncode in (0, 1), stdout + stderr
        assert "Traceback" not in stdout + stderr
        if process.returncode == 1:
            assert stderr.startswith("Error: "), stderr
    _settled(server, emulator, scenario, directory)


@dataclass
class _Terminal:
    """A process whose stdin and stdout are a pseudo-terminal, so apply asks to confirm."""

    process: subprocess.Popen[bytes]
    master: int
    seen: bytes = b""

    @classmethod
    def start(cls, command: list[str], env: dict[str, str]) -> _Terminal:
        master, slave = os.openpty()
        process = subprocess.Popen(command, env=env, stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        return cls(process, master)

    def read_until(self, marker: bytes | None) -> None:
        """Read output until `marker` appears (None: until the process closes it)."""
        selector = selectors.DefaultSelector()
        selector.register(self.master, selectors.EVENT_READ)
        deadline = time.monotonic() + DEADLINE
        try:
            while marker is None or marker not in self.seen:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no {marker!r} from the process: {self.text}"
                if not selector.select(remaining):
                    continue
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: every holder of the terminal's other end is gone
                    chunk = b""
                if not chunk:
                    assert marker is None, f"the process ended before {marker!r}: {self.text}"
                    return
                self.seen += chunk
        finally:
            selector.close()

    def answer(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self) -> int:
        self.read_until(None)
        code = self.process.wait(DEADLINE)
        os.close(self.master)
        return code

    @property
    def text(self) -> str:
        return self.seen.decode(errors="replace")


def test_two_applies_confirmed_from_the_same_plan(
    start_emulator: StartEmulator, emulator: EmulatorServer, tmp_path: Path
) -> None:
    """Both processes have planned against the same live state before either writes (each
    waits at its confirmation prompt), so every create and change is raced for certain."""
    server = start_emulator()
    scenario, directory = _prepare(server, tmp_path)
    creates_before = server.stats()["requests"][CREATE]
    env = _env(server.url)
    terminals = [_Terminal.start(_command(directory), env) for _ in range(2)]
    try:
        for terminal in terminals:
            terminal.read_until(PROMPT)
        for terminal in terminals:
            terminal.answer("yes\n")
        codes = [terminal.finish() for terminal in terminals]
    finally:
        for terminal in terminals:
            if terminal.process.poll() is None:
                terminal.process.kill()
                terminal.process.wait()
    for terminal, code in zip(terminals, codes, strict=True):
        assert code in (0, 1), terminal.text
        assert "Traceback" not in terminal.text
    # Each process sent each of its creates once; the loser of every race adopted the CA.
    assert server.stats()["requests"][CREATE] - creates_before == 2 * scenario.creates
    assert sum(t.text.count("(adopted: its name was taken since the plan") for t in terminals) == (
        scenario.creates
    )
    _settled(server, emulator, scenario, directory)
