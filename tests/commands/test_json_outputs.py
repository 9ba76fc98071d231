"""Machine-readable output as a contract for scripts: every `--format json` prints one
JSON document on stdout and nothing else, of the shape the README documents."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import Result, run_cli
from tests.support.workspace import ca, write_manifests


def cli(*args: str | Path) -> Result:
    result = run_cli(*args)
    assert "Traceback" not in result.output
    return result


def test_applying_an_empty_saved_plan_prints_the_json_report(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca("A")])
    assert cli("apply", directory, "--auto-approve").exit_code == 0
    saved = tmp_path / "plan.json"
    assert cli("plan", directory, "--out", saved).exit_code == 0
    applied = cli("apply", "--plan", saved, "--format", "json")
    assert applied.exit_code == 0, applied.output
    # The same report as `apply DIR --format json` prints for an empty plan: a script
    # piping it into jq gets JSON, not "No changes in the saved plan.".
    empty = cli("apply", directory, "--auto-approve", "--format", "json")
    assert json.loads(applied.stdout) == json.loads(empty.stdout)
    assert json.loads(applied.stdout)["actions"] == []
