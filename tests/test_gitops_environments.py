"""The composite action (`action.yml` at the repository root) and the GitHub Actions examples
for a repository with environments: their shape, and their flow, run for real. The
action's own shell script runs with the inputs each workflow step gives it (matrix values
filled in) against an emulator server: plan every environment, post one comment, then
apply the saved plans in promotion order, after which every environment plans empty.
Only `gh` (the GitHub API) is replaced, by a script that records what it was asked."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from reconciler import manifest
from reconciler.environments import promotion_order
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import env_for

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "github-actions"
REPOSITORY = ROOT / "examples" / "environments"
PLAN = EXAMPLES / "reconciler-environments-plan.yml"
APPLY = EXAMPLES / "reconciler-environments-apply.yml"
ACTION_USES = "your-org/reconciler@v1"
EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")

#: A stand-in for the GitHub CLI: records each call; lists the comments it was told of.
GH = """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$GH_LOG"
for arg in "$@"; do
  case "$arg" in
    body=@*) cp "${arg#body=@}" "$GH_LOG.body" ;;
  esac
done
if [ -n "${GH_FAIL:-}" ]; then
  case "$*" in *"$GH_FAIL"*) echo "HTTP 403: Forbidden" >&2; exit 1 ;; esac
fi
if [ "$1" = api ] && [ "$2" = user ]; then
  if [ -n "${GH_USER:-}" ]; then echo "$GH_USER"; exit 0; fi
  echo "HTTP 403: Resource not accessible by integration" >&2; exit 1
fi
if [ "$1" = api ] && [ "$2" = --paginate ]; then
  listed=$(cat "$GH_COMMENTS" 2>/dev/null || echo "[]")
  if [ "${4:-}" = --jq ]; then printf '%s' "$listed" | jq -r "$5"; else printf '%s\n' "$listed"; fi
