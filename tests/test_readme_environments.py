"""The README's worked dev → staging → prod example runs as written, in order, on a copy of
`examples/environments/` (every environment embedded), and says what the README says."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.readme import transcript

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/environments/"


def section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(title)
    return text[start : text.index("\n## ", start)]


def test_the_worked_example_runs_as_written(tmp_path: Path) -> None:
    worked = section("### A worked example: dev → staging → prod")
    (commands,) = re.findall(r"```sh\n(.*?)```", worked, re.DOTALL)
    lines = [shlex.split(line) for line in commands.splitlines() if line.strip()]
    assert len(lines) == 7
    copy = tmp_path / "environments"
    shutil.copytree(ROOT / EXAMPLE, copy)
    outputs = []
    for words in lines:
        assert words[0] == "reconciler"
        args = [str(copy) if word == EXAMPLE else word for word in words[1:]]
        result = run_cli(*args)
        assert result.exit_code == 0, (words, result.output)
        outputs.append(result.stdout)
    validated, planned, _, _, prod, _, final = outputs
    assert "(CAs per environment: dev 4, staging 3, prod 3)" in validated
    assert "Safety rules overridden (--allow promotion)" in planned
    assert "not yet created in staging ✗" in planned
    command, shown = transcript("### A worked example: dev → staging → prod")
    assert command == f"reconciler plan {EXAMPLE} --env prod"
    assert [line for line in shown if line not in prod.splitlines()] == []
    assert final.count("No changes.") == 3
    command, shown = transcript("### A worked example: dev → staging → prod", index=1)
    assert command == f"reconciler plan {EXAMPLE} --env all --detailed-exitcode"
    assert [line for line in shown if line not in final.splitlines()] == []
    # The change the README describes next is refused until staging runs it.
    growth = copy / "growth.yaml"
    growth.write_text(
        growth.read_text().replace("within: 30, within_unit", "within: 60, within_unit")
    )
    refused = run_cli("plan", copy, "--env", "prod")
    assert refused.exit_code == 1
    assert (
        '"Growth Sessions" is not yet active in staging (it runs another definition): apply '
        "--env staging first"
    ) in refused.stderr
    assert run_cli("apply", copy, "--env", "staging", "--auto-approve").exit_code == 0
    assert run_cli("plan", copy, "--env", "prod").exit_code == 0


FLAGS = {
    "plan": ["--env", "--allow", "--only", "--exclude"],
    "apply": ["--env", "--allow", "--only", "--exclude"],
    "export": ["--env"],
    "seed": ["--env"],
    "validate": ["--env"],
}
REFERENCE = {
    "plan": "### `reconciler plan [DIR]`",
    "apply": "### `reconciler apply [DIR | --plan FILE]`",
    "export": "### `reconciler export [DIR]`",
    "seed": "### `reconciler seed FILE [DIR]`",
    "validate": "### `reconciler validate [DIR]`",
}


def test_help_and_the_command_reference_name_the_new_flags() -> None:
    text = (ROOT / "README.md").read_text()
    for command, flags in FLAGS.items():
        shown = run_cli(command, "--help")
        assert shown.exit_code == 0
        start = text.index(REFERENCE[command])
        reference = text[start : text.index("\n### ", start + 1)]
        for flag in flags:
            assert re.search(rf"{flag}\b", shown.stdout), (command, flag)
            assert f"`{flag}" in reference, (command, flag)
