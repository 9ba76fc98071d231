"""Run the real command line in-process and capture what a user would see."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from reconciler.cli import app


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    """`reconciler ARGS...` with a clean environment (plus `env`); never raises."""
    clean = {key: "" for key in os.environ if key.startswith(("MPARTICLE_", "RECONCILER_"))}
    runner = CliRunner()
    result = runner.invoke(app, [str(a) for a in args], env={**clean, **(env or {})})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Result(result.exit_code, result.stdout, result.stderr)


def run_process(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 60
) -> Result:
    """`python -m reconciler ARGS...` as a real process with a clean environment (plus
    `env`): for what must be seen from outside (logging to a real stderr, a hang that only
    a time limit ends). Raises subprocess.TimeoutExpired after `timeout` seconds."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MPARTICLE_", "RECONCILER_"))}
    process = subprocess.run(
        [sys.executable, "-m", "reconciler", *map(str, args)],
        env={**clean, "NO_COLOR": "1", "COLUMNS": "200", "RECONCILER_CACHE_DIR": "", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(process.returncode, process.stdout, process.stderr)
