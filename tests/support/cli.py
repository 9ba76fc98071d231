"""Run the real command line in-process and capture what a user would see."""

from __future__ import annotations

import os
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
