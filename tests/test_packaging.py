"""What pyproject.toml declares is what the installed package needs at run time."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def dependencies() -> list[Requirement]:
    """`[project] dependencies` of pyproject.toml (a list of strings, comment lines aside)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r"^dependencies = \[\n(.*?)^\]", text, re.DOTALL | re.MULTILINE)
    assert found is not None
    lines = [line for line in found[1].splitlines() if not line.strip().startswith("#")]
    return [Requirement(spec) for spec in ast.literal_eval("[" + "\n".join(lines) + "]")]


def test_the_typer_floor_is_a_release_the_cli_runs_on() -> None:
    """Found by installing releases: 0.12.0 to 0.12.3 refuse `str | None` parameters at
    start; 0.12.4 to 0.27.1 lack `typer.TyperException`, which every failed run's exit
    code is judged by (a traceback instead of the error); 0.27.2 and 0.27.3 take an
    option's metavar as its name (`emulator --PORT`, `--port` refused)."""
    (typer,) = (requirement for requirement in dependencies() if requirement.name == "typer")
    assert not typer.specifier.contains("0.27.3")
    assert typer.specifier.contains("0.28.0")
