"""The GitOps examples hold together: the GitHub Actions workflows and the pre-commit hook
parse, have the expected shape, use only commands and flags the CLI has, and their
`reconciler` command lines, run in workflow order against the emulator, make the flow they
promise (PR plan -> saved plan applied on merge -> drift check)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.support.cli import Result, run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import RawApi, env_for

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "github-actions"
WORKFLOWS = ("reconciler-plan.yml", "reconciler-apply.yml", "reconciler-drift.yml")
#: Shell words that end a command (pipes, lists, redirections).
ENDS = {"|", "||", "&&", ";", ">", ">>", "2>", "<"}


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def command_lines(script: str) -> list[list[str]]:
    """Each `reconciler ...` command of a shell script, as words, up to a pipe or redirect."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;<>")
        lexer.whitespace_split = True
        words = list(lexer)
        for start, word in enumerate(words):
            if word == "reconciler":
                command = []
                for item in words[start + 1 :]:
                    if item in ENDS or (item.rstrip(">").isdigit() and item.endswith(">")):
                        break
                    command.append(item)
                found.append(command)
    return found


def workflow_commands(name: str) -> list[list[str]]:
    return [
        command
        for step in steps(load(EXAMPLES / name))
        if "run" in step
        for command in command_lines(step["run"])
    ]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_workflow_shape(name: str) -> None:
    workflow = load(EXAMPLES / name)
    assert workflow["name"].startswith("reconciler ")
    assert workflow["permissions"]["contents"] == "read"
    for job in workflow["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest"
        assert job["timeout-minutes"] > 0
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), step
            if "uses" in step:
                assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), step["uses"]
    for key, value in workflow["env"].items():
        if "SECRET" in key:
            assert value == f"${{{{ secrets.{key} }}}}", f"{key} must come from secrets"
    assert workflow["env"]["RECONCILER_TARGET"] == "mparticle"
    assert workflow_commands(name), "no reconciler command in the workflow"


def test_triggers() -> None:
    plan, apply, drift = (load(EXAMPLES / name)["on"] for name in WORKFLOWS)
    assert "pull_request" in plan
    assert apply["push"]["branches"] == ["main"]
    assert drift["schedule"][0]["cron"]


def test_plan_comment_is_found_and_updated_by_its_marker() -> None:
    workflow = load(EXAMPLES / "reconciler-plan.yml")
    script = next(
        s["with"]["script"] for s in steps(workflow) if "github-script" in s.get("uses", "")
    )
    marker = re.search(r'"(<!-- [\w-]+ -->)"', script)
    assert marker
    assert "body.startsWith(marker)" in script
    assert "updateComment" in script
    assert "createComment" in script


def test_apply_downloads_what_the_plan_uploads() -> None:
    plan = load(EXAMPLES / "reconciler-plan.yml")
    upload = next(s for s in steps(plan) if s.get("uses", "").startswith("actions/upload-"))
    apply_script = "\n".join(
        s.get("run", "") for s in steps(load(EXAMPLES / "reconciler-apply.yml"))
    )
    assert f"--name {upload['with']['name']}" in apply_script
    assert "workflows/reconciler-plan.yml/runs" in apply_script
    assert "plan.json" in upload["with"]["path"]
    assert "--plan saved-plan/plan.json" in apply_script
    assert load(EXAMPLES / "reconciler-apply.yml")["concurrency"]["cancel-in-progress"] is False


def _help(*command: str) -> str:
    result = run_cli(*command, "--help")
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("name", WORKFLOWS)
def test_commands_and_flags_exist(name: str) -> None:
    global_help = _help()
    for command in workflow_commands(name):
        words = list(command)
        while words[0].startswith("--"):
            assert words[0] in global_help, f"reconciler {words[0]}"
            words.pop(0)
        help_text = _help(words[0])
        for word in words[1:]:
            if word.startswith("--"):
                assert re.search(rf"{re.escape(word)}\b", help_text), f"reconciler {command}"


def _run(command: list[str], manifests: Path, env: dict[str, str]) -> Result:
    args = [str(manifests) if word == "$MANIFESTS" else word for word in command]
    result = run_cli(*args, env=env)
    assert "Traceback" not in result.output
    return result


def test_the_flow_the_workflows_promise(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workflows' own command lines, in order: a PR validates, plans and saves the
    plan; the merge applies the saved plan, after which main and the workspace agree (and
    a re-plan has nothing to do); a CA deleted behind Git's back is drift (exit 2)."""
    manifests = tmp_path / "repo" / "manifests"
    shutil.copytree(ROOT / "manifests", manifests)
    monkeypatch.chdir(tmp_path / "repo")
    env = {**env_for(emulator.url), "RECONCILER_TARGET": "mparticle"}
    pull_request, merge, drift = (workflow_commands(name) for name in WORKFLOWS)

    validated, planned = (_run(command, manifests, env) for command in pull_request)
    assert (validated.exit_code, planned.exit_code) == (0, 0)
    assert planned.stdout.startswith("### reconciler plan for workspace 1234")
    Path("saved-plan").mkdir()
    shutil.copy("plan.json", "saved-plan/plan.json")  # what the artifact download does
    saved, replan, after = merge
    assert _run(saved, manifests, env).exit_code == 0
    assert _run(after, manifests, env).exit_code == 0
    assert _run(replan, manifests, env).exit_code == 0

    (check,) = drift
    assert _run(check, manifests, env).exit_code == 0
    ltv = raw.by_name()["LTV"]["id"]
    assert raw.http.delete(f"{raw.base}/{ltv}").status_code == 204
    drifted = _run(check, manifests, env)
    assert drifted.exit_code == 2
    assert "| 1 | 0 | 0 | 1 | 0 | 12 | 0 |" in drifted.stdout


def test_pre_commit_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = load(ROOT / ".pre-commit-hooks.yaml")
    assert [hook["id"] for hook in hooks] == ["reconciler-validate"]
    hook = hooks[0]
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    pattern = re.compile(hook["files"])
    assert pattern.search("manifests/commerce.yaml")
    assert pattern.search("manifests/reconciler.yml")
    assert not pattern.search("README.md")
    entry = shlex.split(hook["entry"])
    assert entry[:2] == ["reconciler", "validate"]
    assert "[directory]" in _help("validate")
    # As pre-commit runs it in this repository: from the root, on the example manifests.
    monkeypatch.chdir(ROOT)
    result = run_cli(*entry[1:], *hook["args"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout
