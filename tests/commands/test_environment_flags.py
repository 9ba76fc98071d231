"""`--env`, `--allow` and the ownership scope on the commands that are not covered by the
server scenarios: seed, export, apply with `all`, an unknown rule, and the threshold
counted over the in-scope workspace only. Embedded targets, so nothing needs a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.manifest import loader
from reconciler.settings import Flags, resolve
from reconciler.workspace import Workspace, planning
from tests.plan.states import DEFINITION, OTHER, found
from tests.support.cli import run_cli
from tests.support.workspace import PURCHASES, ca, write_manifests

THREE: dict[str, Any] = {
    "default_environment": "dev",
    "environments": {
        "dev": {"workspace_id": 111},
        "staging": {"workspace_id": 222},
        "prod": {"workspace_id": 333},
    },
}


def test_seed_checks_users_against_the_environments_cas(tmp_path: Path) -> None:
    directory = write_manifests(
        tmp_path / "m", [ca("LTV", PURCHASES, environments=["dev"])], settings=THREE
    )
    seeds = tmp_path / "seeds.jsonl"
    user = {
        "environment": "development",
        "mpid": 1,
        "calculated_attributes": {"workspace": [{"attribute_name": "LTV", "seed": {"value": 5}}]},
    }
    seeds.write_text(json.dumps(user) + "\n")
    assert run_cli("seed", seeds, directory, "--dry-run").exit_code == 0  # dev by default
    elsewhere = run_cli("seed", seeds, directory, "--env", "prod", "--dry-run")
    assert elsewhere.exit_code == 1
    assert "LTV" in elsewhere.stderr
    assert "nothing was sent" in elsewhere.stderr


def test_one_environment_commands_refuse_all_and_unknown_names(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca("A")], settings=THREE)
    for command in (["apply", "--auto-approve"], ["export", "--out", str(tmp_path / "x")]):
        every = run_cli(*command[:1], directory, *command[1:], "--env", "all")
        assert every.exit_code == 1
        assert (
            "--env all: this command works on one environment; name one of dev, staging, prod"
            in (every.stderr)
        )
    typo = run_cli("plan", directory, "--env", "stagin")
    assert typo.exit_code == 1
    assert "unknown environment `stagin`; did you mean `staging`?" in typo.stderr
    required = write_manifests(
        tmp_path / "n", [ca("A")], settings={**THREE, "default_environment": None}
    )
    missing = run_cli("plan", required)
    assert missing.exit_code == 1
    assert "--env is required" in missing.stderr
    assert "dev, staging, prod" in missing.stderr
    assert run_cli("plan", required, env={"RECONCILER_ENV": "prod"}).exit_code == 0
    # A bad name is blamed on where it came from, in validate as in the other commands.
    for name in ("validate", "plan"):
        wrong = run_cli(name, directory, env={"RECONCILER_ENV": "stagin"})
        assert wrong.exit_code == 1
        assert "RECONCILER_ENV stagin: unknown environment `stagin`" in wrong.stderr
        assert "--env stagin" not in wrong.stderr


def test_all_from_reconciler_env_plans_the_unnamed_environment_as_the_flag_does(
    tmp_path: Path,
) -> None:
    """Without `environments:`, `all` is the one unnamed environment for plan and validate
    (SPEC §7), whether `--env` or RECONCILER_ENV says it. The variable was read a second
    time to resolve that environment and refused as `this command works on one
    environment`; so was `--env all` under any RECONCILER_ENV, though the flag comes
    first. A command that works on one environment still refuses it."""
    directory = write_manifests(tmp_path / "m", [ca("A")])
    asked: list[tuple[dict[str, str], list[str]]] = [
        ({"RECONCILER_ENV": "all"}, []),
        ({"RECONCILER_ENV": "all"}, ["--env", "all"]),
        ({"RECONCILER_ENV": "dev"}, ["--env", "all"]),
    ]
    for env, flags in asked:
        planned = run_cli("plan", directory, *flags, env=env)
        assert planned.exit_code == 0, (env, flags, planned.output)
        assert "Plan: 1 to create" in planned.stdout
        validated = run_cli("validate", directory, *flags, env=env)
        assert validated.exit_code == 0, (env, flags, validated.output)
    applied = run_cli("apply", directory, "--auto-approve", env={"RECONCILER_ENV": "all"})
    assert applied.exit_code == 1
    assert "RECONCILER_ENV all: this command works on one environment" in applied.stderr


def test_an_empty_env_is_refused_not_read_as_the_default(tmp_path: Path) -> None:
    """`--env "$TARGET_ENV"` with the variable unset gave `--env ''`, which planned (and
    applied) default_environment: a prod job would have applied dev's plan to dev,
    successfully."""
    directory = write_manifests(tmp_path / "m", [ca("A")], settings=THREE)
    for command in (
        ["plan"],
        ["apply", "--auto-approve"],
        ["validate"],
        ["export", "--out", str(tmp_path / "x")],
        ["test"],
    ):
        empty = run_cli(command[0], directory, *command[1:], "--env", "")
        assert empty.exit_code == 1, empty.output
        assert "Invalid value for '--env': '' names no environment" in empty.stderr
    assert not (directory / ".reconciler").exists()  # no workspace was read or written
    assert not (tmp_path / "x").exists()


def test_an_empty_glob_is_refused_not_read_as_selecting_nothing(tmp_path: Path) -> None:
    """`--only "$CA_GLOB"` with the variable unset gave `--only ''`: a name is never
    empty, so it selected no CA, and a drift job's `plan --detailed-exitcode` exited 0
    (no changes) over drift, an apply applied nothing successfully, and `test` passed
    with every expectation left out. An empty `--exclude` is the same slip."""
    directory = write_manifests(tmp_path / "m", [ca("A")])
    for command in (
        ["plan", "--detailed-exitcode"],
        ["apply", "--auto-approve"],
        ["test"],
    ):
        for flag in ("--only", "--exclude"):
            empty = run_cli(command[0], directory, *command[1:], flag, "")
            assert empty.exit_code == 1, empty.output
            assert f"Invalid value for '{flag}': '' matches no CA (a name is never empty)" in (
                empty.stderr
            )
    assert not (directory / ".reconciler").exists()  # no workspace was read or written
    spaced = run_cli("plan", directory, "--only", " ")  # a glob of spaces is a glob
    assert spaced.exit_code == 0, spaced.output


def test_an_unknown_rule_is_an_error_with_did_you_mean(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca("A")])
    result = run_cli("plan", directory, "--allow", "delete-in-used")
    assert result.exit_code == 1
    assert "--allow delete-in-used: no such safety rule; did you mean `delete-in-use`?" in (
        result.stderr
    )
    assert "Traceback" not in result.output


def test_the_threshold_counts_the_in_scope_workspace_only(tmp_path: Path) -> None:
    ours = [f"Growth {n}" for n in range(10)]
    directory = write_manifests(
        tmp_path / "m",
        [ca(name, DEFINITION) for name in ours],
        settings={"scope": ["Growth *"]},
    )
    loaded = loader.load(directory)
    ws = Workspace(loaded, resolve(directory, loaded.settings, Flags(), {}))
    # Four of our ten change; twenty CAs of another team share the workspace.
    live = [
        found(name, id=n + 1, active=OTHER if n < 4 else DEFINITION) for n, name in enumerate(ours)
    ]
    theirs = [found(f"Ops {n}", id=100 + n, active=DEFINITION) for n in range(20)]
    planned = planning.build(ws, live + theirs, planning.Options())
    assert [v.rule for v in planned.refused] == ["threshold"]
    assert "4 of the workspace's 10 CAs" in planned.refused[0].message
    assert planned.plan.unmanaged == []
    unscoped = Workspace(
        loaded, resolve(directory, loaded.settings.model_copy(update={"scope": None}), Flags(), {})
    )
    everything = planning.build(unscoped, live + theirs, planning.Options())
    assert everything.refused == []  # 4 of 30: under the threshold
    assert len(everything.plan.unmanaged) == 20


def test_an_error_in_one_of_several_environments_names_it(tmp_path: Path) -> None:
    settings = json.loads(json.dumps(THREE))
    settings["environments"]["prod"]["target"] = "mparticle"
    directory = write_manifests(tmp_path / "m", [ca("A")], settings=settings)
    result = run_cli("plan", directory, "--env", "all")
    assert result.exit_code == 1
    assert (
        "Error: environment prod: target mparticle needs Platform API credentials: set "
        "MPARTICLE_PROD_CLIENT_ID and MPARTICLE_PROD_CLIENT_SECRET (or MPARTICLE_CLIENT_ID and "
        "MPARTICLE_CLIENT_SECRET)"
    ) in result.stderr


def test_a_rename_from_outside_the_scope_is_refused_before_planning(tmp_path: Path) -> None:
    """`validate` said valid and `plan` showed `+ create "Growth New"`, leaving "Old" (out
    of the scope, so invisible) behind without a word."""
    directory = write_manifests(tmp_path / "m", [ca("Old", active=False)])
    assert run_cli("apply", directory, "--auto-approve").exit_code == 0
    write_manifests(
        tmp_path / "m",
        [ca("Growth New", renamed_from="Old", active=False)],
        settings={"scope": ["Growth *"]},
    )
    message = (
        'cas.yaml:3:3: renamed_from: CA "Growth New" is renamed from "Old", which is outside '
        "the scope (Growth *)"
    )
    for command in ("validate", "plan"):
        result = run_cli(command, directory)
        assert result.exit_code == 1, result.output
        assert message in result.stderr.replace(f"{directory}/", "")
    write_manifests(
        tmp_path / "m",
        [ca("Growth New", renamed_from="Old", active=False)],
        settings={"scope": ["Growth *", "Old"]},
    )
    renamed = run_cli("plan", directory)
    assert renamed.exit_code == 0, renamed.output
    assert '~ update "Growth New"' in renamed.stdout
    assert "create" not in renamed.stdout.split("Plan:")[0]
