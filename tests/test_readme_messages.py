"""The README's transcripts and messages that no command's own tests hold, each reproduced
as the README tells it (a copy of `manifests/`, embedded target, run from the folder that
holds it) and compared line by line with what the command prints today."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from reconciler.manifest import retention
from reconciler.plan.report import ActionOutcome, ApplyReport, Status
from reconciler.plan.report_text import report_text
from reconciler.plan.value import Action
from tests.support.cli import run_cli
from tests.support.readme import output, section, transcript

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def manifests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example workspace as `manifests/` of the current folder."""
    directory = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", directory, ignore=shutil.ignore_patterns(".reconciler"))
    monkeypatch.chdir(tmp_path)
    return directory


def missing(shown: list[str], printed: str) -> list[str]:
    """The lines shown that the command did not print, whole."""
    lines = printed.splitlines()
    return [line for line in shown if line not in lines]


def test_the_validate_example_is_what_a_misspelt_event_type_prints(manifests: Path) -> None:
    command, shown = transcript("### `reconciler validate [DIR]`")
    assert command == "reconciler validate manifests/"
    commerce = manifests / "commerce.yaml"
    text = commerce.read_text()
    commerce.write_text(text.replace("event_type: commerce_event", "event_type: comerce_event", 1))
    result = run_cli("--no-color", *command.split()[1:])
    assert result.exit_code == 1
    assert missing(shown, result.stderr) == []


def test_the_untrusted_auth_url_example_is_what_plan_prints(manifests: Path) -> None:
    command, shown = transcript("### Where credentials may go")
    assert command == "reconciler plan manifests/"
    (manifests / "reconciler.yaml").write_text(
        "workspace_id: 1234\ntarget: mparticle\nauth_url: https://collector.example/token\n"
    )
    result = run_cli("--no-color", *command.split()[1:])
    assert result.exit_code == 1
    assert missing(shown, result.stderr) == []


def test_the_retention_example_is_what_validate_prints(
    manifests: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the README's day (2024-04-01), with 30 days of retention, `since 2024-01-01`."""
    (shown,) = output("## The budget: active CAs and retention")
    monkeypatch.setattr(retention, "today_utc", lambda: date(2024, 4, 1))
    for path in manifests.glob("*.yaml"):
        path.unlink()
    (manifests / "reconciler.yaml").write_text("workspace_id: 1234\nretention_days: 30\n")
    (manifests / "cas.yaml").write_text(
        "calculated_attributes:\n"
        "  - name: LTV\n"
        "    definition:\n"
        "      calculation_type: sum\n"
        "      datapoint: {event_type: commerce_event, attribute_name: Total Amount}\n"
        "      time_period: {type: since, date: 2024-01-01}\n"
    )
    result = run_cli("--no-color", "validate", "manifests/")
    assert result.exit_code == 1
    assert missing([f"  {shown}"], result.stderr) == []


def test_the_apply_seeds_example_is_what_apply_prints(manifests: Path, tmp_path: Path) -> None:
    """In the quick start's workspace, where LTV is active and unchanged."""
    command, shown = transcript("#### Seeding with `apply --seeds FILE`")
    assert command == "reconciler apply manifests/ --seeds manifests/seeds.jsonl --auto-approve"
    assert run_cli("apply", "manifests/", "--auto-approve").exit_code == 0
    result = run_cli("--no-color", *command.split()[1:])
    assert result.exit_code == 0, result.output
    printed = result.output.replace(str(tmp_path), "/home/me/repo")
    assert missing(shown, printed) == []


def test_the_stopped_apply_example_is_what_the_report_prints() -> None:
    """The README's report of an apply of 2,050 steps stopped by the account's limit, line
    by line: the done and failed steps counted, the first not started, how far each CA got
    and why its step failed."""
    shown = output("#### A stopped apply's report")
    limit = (
        "the account's limit on active calculated attributes is reached: delete or keep "
        "inactive CAs you do not need, or ask mParticle to raise the limit (with active_limit "
        "or RECONCILER_ACTIVE_LIMIT set, the plan refuses this before any write) (POST "
        "https://api.mparticle.com/platform/.../calculatedattributes/8/activation -> 422): "
        "You have reached the account limit on active calculated attributes."
    )
    outcomes = [
        ActionOutcome(Action(action="create", name="AOV"), status="done", id=8),
        ActionOutcome(Action(action="activate", name="AOV"), status="failed", id=8, message=limit),
        ActionOutcome(Action(action="create", name="LTV"), status="done", id=7),
        ActionOutcome(Action(action="activate", name="LTV"), status="done", id=7),
    ]
    for n in range(1, 1024):
        status: Status = "done" if n <= 214 else "not_started"
        ca_id = n + 8 if status == "done" else None
        outcomes += [
            ActionOutcome(Action(action=kind, name=f"Purchases {n:04d}"), status=status, id=ca_id)
            for kind in ("create", "activate")
        ]
    printed = [str(line) for line in report_text(ApplyReport(outcomes=outcomes))]
    assert [line for line in shown if line != "  ..."] == [
        line for line in printed if line in shown
    ]


def test_the_usage_error_example_is_what_an_unset_variable_gives() -> None:
    """The README's usage error: `plan --out "$PLAN_FILE"` with PLAN_FILE unset is `plan
    --out ''`, which was read as the current folder (`--out .: is a directory`)."""
    shown = output("## Exit codes")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert '`reconciler plan --out "$PLAN_FILE"`, with `PLAN_FILE` unset' in readme
    result = run_cli("--no-color", "plan", "--out", "")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == shown


def test_the_rename_row_of_troubleshooting_is_what_plan_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rename of an activated CA, refused at the line that writes `renamed_from` (line 12
    of `manifests/growth.yaml`, as the row shows it)."""
    table = section("## Troubleshooting")
    (row,) = [line for line in table.splitlines() if line.startswith("| `manifests/growth.yaml")]
    shown = row.split("`")[1]
    monkeypatch.chdir(tmp_path)
    directory = tmp_path / "manifests"
    directory.mkdir()
    (directory / "reconciler.yaml").write_text("workspace_id: 1234\n")
    growth = directory / "growth.yaml"
    entry = (
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: session_start}\n"
        "      time_period: {type: within, within: 30, within_unit: days}\n"
    )
    first = "  - name: Sessions\n" + entry
    growth.write_text(f"calculated_attributes:\n  - name: Calc count\n{entry}{first}")
    assert run_cli("apply", "manifests/", "--auto-approve").exit_code == 0
    growth.write_text(
        f"calculated_attributes:\n{first}\n# Renamed in the spring: the old name read as a\n"
        "# count of calculations.\n\n"
        f"  - name: Count all\n    renamed_from: Calc count\n{entry}"
    )
    result = run_cli("--no-color", "plan", "manifests/")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1].startswith(f"  - {shown}"), result.stderr