fi
"""


def comments(*written: tuple[int, str, str, str]) -> str:
    """The comments of a pull request as `gh api --paginate` lists them: each page a JSON
    array, one after another; (id, author's login, author's type, body) each."""
    listed = [
        {"id": id_, "user": {"login": login, "type": kind}, "body": body}
        for id_, login, kind, body in written
    ]
    return "".join(json.dumps(listed[at : at + 2]) + "\n" for at in range(0, len(listed), 2))


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def action() -> dict[str, Any]:
    loaded: dict[str, Any] = load(ROOT / "action.yml")
    return loaded


def script_step() -> dict[str, Any]:
    (step,) = [s for s in action()["runs"]["steps"] if s.get("id") == "run"]
    found: dict[str, Any] = step
    return found


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow["jobs"][job]["steps"]
    return found


def test_the_action_is_a_composite_that_installs_then_runs() -> None:
    spec = action()
    assert spec["runs"]["using"] == "composite"
    inputs = {"command", "directory", "env", "plan-file", "test-markdown-file", "args", "spec"}
    assert inputs <= set(spec["inputs"])
    names = [step.get("name") or step.get("uses") for step in spec["runs"]["steps"]]
    assert names == ["actions/setup-python@v5", "Install the reconciler", "Run reconciler"]
    for step in spec["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
            # Inputs reach scripts only through env: never as text pasted into the script.
            assert "${{" not in step["run"], step["run"]
    assert set(spec["outputs"]) == {"exitcode", "markdown", "plan"}


def test_environment_workflows_cover_every_environment_in_promotion_order() -> None:
    settings = manifest.load_settings(REPOSITORY)
    order = promotion_order(settings)
    assert order == ["dev", "staging", "prod"]
    plan = load(PLAN)
    matrix = plan["jobs"]["plan"]["strategy"]["matrix"]["include"]
    assert [entry["env"] for entry in matrix] == order
    assert plan["jobs"]["comment"]["needs"] == "plan"
    apply = load(APPLY)
    applied = [s["with"]["env"] for s in steps(apply, "apply") if s.get("uses") == ACTION_USES]
    assert applied == order
    for workflow in (plan, apply):
        assert workflow["permissions"]["contents"] == "read"
        assert workflow["env"]["RECONCILER_TARGET"] == "mparticle"
        for key, value in workflow["env"].items():
            if "SECRET" in key:
                assert value == f"${{{{ secrets.{key} }}}}"
        for job in workflow["jobs"].values():
            assert job["timeout-minutes"] > 0
            for step in job["steps"]:
                if "uses" in step:
                    assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), step["uses"]


def test_the_environments_apply_takes_plans_only_from_a_successful_run() -> None:
    """A failing test fails the plan run, as a refused plan does; the environments' apply
    found the pull request's last run whatever it said, so a merge with failing tests was
    applied. It asks for a successful run, as reconciler-apply.yml does."""
    download = next(
        step for step in steps(load(APPLY), "apply") if step.get("name", "").startswith("Download")
    )
    query = re.search(r"runs\?(\S+)\"", download["run"])
    assert query is not None
    assert "status=success" in query.group(1).split("&")
    assert "No successful reconciler plan run" in download["run"]


def _fill(value: str, context: dict[str, str]) -> str:
    """Evaluate the `${{ name }}` expressions of a workflow or action value."""
    return EXPRESSION.sub(lambda m: context[m.group(1)], value)


class Runner:
    """Runs the action's script as GitHub would: its `env:` filled from the step's inputs."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.gh_log = workdir / "gh.log"
        bin_dir = workdir / "bin"
        bin_dir.mkdir()
        gh = bin_dir / "gh"
        gh.write_text(GH)
        gh.chmod(0o755)
        self.path = os.pathsep.join(
            [str(bin_dir), str(Path(sys.executable).parent), "/usr/bin", "/bin"]
        )

    def run(self, with_: dict[str, Any], context: dict[str, str]) -> tuple[int, dict[str, str]]:
        spec = action()
        inputs = {name: str(item.get("default", "")) for name, item in spec["inputs"].items()}
        inputs["github-token"] = "token"
        inputs.update({key: _fill(str(value), context) for key, value in with_.items()})
        step = script_step()
        names = {f"inputs.{name}": value for name, value in inputs.items()}
        step_env = {key: _fill(str(value), names) for key, value in step["env"].items()}
        outputs = self.workdir / "github-output"
        outputs.write_text("")
        completed = subprocess.run(
            ["bash", "-c", step["run"]],
            cwd=self.workdir,
            env={
                **self.env,
                **step_env,
                "PATH": self.path,
                "GITHUB_OUTPUT": str(outputs),
                "GITHUB_REPOSITORY": "acme/cas",
                "GITHUB_SHA": "0123456789abcdef",
                "GITHUB_EVENT_PATH": str(self.workdir / "event.json"),
                "RUNNER_TEMP": str(self.workdir),
                "GH_LOG": str(self.gh_log),
                "GH_COMMENTS": str(self.workdir / "comments.txt"),
            },
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert "Traceback" not in completed.stderr, completed.stderr
        found = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
        return completed.returncode, found


@pytest.fixture
def runner(tmp_path: Path, emulator: EmulatorServer) -> Runner:
    shutil.copytree(REPOSITORY, tmp_path / "manifests")
    (tmp_path / "event.json").write_text(json.dumps({"pull_request": {"number": 7}}))
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("MPARTICLE_", "RECONCILER_"))}
    server = env_for(emulator.url)
    env = {
        **keep,
        **server,
        "RECONCILER_TARGET": "mparticle",
        **{f"MPARTICLE_{n.upper()}_CLIENT_SECRET": "emulator" for n in ("dev", "staging", "prod")},
        "RECONCILER_CACHE_DIR": os.environ.get("RECONCILER_CACHE_DIR", ""),
    }
    return Runner(tmp_path, env)


