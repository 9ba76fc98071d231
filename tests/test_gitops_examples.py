"""The GitOps examples hold together: the GitHub Actions workflows and the pre-commit hook
parse, have the expected shape, use only commands and flags the CLI has, and their
`reconciler` command lines, run in workflow order against the emulator, make the flow they
promise (PR plan -> saved plan applied on merge -> drift check)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
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
    """The workflows' own command lines, in order: a PR plans (which validates) and saves
    the plan; the merge applies the saved plan, after which main and the workspace agree
    (and a re-plan has nothing to do); a CA deleted behind Git's back is drift (exit 2)."""
    manifests = tmp_path / "repo" / "manifests"
    shutil.copytree(ROOT / "manifests", manifests)
    monkeypatch.chdir(tmp_path / "repo")
    env = {**env_for(emulator.url), "RECONCILER_TARGET": "mparticle"}
    pull_request, merge, drift = (workflow_commands(name) for name in WORKFLOWS)

    planned, tested = (_run(command, manifests, env) for command in pull_request)
    assert planned.exit_code == 0
    assert planned.stdout.startswith("### reconciler plan for workspace 1234")
    assert tested.exit_code == 0
    assert tested.stdout.startswith("### ✅ reconciler test: 24 passed")
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


#: `if:` of a step, as GitHub reads the ones the examples use: terms joined by `&&`.
STEP_TERM = re.compile(r"steps\.([\w-]+)\.(outcome|outputs\.[\w-]+) *(==|!=) *'([^']*)'")


def _runs_step(condition: str | None, failed: bool, done: dict[str, dict[str, str]]) -> bool:
    """Whether a step runs: `condition` after the steps `done` ({id: outcome and outputs}),
    the job `failed` so far; without always() or failure(), success() is implied."""
    terms = [term.strip() for term in (condition or "success()").split("&&")]
    if not {"always()", "failure()", "success()"} & set(terms):
        terms.append("success()")
    for term in terms:
        if term in ("always()", "success()", "failure()"):
            holds = term == "always()" or (term == "failure()") == failed
        else:
            found = STEP_TERM.fullmatch(term)
            assert found, f"a step condition this test cannot read: {term}"
            step_id, key, operator, value = found.groups()
            actual = done.get(step_id, {}).get(key.removeprefix("outputs."), "")
            holds = (actual == value) == (operator == "==")
        if not holds:
            return False
    return True


