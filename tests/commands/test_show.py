"""`reconciler show PLANFILE`: a saved plan rendered exactly as `plan` rendered it, in each
format, with no request; format 1 files too; a file that is not a plan is a user error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import ca, env_for, write_manifests
from tests.test_plan_format import V1

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_show_renders_a_saved_plan_as_plan_did_without_a_request(
    tmp_path: Path, emulator: EmulatorServer, fmt: str
) -> None:
    """The example workspace has test files: the value diffs are part of what is shown."""
    source = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", source)
    env = env_for(emulator.url)
    saved = tmp_path / "plan.json"
    planned = run_cli("plan", source, "--out", saved, "--format", fmt, env=env)
    assert planned.exit_code == 0, planned.output
    requests = emulator.stats()["total"]
    shown = run_cli("show", saved, "--format", fmt)  # no settings, no credentials
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == planned.stdout
    assert "values (tests): " in shown.stdout or fmt != "text"
    assert emulator.stats()["total"] == requests


def test_show_reads_format_1_plans(tmp_path: Path) -> None:
    saved = tmp_path / "old.json"
    saved.write_text(json.dumps(V1))
    shown = run_cli("show", saved)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("Reconciler will perform these actions in workspace 1234:")
    assert '  + create "LTV"' in shown.stdout
    assert 'Unmanaged (live, in no manifest; `prune: true` deletes them):\n  ? "Legacy"' in (
        shown.stdout
    )
    assert json.loads(run_cli("show", saved, "--format", "json").stdout)["format_version"] == 2


def test_show_of_something_that_is_not_a_plan_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a plan")
    for path, said in (
        (tmp_path / "notes.txt", "is not a reconciler plan (not JSON"),
        (tmp_path / "missing.json", "cannot read plan"),
        (tmp_path, "cannot read plan"),
    ):
        result = run_cli("show", path)
        assert result.exit_code == 1
        assert said in result.stderr, result.stderr


def test_every_environment_s_json_saved_from_stdout_is_told_to_use_out(tmp_path: Path) -> None:
    """`plan --env all --format json > plans.json` holds `{"environments": {...}}`, not a
    plan: show and apply said `is not a reconciler plan (format_version 1 or 2):
    workspace_id: Field required`, which names neither what the file is nor the way."""
    environments = {"dev": {"workspace_id": 111}, "prod": {"workspace_id": 333}}
    directory = write_manifests(tmp_path / "m", [ca("A")], settings={"environments": environments})
    printed = run_cli("plan", directory, "--env", "all", "--format", "json")
    assert printed.exit_code == 0, printed.output
    saved = tmp_path / "plans.json"
    saved.write_text(printed.stdout)
    commands: list[list[str | Path]] = [["show", saved], ["apply", "--plan", saved]]
    for command in commands:
        result = run_cli(*command)
        assert result.exit_code == 1
        assert (
            f"{saved} holds the plans of every environment (dev, prod), as "
            "`plan --env all --format json` prints them; a saved plan is one environment's: "
            "save them with `plan --env all --out DIR` (a file per environment) and name one, "
            "DIR/<environment>.json"
        ) in result.stderr, result.stderr
        assert "Field required" not in result.stderr


def test_a_folder_of_plans_named_as_a_plan_is_told_which_plans_it_holds(tmp_path: Path) -> None:
    """`plan --env all --out plans` writes plans/<env>.json; `show plans` then said
    `cannot read plan plans: Is a directory`, the system's words, and named none of them."""
    plans = tmp_path / "plans"
    plans.mkdir()
    for name in ("dev", "prod"):
        (plans / f"{name}.json").write_text(json.dumps(V1))
    commands: list[list[str | Path]] = [["show", plans], ["apply", "--plan", plans]]
    for command in commands:
        result = run_cli(*command)
        assert result.exit_code == 1
        assert f"cannot read plan {plans}: it is a directory (`plan --env all --out`" in (
            result.stderr
        )
        assert f"name a plan in it, {plans / 'dev.json'}, {plans / 'prod.json'}" in result.stderr