def test_plan_comment_and_apply_in_promotion_order(runner: Runner, tmp_path: Path) -> None:
    plan_workflow = load(PLAN)
    (plan_step,) = [
        s for s in steps(plan_workflow, "plan") if s.get("with", {}).get("command") == "plan"
    ]
    for entry in plan_workflow["jobs"]["plan"]["strategy"]["matrix"]["include"]:
        context = {f"matrix.{key}": str(value) for key, value in entry.items()}
        code, outputs = runner.run(plan_step["with"], context)
        assert code == 0, entry
        assert outputs["exitcode"] == "0"
        env = entry["env"]
        # What the artifacts carry to the comment job and to the merge.
        (tmp_path / "comment").mkdir(exist_ok=True)
        shutil.move(tmp_path / outputs["markdown"], tmp_path / "comment" / f"{env}.md")
        (tmp_path / "saved" / env).mkdir(parents=True)
        shutil.move(tmp_path / outputs["plan"], tmp_path / "saved" / env / "plan.json")
    prod = (tmp_path / "comment" / "prod.md").read_text()
    assert "not yet created in staging ✗" in prod
    assert "`--allow promotion`" in prod  # the reviewer sees the allowance

    (comment_step,) = [s for s in steps(plan_workflow, "comment") if s.get("uses") == ACTION_USES]
    assert runner.run(comment_step["with"], {})[0] == 0
    calls = runner.gh_log.read_text().splitlines()
    assert calls[-1].startswith("api -X POST repos/acme/cas/issues/7/comments -F body=@")
    body = (tmp_path / "gh.log.body").read_text()
    assert body.startswith("<!-- reconciler-plan-environments -->\n")
    sections = [body.index(f"(environment {env})") for env in ("dev", "staging", "prod")]
    assert sections == sorted(sections)
    # The next push updates the same comment instead of adding one.
    ours = (4242, "github-actions[bot]", "Bot", "<!-- reconciler-plan-environments -->\nold")
    (tmp_path / "comments.txt").write_text(comments(ours))
    assert runner.run(comment_step["with"], {})[0] == 0
    last = runner.gh_log.read_text().splitlines()[-1]
    assert last.startswith("api -X PATCH repos/acme/cas/issues/comments/4242 -F body=@")

    apply_steps = [s for s in steps(load(APPLY), "apply") if s.get("uses") == ACTION_USES]
    for step in apply_steps:
        code, outputs = runner.run(step["with"], {})
        assert (code, outputs["exitcode"]) == (0, "0"), step["with"]
    converged = run_cli(
        "plan", tmp_path / "manifests", "--env", "all", "--detailed-exitcode", env=runner.env
    )
    assert converged.exit_code == 0, converged.output


#: Sessions in the last 7 days in dev, 30 elsewhere (growth.yaml): carol has 1 in dev, 2
#: in staging and prod, where she is expected to have 2.
SESSIONS_TEST = """\
as_of: 2024-06-01T00:00:00Z
users:
  carol:
    events:
      - {event_type: session_start, data: {timestamp_unixtime_ms: "2024-05-20T08:00:00Z"}}
      - {event_type: session_start, data: {timestamp_unixtime_ms: "2024-05-30T08:00:00Z"}}
expect:
  carol: {Growth Sessions: 2}
"""