def _run_job(workflow: str, repo: Path, env: dict[str, str]) -> tuple[list[str], bool]:
    """Run a workflow's one job as GitHub would, step by step, in `repo`: each step's `if:`
    decides, a failed `run` step fails the job. `run` steps run for real (bash -e, the
    workflow's env), `reconciler` being this checkout and `pip install` a no-op; actions
    count as succeeded. Returns the names of the steps that ran and whether the job
    failed."""
    spec = load(EXAMPLES / workflow)
    (job,) = spec["jobs"].values()
    context = {
        "github.event.pull_request.number": "7",
        "github.event.pull_request.head.sha": HEAD_SHA,
    }
    bin_dir = repo.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "reconciler"
    wrapper.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from reconciler.cli import main\nmain()\n"
    )
    wrapper.chmod(0o755)
    pip = bin_dir / "python"
    pip.write_text('#!/bin/sh\n[ "$1 $2 $3" = "-m pip install" ] || exit 99\n')
    pip.chmod(0o755)
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("MPARTICLE_", "RECONCILER_"))}
    ran: list[str] = []
    done: dict[str, dict[str, str]] = {}
    failed = False
    for step in job["steps"]:
        name = step.get("name") or step["uses"]
        if not _runs_step(step.get("if"), failed, done):
            done[step.get("id", name)] = {"outcome": "skipped"}
            continue
        ran.append(name)
        outcome, outputs = "success", {}
        if "run" in step:
            output_file = repo.parent / "github-output"
            output_file.write_text("")
            for step_id, values in done.items():
                context.update({f"steps.{step_id}.outputs.{k}": v for k, v in values.items()})
            script = re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", lambda m: context[m[1]], step["run"])
            completed = subprocess.run(
                ["bash", "-e", "-c", script],  # GitHub's default shell for `run` on Linux
                cwd=repo,
                env={
                    **keep,
                    **{k: str(v) for k, v in spec["env"].items() if "${{" not in str(v)},
                    **env,
                    "PATH": os.pathsep.join([str(bin_dir), keep.get("PATH", "/usr/bin:/bin")]),
                    "GITHUB_OUTPUT": str(output_file),
                    "GITHUB_STEP_SUMMARY": str(repo.parent / "step-summary.md"),
                },
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert "Traceback" not in completed.stderr, completed.stderr
            outcome = "success" if completed.returncode == 0 else "failure"
            lines = output_file.read_text().splitlines()
            outputs = dict(line.split("=", 1) for line in lines if "=" in line)
        failed = failed or outcome == "failure"
        done[step.get("id", name)] = {"outcome": outcome, **outputs}
    return ran, failed


def test_invalid_manifests_reach_the_pr_comment_not_only_the_log(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    """A separate `validate` step failed the job before the plan: the comment step never
    ran, so the PR kept the previous commit's plan comment and the errors were only in the
    log. Now a push of invalid manifests posts them (located) and still fails the job."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    env = {**env_for(emulator.url), "RECONCILER_TARGET": "mparticle", "RECONCILER_CACHE_DIR": ""}
    comment, upload = "Post or update the plan comment", "Keep the saved plan for the merge"

    ran, failed = _run_job("reconciler-plan.yml", repo, env)
    assert (comment in ran, upload in ran, failed) == (True, True, False)
    assert (repo / "plan.md").read_text().startswith("### reconciler plan for workspace 1234")

    commerce = repo / "manifests" / "commerce.yaml"
    commerce.write_text(commerce.read_text().replace("name:", "nme:", 1))
    ran, failed = _run_job("reconciler-plan.yml", repo, env)
    assert (comment in ran, upload in ran, failed) == (True, False, True)
    # What the comment step posts when the plan failed: plan.err, in a code block.
    assert "commerce.yaml:4:5: nme: unknown field `nme`" in (repo / "plan.err").read_text()


#: Runs a github-script step's script as the action does (an async body given `require`,
#: `github`, `context`), with a stand-in GitHub that has no comment yet: writes the
#: comment it creates to comment.md.
GITHUB_SCRIPT = """\
const fs = require("fs");
const created = [];
const github = {
  paginate: async () => [],
  rest: { issues: { listComments: null, createComment: async (c) => created.push(c) } },
};
const context = {
  payload: { pull_request: { head: { sha: "feedface00" } } },
  repo: { owner: "acme", repo: "cas" },
  issue: { number: 7 },
};
(async () => {
%s
})().then(() => fs.writeFileSync("comment.md", created[0].body));
"""


def _comment(workflow: str, repo: Path, env: dict[str, str]) -> str:
    """The comment the workflow's github-script step posts, run with node in `repo`."""
    step = next(s for s in steps(load(EXAMPLES / workflow)) if "github-script" in s.get("uses", ""))
    script = repo / "comment.js"
    script.write_text(GITHUB_SCRIPT % step["with"]["script"])
    completed = subprocess.run(
        ["node", str(script)],
        cwd=repo,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return (repo / "comment.md").read_text()


@pytest.mark.skipif(not shutil.which("node"), reason="runs the comment's github-script with node")
def test_a_failing_test_reaches_the_comment_below_the_plan_and_fails_the_job(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    """The plan workflow did not run `reconciler test`: a change that broke a test showed in
    the plan's values, but no report said so and the job passed. Now the report is in the
    same comment, below the plan, the plan is still kept for the merge, and the job fails."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "manifests", repo / "manifests")
    tests = repo / "manifests" / "commerce.test.yaml"
    tests.write_text(tests.read_text().replace("    LTV: 30\n", "    LTV: 31\n", 1))
    env = {**env_for(emulator.url), "RECONCILER_TARGET": "mparticle", "RECONCILER_CACHE_DIR": ""}
    comment, upload = "Post or update the plan comment", "Keep the saved plan for the merge"

    ran, failed = _run_job("reconciler-plan.yml", repo, env)
    assert {comment, upload, "Fail when a test failed"} <= set(ran)
    assert failed
    assert "Fail when the plan failed" not in ran
    report = (repo / "test.md").read_text()
    assert report.startswith("### ❌ reconciler test: 1 failed")
    assert (tmp_path / "step-summary.md").read_text() == report
    assert (repo / "test-results.xml").is_file()
    body = _comment("reconciler-plan.yml", repo, {"PLAN_STATUS": "0", "TEST_STATUS": "1"})
    plan, tested = body.index("### reconciler plan for"), body.index("### ❌ reconciler test")
    assert body.startswith("<!-- reconciler-plan -->\n")
    assert plan < tested
    assert "| `bob` | `LTV` | `31` | `30` |" in body
    # A report too long to share the comment: its heading, and where the rest is.
    (repo / "test.md").write_text(report + "x" * 64_000)
    body = _comment("reconciler-plan.yml", repo, {"PLAN_STATUS": "0", "TEST_STATUS": "1"})
    assert len(body) < 65_536
    assert "### ❌ reconciler test: 1 failed\n\n_The test report is too long" in body


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
    assert "Usage: reconciler validate [OPTIONS] [DIR]\n" in _help("validate")
    # As pre-commit runs it in this repository: from the root, on the example manifests.
    monkeypatch.chdir(ROOT)
    result = run_cli(*entry[1:], *hook["args"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout


#: A stand-in for the GitHub CLI: `gh api PATH [--paginate] --jq EXPR` answers from
#: $GH_ANSWERS (by PATH without its query) through jq, as gh does; `gh run download RUN
#: --name NAME --dir DIR` writes the artifact's plan-source.txt and logs the run.
FAKE_GH = """\
import json, os, subprocess, sys
args = [a for a in sys.argv[1:] if a != "--paginate"]
with open(os.environ["GH_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
if args[0] == "api":
    answers = json.loads(open(os.environ["GH_ANSWERS"]).read())
    answer = json.dumps(answers[args[1].split("?")[0]])
    jq = args[args.index("--jq") + 1]
    sys.exit(subprocess.run(["jq", "-r", jq], input=answer, text=True).returncode)
if args[:2] == ["run", "download"]:
    folder = args[args.index("--dir") + 1]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "plan-source.txt"), "w") as source:
        source.write("head_sha=" + os.environ["HEAD_SHA"] + "\\n")
"""
HEAD_SHA = "feedface"
#: The apply workflows, the step that downloads the reviewed plans, and the plan workflow.
DOWNLOADS = {
    "reconciler-apply.yml": "reconciler-plan.yml",
    "reconciler-environments-apply.yml": "reconciler-environments-plan.yml",
}


def _download(tmp_path: Path, workflow: str, answers: dict[str, Any]) -> tuple[int, str, str]:
    """Run the workflow's download step against `answers`: (exit code, stderr, gh's log)."""
    step = next(s for s in steps(load(EXAMPLES / workflow)) if "Download" in s.get("name", ""))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(f"#!{sys.executable}\n{FAKE_GH}")
    gh.chmod(0o755)
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    log = tmp_path / "gh.log"
    log.write_text("")
    repository = "acme/cas"
    completed = subprocess.run(
        ["bash", "-c", step["run"]],
        cwd=tmp_path,
        env={
            "PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"]),
            "GITHUB_REPOSITORY": repository,
            "GITHUB_SHA": "0123456789abcdef",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GH_ANSWERS": str(tmp_path / "answers.json"),
            "GH_LOG": str(log),
            "HEAD_SHA": HEAD_SHA,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr, log.read_text()


def _answers(
    workflow: str,
    head_repo: str = "acme/cas",
    files: tuple[str, ...] = ("manifests/commerce.yaml",),
    runs: tuple[tuple[int, str, int | None], ...] = ((41, "acme/cas", 7),),
) -> dict[str, Any]:
    """The API as GitHub answers it for PR 7 (head HEAD_SHA); `runs`: (id, repository, PR)."""
    base = "repos/acme/cas"
    return {
        f"{base}/commits/0123456789abcdef/pulls": [{"number": 7}],
        f"{base}/pulls/7": {"head": {"sha": HEAD_SHA, "repo": {"full_name": head_repo}}},
        f"{base}/pulls/7/files": [{"filename": name} for name in files],
        f"{base}/actions/workflows/{DOWNLOADS[workflow]}/runs": {
            "workflow_runs": [
                {
                    "id": run_id,
                    "head_repository": {"full_name": repository},
                    "pull_requests": [] if pr is None else [{"number": pr}],
                }
                for run_id, repository, pr in runs
            ]
        },
    }


@pytest.mark.parametrize("workflow", sorted(DOWNLOADS))
def test_apply_takes_plans_only_from_this_repositorys_own_runs(
    tmp_path: Path, workflow: str
) -> None:
    """A pull_request run executes the PR's own workflow files, so a fork's run (or a run
    of a PR that changes the workflows) can upload any plan: never downloaded."""
    assert shutil.which("jq"), "these tests run the workflows' --jq filters with jq"
    honest = _download(tmp_path, workflow, _answers(workflow))
    assert honest[0] == 0, honest[1]
    assert "run download 41 " in honest[2]
    forked_run_first = _answers(workflow, runs=((40, "evil/cas", None), (41, "acme/cas", 7)))
    chosen = _download(tmp_path, workflow, forked_run_first)
    assert chosen[0] == 0, chosen[1]
    assert "run download 41 " in chosen[2]
    assert "run download 40 " not in chosen[2]
    for answers, said in (
        (_answers(workflow, head_repo="evil/cas"), "comes from evil/cas, not acme/cas"),
        (
            _answers(workflow, files=("manifests/a.yaml", ".github/workflows/reconciler-plan.yml")),
            "changes .github/workflows or .github/actions",
        ),
        (_answers(workflow, runs=((40, "evil/cas", None),)), f"for the head ({HEAD_SHA}) of PR #7"),
    ):
        code, output, log = _download(tmp_path, workflow, answers)
        assert code == 1, output
        assert said in output
        assert "run download" not in log


#: A stand-in for `reconciler`: prints an apply's report as it does (one step a line, an
#: indented "Per CA" list) and exits with $FAKE_EXIT.
FAKE_RECONCILER = """\
import os, sys
print('✓ create "LTV" (id 7)')
print('✓ activate "LTV" (id 7)')
print("Apply complete: 2 done.")
print("Per CA:")
print('  "LTV" (id 7): drafted, activated')
sys.exit(int(os.environ["FAKE_EXIT"]))
"""


@pytest.mark.parametrize("step_name", ["Apply the reviewed plan", "Re-plan from main and apply"])
@pytest.mark.parametrize("exit_code", [0, 1])
def test_the_apply_report_reaches_the_job_summary_as_it_was_printed(
    tmp_path: Path, step_name: str, exit_code: int
) -> None:
    """The job summary is Markdown: the apply's lines, appended as they are, ran together
    into one paragraph (`✓ create "LTV" (id 7) ✓ activate "LTV" (id 7) Apply complete…`),
    and a plan's `+ create` lines became a bulleted list. In a code block they stay lines,
    and the step still fails when the apply does."""
    step = next(
        s
        for s in steps(load(EXAMPLES / "reconciler-apply.yml"))
        if s.get("name", "").startswith(step_name)
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "reconciler"
    fake.write_text(f"#!{sys.executable}\n{FAKE_RECONCILER}")
    fake.chmod(0o755)
    summary = tmp_path / "summary.md"
    summary.write_text("Applying the plan of PR #7.\n")
    completed = subprocess.run(
        ["bash", "-e", "-c", step["run"]],  # GitHub's default shell for `run` on Linux
        cwd=tmp_path,
        env={
            "PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"]),
            "GITHUB_STEP_SUMMARY": str(summary),
            "MANIFESTS": "manifests",
            "FAKE_EXIT": str(exit_code),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == exit_code, completed.stderr
    assert 'Apply complete: 2 done.\nPer CA:\n  "LTV" (id 7)' in completed.stdout  # the log
    assert summary.read_text() == (
        "Applying the plan of PR #7.\n"
        "```text\n"
        '✓ create "LTV" (id 7)\n'
        '✓ activate "LTV" (id 7)\n'
        "Apply complete: 2 done.\n"
        "Per CA:\n"
        '  "LTV" (id 7): drafted, activated\n'
        "```\n"
    )
