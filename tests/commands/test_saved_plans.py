"""Saved plans (format 2): `apply --plan` reaches the plan's own workspace from anywhere,
never creates one, refuses any mismatch of environment, workspace or target with what
the settings resolve to (sending nothing), and still applies a format 1 plan."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.commands.test_plan import writes
from tests.support.cli import Result, run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import SESSIONS, RawApi, ca, env_for, write_manifests

THREE = {
    "default_environment": "dev",
    "environments": {
        "dev": {"workspace_id": 111},
        "staging": {"workspace_id": 222},
        "prod": {"workspace_id": 333, "promote_from": "staging"},
    },
}


def cli(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    result = run_cli(*args, env=env)
    assert "Traceback" not in result.output
    return result


def test_an_embedded_plan_applies_from_anywhere_without_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = write_manifests(tmp_path / "repo" / "cas", [ca("A"), ca("B", active=False)])
    saved = tmp_path / "plan.json"
    planned = cli("plan", directory, "--out", saved)
    assert planned.exit_code == 0, planned.output
    document = json.loads(saved.read_text())
    database = directory / ".reconciler" / "emulator.db"
    assert document["target"] == {
        "kind": "embedded",
        "api_url": None,
        "database": str(database.resolve()),
        "directory": str(directory.resolve()),
    }
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    applied = cli("apply", "--plan", saved)
    assert applied.exit_code == 0, applied.output
    assert not (elsewhere / "manifests").exists()  # no stray workspace where we stood
    assert cli("plan", directory, "--detailed-exitcode").exit_code == 0


def test_apply_plan_never_creates_a_workspace(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca("A")])
    saved = tmp_path / "plan.json"
    assert cli("plan", directory, "--out", saved).exit_code == 0
    database = directory / ".reconciler" / "emulator.db"
    database.unlink()
    refused = cli("apply", "--plan", saved)
    assert refused.exit_code == 1
    assert "does not exist" in refused.stderr
    assert "nothing was sent" in refused.stderr
    assert not database.exists()


def test_apply_plan_refuses_another_workspace_or_target(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    directory = write_manifests(tmp_path / "m", [ca("A")])
    saved = tmp_path / "plan.json"
    env = env_for(emulator.url)
    assert cli("plan", directory, "--out", saved, env=env).exit_code == 0
    cases: list[tuple[dict[str, str], list[str], str]] = [
        ({"MPARTICLE_WORKSPACE_ID": "999"}, [], "the settings name workspace 999"),
        ({}, ["--workspace-id", "998"], "the settings name workspace 998"),
        ({"MPARTICLE_API_URL": "http://127.0.0.1:9"}, [], "the settings name http://127.0.0.1:9"),
        ({"RECONCILER_TARGET": "embedded"}, [], "target mparticle, the settings name embedded"),
        ({"RECONCILER_ENV": "dev"}, [], "but --env / RECONCILER_ENV ask for environment dev"),
    ]
    for extra_env, flags, message in cases:
        refused = cli("apply", "--plan", saved, *flags, env={**env, **extra_env})
        assert refused.exit_code == 1, (extra_env, flags)
        assert message in refused.stderr, refused.stderr
    # reconciler.yaml itself naming another workspace.
    write_manifests(directory, [ca("A")], settings={"workspace_id": 4321})
    moved = cli("apply", "--plan", saved, env=env)
    assert "the plan is for workspace 1234, the settings name workspace 4321" in moved.stderr
    assert writes(emulator.stats()) == 0
    assert raw.list() == []
    write_manifests(directory, [ca("A")])
    assert cli("apply", "--plan", saved, env=env).exit_code == 0
    assert [item["name"] for item in raw.list()] == ["A"]


def test_apply_plan_refuses_another_environment(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca("A")], settings=THREE)
    saved = tmp_path / "prod.json"
    planned = cli("plan", directory, "--env", "prod", "--allow", "promotion", "--out", saved)
    assert planned.exit_code == 0, planned.output
    assert json.loads(saved.read_text())["environment"] == "prod"
    assert json.loads(saved.read_text())["allowed"] == ["promotion"]
    for args, env, message in [
        (["--env", "staging"], {}, "ask for environment staging"),
        ([], {"RECONCILER_ENV": "dev"}, "ask for environment dev"),
        ([], {"MPARTICLE_PROD_WORKSPACE_ID": "5"}, "the settings name workspace 5"),
    ]:
        refused = cli("apply", "--plan", saved, *args, env=env)
        assert refused.exit_code == 1
        assert message in refused.stderr
    # Nothing was sent (the plan is not stale), and the plan's own environment needs no
    # --env (the default would be dev). Staging is still empty: the gate needs allowing.
    applied = cli("apply", "--plan", saved, "--allow", "promotion")
    assert applied.exit_code == 0, applied.output
    again = cli("plan", directory, "--env", "prod", "--detailed-exitcode", "--allow", "promotion")
    assert again.exit_code == 0, again.output


def test_a_plans_environment_that_is_gone_is_the_error_not_an_env_flag(tmp_path: Path) -> None:
    """`apply --plan` of a plan for prod, when reconciler.yaml no longer defines prod, or
    is gone with its directory: the error says so, not `--env prod` (never given)."""
    directory = write_manifests(tmp_path / "m", [ca("A")], settings=THREE)
    saved = tmp_path / "prod.json"
    planned = cli("plan", directory, "--env", "prod", "--allow", "promotion", "--out", saved)
    assert planned.exit_code == 0, planned.output
    settings = directory.resolve() / "reconciler.yaml"
    without_prod: dict[str, Any] = {
        "default_environment": "dev",
        "environments": {"dev": {"workspace_id": 111}},
    }
    cases: list[tuple[dict[str, Any] | None, str]] = [
        (
            without_prod,
            f"the plan is for environment prod, which {settings} does not define (it defines "
            "dev); nothing was sent",
        ),
        (
            {},
            f"the plan is for environment prod, which {settings} does not define (it defines "
            "no environments); nothing was sent",
        ),
        (
            None,
            f"the plan is for environment prod, but {directory.resolve()} has no "
            "reconciler.yaml (not found); nothing was sent",
        ),
    ]
    for written, message in cases:
        if written is None:
            settings.unlink()
        else:
            write_manifests(directory, [ca("A")], settings=written)
        refused = cli("apply", "--plan", saved, "--allow", "promotion")
        assert refused.exit_code == 1
        assert message in refused.stderr
        assert "--env" not in refused.stderr
    shutil.rmtree(directory)
    gone = cli("apply", "--plan", saved, "--allow", "promotion")
    assert gone.exit_code == 1
    assert f"{directory.resolve()} has no reconciler.yaml (no such directory)" in gone.stderr
    assert "--env" not in gone.stderr


def test_a_plans_promotion_source_that_is_gone_is_named_as_the_plans(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca("A")], settings=THREE)
    saved = tmp_path / "prod.json"
    planned = cli("plan", directory, "--env", "prod", "--allow", "promotion", "--out", saved)
    assert planned.exit_code == 0, planned.output
    assert json.loads(saved.read_text())["promotion"]["source"] == "staging"
    two = {
        "default_environment": "dev",
        "environments": {"dev": {"workspace_id": 111}, "prod": {"workspace_id": 333}},
    }
    write_manifests(directory, [ca("A")], settings=two)
    refused = cli("apply", "--plan", saved, "--allow", "promotion")
    assert refused.exit_code == 1
    assert (
        "the plan's promotion gate checks environment staging, which "
        f"{directory.resolve() / 'reconciler.yaml'} does not define (it defines dev, prod); "
        "nothing was sent"
    ) in refused.stderr
    assert "--env staging" not in refused.stderr


def test_env_all_saves_one_plan_per_environment(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca("A"), ca("B")], settings=THREE)
    plans = tmp_path / "plans"
    result = cli("plan", directory, "--env", "all", "--allow", "promotion", "--out", plans)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in plans.iterdir()) == ["dev.json", "prod.json", "staging.json"]
    for name in ("dev", "staging", "prod"):
        document = json.loads((plans / f"{name}.json").read_text())
        assert document["environment"] == name
        assert document["target"]["database"].endswith(f".reconciler/{name}/emulator.db")
        applied = cli("apply", "--plan", plans / f"{name}.json")
        assert applied.exit_code == 0, applied.output
    assert sorted(p.name for p in (directory / ".reconciler").iterdir()) == [
        ".gitignore",
        "dev",
        "prod",
        "staging",
    ]
    assert cli("plan", directory, "--env", "all", "--detailed-exitcode").exit_code == 0


def test_a_format_1_plan_still_applies(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    raw.create("Old", SESSIONS)
    directory = write_manifests(tmp_path / "m", [ca("A")])
    saved = tmp_path / "plan.json"
    env = env_for(emulator.url)
    assert cli("plan", directory, "--out", saved, env=env).exit_code == 0
    document = json.loads(saved.read_text())
    old = {
        key: document[key] for key in ("workspace_id", "summary", "actions", "unmanaged", "live")
    }
    saved.write_text(json.dumps({"format_version": 1, **old}))
    applied = cli("apply", directory, "--plan", saved, env=env)
    assert applied.exit_code == 0, applied.output
    assert sorted(raw.by_name()) == ["A", "Old"]


def test_a_format_1_plan_without_dir_says_to_give_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Format 1 records no manifest directory: run elsewhere without DIR, `manifests/` was
    assumed and the error only said the workspace does not exist."""
    directory = write_manifests(tmp_path / "m", [ca("A")])
    saved = tmp_path / "plan.json"
    assert cli("plan", directory, "--out", saved).exit_code == 0
    document = json.loads(saved.read_text())
    old = {key: document[key] for key in ("workspace_id", "summary", "actions", "unmanaged")}
    saved.write_text(json.dumps({"format_version": 1, **old, "live": document["live"]}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    refused = cli("apply", "--plan", saved)
    assert refused.exit_code == 1
    said = " ".join(refused.stderr.split())
    assert "nothing was sent" in said
    assert (
        "This plan does not record its manifest directory (format 1), so manifests/ was "
        "assumed: give the one it was made from, reconciler apply DIR --plan FILE."
    ) in said
    assert cli("apply", directory, "--plan", saved).exit_code == 0


def test_a_saved_plan_overwritten_during_its_apply_says_what_may_have_happened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two saved plans of one live state applied at once both pass the stale check; the
    first to write then fails with "does not have the planned description" and no word
    of why or what to do. Forced here: the other run writes right after this one."""
    from reconciler.commands import apply as apply_command

    directory = write_manifests(tmp_path / "m", [ca("A")])
    assert run_cli("apply", directory, "--auto-approve").exit_code == 0
    write_manifests(directory, [{**ca("A"), "description": "ours"}])
    plan = tmp_path / "plan.json"
    assert run_cli("plan", directory, "--out", plan).exit_code == 0
    real = apply_command._run_plan

    async def then_the_other_run(plan: Any, client: Any, *args: Any, **kwargs: Any) -> Any:
        report = await real(plan, client, *args, **kwargs)
        (action,) = plan.actions
        await client.update(action.id, {**action.body, "description": "theirs"})
        return report

    monkeypatch.setattr(apply_command, "_run_plan", then_the_other_run)
    result = run_cli("apply", "--plan", plan)
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        'Error: after applying, the workspace does not match the plan: "A" does not have the '
        "planned description. Another run or a user may have changed the workspace during "
        "this apply (or the API stored something other than what was sent): run `reconciler "
        "plan` to see the difference, then apply again\n"
    )