def test_tests_reach_the_one_comment_beside_each_plan(runner: Runner, tmp_path: Path) -> None:
    """The action could plan, apply and comment, not run `reconciler test`: a pull request
    showed which CAs a change breaks (the plan's values) but not the test report. Now each
    environment's job writes its report, fails on a failing test only after writing it,
    and the comment holds every environment's plan and report, in order."""
    (tmp_path / "manifests" / "growth.test.yaml").write_text(SESSIONS_TEST)
    plan_workflow = load(PLAN)
    (test_step,) = [
        s for s in steps(plan_workflow, "plan") if s.get("with", {}).get("command") == "test"
    ]
    (plan_step,) = [
        s for s in steps(plan_workflow, "plan") if s.get("with", {}).get("command") == "plan"
    ]
    (tmp_path / "comment").mkdir()
    codes = {}
    for entry in plan_workflow["jobs"]["plan"]["strategy"]["matrix"]["include"]:
        context = {f"matrix.{key}": str(value) for key, value in entry.items()}
        for step in (plan_step, test_step):
            code, outputs = runner.run(step["with"], context)
            shutil.move(tmp_path / outputs["markdown"], tmp_path / "comment")
        codes[entry["env"]] = (code, outputs["exitcode"])
    assert codes == {"dev": (1, "1"), "staging": (0, "0"), "prod": (0, "0")}
    dev = (tmp_path / "comment" / "dev-test.md").read_text()
    assert dev.startswith("### ❌ reconciler test: 1 failed (environment dev)")
    assert "| `carol` | `Growth Sessions` | `2` | `1` |" in dev

    (comment_step,) = [s for s in steps(plan_workflow, "comment") if s.get("uses") == ACTION_USES]
    assert runner.run(comment_step["with"], {})[0] == 0
    body = (tmp_path / "gh.log.body").read_text()
    assert "is missing" not in body
    heads = [
        "### reconciler plan for workspace 111 (environment dev)",
        "### ❌ reconciler test: 1 failed (environment dev)",
        "### reconciler plan for workspace 222 (environment staging)",
        "### ✅ reconciler test: 1 passed (environment staging)",
        "### reconciler plan for workspace 333 (environment prod)",
        "### ✅ reconciler test: 1 passed (environment prod)",
    ]
    order = [body.index(line) for line in heads]
    assert order == sorted(order)


def test_tests_that_cannot_run_say_why_in_their_section(runner: Runner, tmp_path: Path) -> None:
    """An error that stops `reconciler test` before any test (here an unknown environment,
    or args that do not split) leaves no report: the section says what went wrong."""
    with_ = {"command": "test", "env": "qa", "test-markdown-file": "qa.md"}
    assert runner.run(with_, {}) == (1, {"exitcode": "1", "markdown": "qa.md"})
    text = (tmp_path / "qa.md").read_text()
    assert text.startswith("### reconciler test failed (environment qa)\n\n```\nError: ")
    assert "qa" in text.split("```")[1]
    code, outputs = runner.run({"command": "test", "args": "--only 'Growth *"}, {})
    assert (code, outputs) == (1, {"exitcode": "1"})
    text = (tmp_path / "reconciler-test.md").read_text()
    assert text.startswith("### reconciler test failed\n")
    assert "cannot be split as shell words" in text


def test_apply_stops_prod_when_staging_was_not_applied(runner: Runner, tmp_path: Path) -> None:
    plan_workflow = load(PLAN)
    (plan_step,) = [
        s for s in steps(plan_workflow, "plan") if s.get("with", {}).get("command") == "plan"
    ]
    context = {"matrix.env": "prod", "matrix.args": "--allow promotion"}
    code, outputs = runner.run(plan_step["with"], context)
    assert code == 0
    (tmp_path / "saved" / "prod").mkdir(parents=True)
    shutil.move(tmp_path / outputs["plan"], tmp_path / "saved" / "prod" / "plan.json")
    (prod_step,) = [
        s for s in steps(load(APPLY), "apply") if s.get("with", {}).get("env") == "prod"
    ]
    code, outputs = runner.run(prod_step["with"], {})
    assert (code, outputs["exitcode"]) == (1, "1")


def test_a_failed_plan_still_gives_the_comment_a_section(runner: Runner, tmp_path: Path) -> None:
    code, outputs = runner.run(
        {"command": "plan", "directory": "manifests", "env": "prod", "markdown-file": "prod.md"},
        {},
    )
    assert (code, outputs["exitcode"]) == (1, "1")
    text = (tmp_path / "prod.md").read_text()
    assert "### reconciler plan failed (environment prod)" in text
    assert "[promotion]" in text
    assert not (tmp_path / "reconciler-plan.json").exists()
    bad = runner.run({"command": "destroy"}, {})
    assert bad[0] == 1


def test_a_failed_plan_s_error_is_cut_between_characters(runner: Runner, tmp_path: Path) -> None:
    """The comment's section held the error's first 60,000 bytes (`head -c`), which cut a
    character of a CA name in two; it holds the first 60,000 characters, in a code block
    no line of the error can close."""
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "reconciler.yaml").write_text("workspace_id: 1234\n")
    cas = "".join(
        f"  - name: 計算属性 {i:04}\n    definition:\n      calculation_type: 総和{i}\n"
        "      datapoint: {type: event, event_type: custom_event, event_name: 購入}\n"
        for i in range(300)
    )
    (bad / "cas.yaml").write_text(f"calculated_attributes:\n{cas}", encoding="utf-8")
    code, outputs = runner.run({"command": "plan", "directory": "bad", "markdown-file": "b.md"}, {})
    assert (code, outputs["exitcode"]) == (1, "1")
    text = (tmp_path / "b.md").read_bytes().decode("utf-8")  # whole characters
    head, _, block = text.partition("\n```")
    assert head == "### reconciler plan failed\n"
    shown = block.removeprefix("\n").removesuffix("\n```\n")
    assert len(shown) == 60_000
    assert shown.startswith("Error: ")
    assert "計算属性 0000" in shown


def test_env_all_saves_a_directory_of_plans_and_the_inputs_say_so(
    runner: Runner, tmp_path: Path
) -> None:
    """With `env: all` the default `plan-file: reconciler-plan.json` became a directory of
    that name (`reconciler-plan.json/dev.json`, ...), which no input or output described."""
    with_ = {"command": "plan", "env": "all", "plan-file": "plans", "args": "--allow promotion"}
    code, outputs = runner.run(with_, {})
    assert (code, outputs["exitcode"], outputs["plan"]) == (0, "0", "plans")
    saved = sorted(path.name for path in (tmp_path / "plans").iterdir())
    assert saved == ["dev.json", "prod.json", "staging.json"]
    spec = action()
    plan_file = " ".join(spec["inputs"]["plan-file"]["description"].split())
    assert "with `env: all`, a directory that gets one plan per environment" in plan_file
    assert "name it without `.json`" in plan_file
    assert "with `env: all`, of the directory of plans" in spec["outputs"]["plan"]["description"]


def test_args_that_do_not_split_stop_the_plan(runner: Runner, tmp_path: Path) -> None:
    """`args: --only 'Growth *` (a quote left open) printed a traceback and planned every
    CA without the selection, exit 0: the args were dropped."""
    code, outputs = runner.run(
        {"command": "plan", "env": "dev", "markdown-file": "dev.md", "args": "--only 'Growth *"},
        {},
    )
    assert (code, outputs) == (1, {"exitcode": "1"})
    assert not (tmp_path / "reconciler-plan.json").exists()
    text = (tmp_path / "dev.md").read_text()
    assert text.startswith("### reconciler plan failed (environment dev)")
    assert "cannot be split as shell words: No closing quotation" in text
    # Words split as a shell would, a quoted newline kept inside its word.
    code, outputs = runner.run(
        {"command": "plan", "env": "dev", "args": "--only 'Growth *' --exclude 'a\nb'"}, {}
    )
    assert (code, outputs["exitcode"]) == (0, "0")
    selection = json.loads((tmp_path / "reconciler-plan.json").read_text())["selection"]
    assert (selection["only"], selection["exclude"]) == (["Growth *"], ["a\nb"])


def test_a_comment_that_was_not_posted_fails_the_step(runner: Runner, tmp_path: Path) -> None:
    """A refused POST (no `pull-requests: write`, a body GitHub rejects) left the step green
    with `exitcode` 0, and the pull request showed the previous commit's plan."""
    (tmp_path / "reconciler-plan.md").write_text("### reconciler plan\n")
    runner.env["GH_FAIL"] = "-X POST"
    assert runner.run({"command": "comment"}, {}) == (1, {"exitcode": "1"})
    runner.env["GH_FAIL"] = "--paginate"
    assert runner.run({"command": "comment"}, {}) == (1, {"exitcode": "1"})
    assert "-X POST" not in runner.gh_log.read_text().splitlines()[-1]


def test_the_comment_updated_is_the_token_s_own_never_a_person_s_with_the_marker(
    runner: Runner, tmp_path: Path
) -> None:
    """Any person may comment on a pull request: one whose comment started with the marker
    had it overwritten with the plan (shown under their name, theirs to edit afterwards, or
    a failed step where the token may not edit it). And the marker was pasted into a jq
    program: one holding a quote broke the listing."""
    (tmp_path / "reconciler-plan.md").write_text("### reconciler plan\n")
    marker = '<!-- reconciler "prod" plan -->'
    with_ = {"command": "comment", "comment-marker": marker}
    planted = (11, "mallory", "User", f"{marker}\nNo changes.")
    other_bot = (12, "github-actions[bot]", "Bot", "<!-- another tool -->")
    ours = (13, "github-actions[bot]", "Bot", f"{marker}\nold plan")
    (tmp_path / "comments.txt").write_text(comments(planted, other_bot))
    assert runner.run(with_, {}) == (0, {"exitcode": "0"})
    posted = runner.gh_log.read_text().splitlines()[-1]
    assert posted.startswith("api -X POST repos/acme/cas/issues/7/comments -F body=@")
    (tmp_path / "comments.txt").write_text(comments(planted, other_bot, ours))
    assert runner.run(with_, {}) == (0, {"exitcode": "0"})
    patched = runner.gh_log.read_text().splitlines()[-1]
    assert patched.startswith("api -X PATCH repos/acme/cas/issues/comments/13 -F body=@")
    # A person's token (a PAT) names its account: only that account's comment is ours.
    runner.env["GH_USER"] = "mallory"
    assert runner.run(with_, {}) == (0, {"exitcode": "0"})
    patched = runner.gh_log.read_text().splitlines()[-1]
    assert patched.startswith("api -X PATCH repos/acme/cas/issues/comments/11 -F body=@")


def _big_plan(env: str, count: int = 2000) -> str:
    """A long Markdown plan whose names are not ASCII (3 bytes a character in UTF-8)."""
    from reconciler.plan import markdown
    from reconciler.plan.value import Action, Change, Plan, summarize

    actions = [
        Action(
            action="create",
            name=f"計算属性 {env} {n:04d} " + "名" * 30,
            changes=[Change(path="description", after="説明" * 20)],
        )
        for n in range(count)
    ]
    plan = Plan(
        workspace_id=1,
        environment=env,
        summary=summarize(actions, 0, 0),
        actions=actions,
    )
    return markdown.markdown(plan)


def test_one_comment_holds_every_section_within_githubs_limit(
    runner: Runner, tmp_path: Path
) -> None:
    """Three long plans were cut as one by bytes (`head -c 65000`): prod's section was
    lost, staging's ended inside a code block and a character, with no word of it."""
    (tmp_path / "comment").mkdir()
    for env in ("dev", "staging", "prod"):
        (tmp_path / "comment" / f"{env}.md").write_text(_big_plan(env), encoding="utf-8")
    (tmp_path / "comment" / "staging.md").write_text(
        "### reconciler plan failed (environment staging)\n\n```\n"
        + "Error: 名前 refused\n" * 5000
        + "```\n",
        encoding="utf-8",
    )
    (comment_step,) = [s for s in steps(load(PLAN), "comment") if s.get("uses") == ACTION_USES]
    assert runner.run(comment_step["with"], {}) == (0, {"exitcode": "0"})
    body = (tmp_path / "gh.log.body").read_bytes().decode("utf-8")  # whole characters
    assert len(body) <= 65_536
    assert body.startswith("<!-- reconciler-plan-environments -->\n")
    assert body.rstrip().endswith("Merging applies exactly these saved plans.</sub>")
    order = [
        body.index("(environment dev)"),
        body.index("reconciler plan failed (environment staging)"),
        body.index("(environment prod)"),
    ]
    assert order == sorted(order)
    assert body.count("The rest of this plan is not shown (comment size limit)") == 3
    assert body.count("<details>") == body.count("</details>") > 10
    fences = [line for line in body.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0
    assert "計算属性 prod 0000" in body
