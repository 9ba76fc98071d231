"""Value diffs in `plan` and `apply`: the example workspace over the embedded target, one
scenario over a loopback emulator server, environments' overrides, test-file errors, a
directory without test files, and saved plans. Each scenario ends converged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.imports import PACKAGE, imports, loaded_after, within
from tests.support.readme import README, quotes, transcript
from tests.support.workspace import PURCHASES, RawApi, ca, env_for, write_manifests

ROOT = Path(__file__).resolve().parents[2]
LTV_CHANGE = (
    'attribute_name: Checkout Step, value: "22"',
    'attribute_name: Checkout Step, value: "21"',
)
REFUND_CHANGE = ("within: 52, within_unit: weeks", "within: 60, within_unit: weeks")


def example(tmp_path: Path, *, tests: bool = True) -> Path:
    directory = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", directory, ignore=shutil.ignore_patterns(".reconciler"))
    for path in directory.glob("*.test.yaml") if not tests else ():
        path.unlink()
    return directory


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def actions_of(stdout: str) -> dict[tuple[str, str], dict[str, Any]]:
    document = json.loads(stdout)
    return {(a["action"], a["name"]): a for a in document["actions"]}


def converged(directory: Path, env: dict[str, str] | None = None, *args: str) -> None:
    applied = run_cli("apply", directory, "--auto-approve", *args, env=env)
    assert applied.exit_code == 0, applied.output
    again = run_cli("plan", directory, "--detailed-exitcode", *args, env=env)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout


def test_a_create_shows_no_value_before(tmp_path: Path) -> None:
    directory = example(tmp_path)
    result = run_cli("plan", directory, "--format", "json")
    assert result.exit_code == 0, result.output
    found = actions_of(result.stdout)
    assert found["create", "LTV"]["values"] == [
        {"user": "alice", "file": "commerce.test.yaml", "before": "-", "after": "129.99"},
        {"user": "bob", "file": "commerce.test.yaml", "before": "-", "after": "30"},
    ]
    assert "values" not in found["activate", "LTV"]
    text = run_cli("--no-color", "plan", directory)
    assert "      values (tests): alice - -> 129.99, bob - -> 30" in text.stdout.splitlines()


def test_a_changed_ca_shows_its_value_diff_in_text_markdown_and_json(tmp_path: Path) -> None:
    directory = example(tmp_path)
    first = run_cli("--no-color", "apply", directory, "--auto-approve")
    assert first.exit_code == 0, first.output
    assert "values (tests): alice - -> 129.99, bob - -> 30" in first.stdout  # shown before
    edit(directory / "commerce.yaml", *LTV_CHANGE)
    edit(directory / "commerce.yaml", *REFUND_CHANGE)

    text = run_cli("--no-color", "plan", directory).stdout.splitlines()
    at = text.index('  ~ update "LTV" (id 5)')
    assert text[at + 2] == "      values (tests): alice 129.99 -> 120, bob 30 -> -"
    assert (
        "      values (tests): no test user's value changes (2 test users): the tests may not "
        "cover this change"
    ) in text

    comment = run_cli("plan", directory, "--format", "markdown").stdout
    title = "update, activate ⚠️ recalculates · test values"
    assert f'<b><code>"LTV"</code></b>: {title}: 2 of 2 change' in comment
    assert f'"LTV": {title}: 2 of 2 change' in quotes(README)  # as GitHub shows it
    assert "| `alice` | `129.99` | `120` |" in comment
    assert "| `bob` | `30` | `-` |" in comment
    assert f'<b><code>"Smallest Refund"</code></b>: {title}: none' in comment
    assert "_No test user's value changes (2 test users)" in comment

    found = actions_of(run_cli("plan", directory, "--format", "json").stdout)
    assert [(v["user"], v["before"], v["after"]) for v in found["update", "LTV"]["values"]] == [
        ("alice", "129.99", "120"),
        ("bob", "30", "-"),
    ]
    refunds = found["update", "Smallest Refund"]["values"]
    assert [(v["before"], v["after"]) for v in refunds] == [("15", "15"), ("7.5", "7.5")]
    converged(directory)


def test_the_readme_shows_what_plan_prints_for_its_example(tmp_path: Path) -> None:
    """README "Value diffs in plans": the example's two changes, printed as plan prints
    them today (condition paths and operands as the manifest reads since issue 12)."""
    command, shown = transcript("### Value diffs in plans")
    assert command == "reconciler plan manifests/"
    directory = example(tmp_path)
    assert run_cli("apply", directory, "--auto-approve").exit_code == 0
    edit(directory / "commerce.yaml", *LTV_CHANGE)
    edit(directory / "commerce.yaml", *REFUND_CHANGE)
    printed = run_cli("--no-color", "plan", directory).stdout.splitlines()
    assert [line for line in shown if line not in printed] == []


def test_the_readme_plan_reference_shows_what_plan_prints(tmp_path: Path) -> None:
    """README `reconciler plan [DIR]`: a date changed, a CA not yet created and one that no
    manifest names (made here by a manifest that is then removed), printed as plan prints
    them today: dates as the manifest reads, the test users' values, the active count."""
    command, shown = transcript("### `reconciler plan [DIR]`")
    assert command == "reconciler plan manifests/"
    directory = example(tmp_path)
    legacy = directory / "legacy.yaml"
    legacy.write_text(json.dumps({"calculated_attributes": [ca("Legacy CA")]}))
    applied = run_cli("apply", directory, "--exclude", "Screens Visited", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    legacy.unlink()
    period = "time_period: {type: since, date: %s}\n      seeding: {cutoff_date: 2023-06-01}"
    edit(directory / "commerce.yaml", period % "2023-01-01", period % "2022-01-01")
    printed = run_cli("--no-color", "plan", directory).stdout.splitlines()
    assert [line for line in shown if line not in printed] == []


def test_without_test_files_the_plan_has_no_values(tmp_path: Path) -> None:
    directory = example(tmp_path, tests=False)
    result = run_cli("plan", directory, "--format", "json")
    assert result.exit_code == 0, result.output
    actions = json.loads(result.stdout)["actions"]
    assert len(actions) == 25
    assert [a for a in actions if "values" in a] == []
    assert "values (tests)" not in run_cli("plan", directory).stdout
    comment = run_cli("plan", directory, "--format", "markdown").stdout
    assert "test values" not in comment
    assert "Values of the test users" not in comment


def test_a_test_file_error_leaves_the_values_out_with_a_warning(tmp_path: Path) -> None:
    directory = example(tmp_path)
    path = directory / "engagement.test.yaml"
    edit(path, "Sessions Last 30 Days: 2", "Sessions Last 30: 2")
    result = run_cli("--no-color", "plan", directory, "--detailed-exitcode")
    assert result.exit_code == 2, result.output  # the plan itself is whole
    assert "Plan: 13 to create" in result.stdout
    assert "values (tests)" not in result.stdout
    assert "Warning: the plan shows no value diffs: 1 error in test files:" in result.stderr
    assert f'{path}:44:5: expect.alice["Sessions Last 30"]: no CA named' in result.stderr
    assert f"`reconciler test {directory}` lists every problem." in result.stderr
    converged(directory)


def test_saved_plans_keep_their_values_and_apply_does_not_recompute_them(tmp_path: Path) -> None:
    directory = example(tmp_path)
    saved = tmp_path / "plan.json"
    planned = run_cli("plan", directory, "--out", saved)
    assert planned.exit_code == 0, planned.output
    actions = actions_of(saved.read_text())
    assert actions["create", "LTV"]["values"][0]["after"] == "129.99"
    # Test files are not read again: a broken one now changes nothing and says nothing.
    (directory / "broken.test.yaml").write_text("as_of: [\n")
    applied = run_cli("apply", "--plan", saved)
    assert applied.exit_code == 0, applied.output
    assert "value diffs" not in applied.output
    (directory / "broken.test.yaml").unlink()
    again = run_cli("plan", directory, "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_a_change_that_breaks_a_test_is_marked_in_text_markdown_json_and_saved_plans(
    tmp_path: Path,
) -> None:
    """LTV's condition changed: alice's and bob's LTV tests fail on the "after" values.
    The reviewer of the PR sees it at the top of the comment and in the CA's table; the
    JSON plan says it per user; `show` of the saved plan says it again. Once the test file
    expects the new values, the marks are gone."""
    directory = example(tmp_path)
    assert run_cli("apply", directory, "--auto-approve").exit_code == 0
    edit(directory / "commerce.yaml", *LTV_CHANGE)
    tests = directory / "commerce.test.yaml"
    lines = tests.read_text().splitlines()
    expect = lines.index("expect:")
    alice, bob = (n + 1 for n, line in enumerate(lines) if n > expect and "    LTV: " in line)
    assert (lines[alice - 1].split()[1], lines[bob - 1].split()[1]) == ("129.99", "30")

    text = run_cli("--no-color", "plan", directory).stdout.splitlines()
    at = text.index('  ~ update "LTV" (id 5)')
    assert text[at + 3] == (
        f"      ✗ tests fail: alice: expected 129.99, got 120 (commerce.test.yaml:{alice}); "
        f"bob: expected 30, got - (commerce.test.yaml:{bob})"
    )
    assert text[-2] == (
        '✗ After this plan, 2 test users\' values fail their tests (of "LTV"): `reconciler '
        "test` fails."
    )

    comment = run_cli("plan", directory, "--format", "markdown").stdout
    assert '> **After this plan, 2 test users\' values fail their tests** (of `"LTV"`)' in comment
    assert "2 of 2 change · ❌ 2 fail their tests</summary>" in comment
    assert (
        f"| `alice` | `129.99` | `120` | ❌ expected `129.99` (`commerce.test.yaml:{alice}`) |"
    ) in comment

    saved = tmp_path / "plan.json"
    planned = run_cli("plan", directory, "--format", "json", "--out", saved)
    assert planned.exit_code == 0, planned.output
    document = json.loads(planned.stdout)
    assert document["format_version"] == 2
    found = actions_of(planned.stdout)["update", "LTV"]["values"]
    assert [(v["user"], v["after"], v["fails_test"]) for v in found] == [
        ("alice", "120", {"expected": "129.99", "line": alice}),
        ("bob", "-", {"expected": "30", "line": bob}),
    ]
    shown = run_cli("--no-color", "show", saved).stdout.splitlines()
    assert shown[at + 3] == text[at + 3]

    lines[alice - 1], lines[bob - 1] = "    LTV: 120", "    LTV: null"
    tests.write_text("\n".join(lines) + "\n")
    fixed = run_cli("--no-color", "plan", directory).stdout
    assert "✗" not in fixed
    assert b"fails_test" not in run_cli("plan", directory, "--format", "json").stdout.encode()
    assert run_cli("test", directory).exit_code == 0
    converged(directory)


def _purchase(day: str, amount: int) -> dict[str, Any]:
    return {
        "event_type": "commerce_event",
        "data": {
            "timestamp_unixtime_ms": f"2024-{day}T12:00:00Z",
            "product_action": {"action": "purchase"},
            "custom_attributes": {"Checkout Step": 22, "Total Amount": amount},
        },
    }


def write_tests(directory: Path) -> None:
    """alice: seed 100, purchases of 10 (April) and 20 (May); bob: nothing."""
    document = {
        "as_of": "2024-06-01T00:00:00Z",
        "users": {
            "alice": {
                "seeds": {"LTV": {"value": 100}},
                "events": [_purchase("04-10", 10), _purchase("05-20", 20)],
            },
            "bob": {},
        },
        "expect": {"alice": {"LTV": 130}, "bob": {"LTV": None}},
    }
    (directory / "ltv.test.yaml").write_text(json.dumps(document))


def test_over_a_loopback_server(tmp_path: Path, emulator: EmulatorServer, raw: RawApi) -> None:
    ca_id = raw.create("LTV", {**PURCHASES, "calculation_type": "max"})
    raw.activate(ca_id)
    directory = write_manifests(tmp_path, [ca("LTV", PURCHASES)])
    write_tests(directory)
    env = env_for(emulator.url)
    result = run_cli("plan", directory, "--format", "json", env=env)
    assert result.exit_code == 0, result.output
    found = actions_of(result.stdout)
    assert found["update", "LTV"]["values"] == [
        # The live max (100) failed alice's test (130); the sum passes it.
        {
            "user": "alice",
            "file": "ltv.test.yaml",
            "before": "100",
            "after": "130",
            "fixes_test": {"expected": "130", "line": 1},
        },
        {"user": "bob", "file": "ltv.test.yaml", "before": "-", "after": "-"},
    ]
    text = run_cli("--no-color", "plan", directory, env=env).stdout.splitlines()
    at = text.index("      values (tests): alice 100 -> 130; 1 unchanged")
    assert text[at + 1] == "      ✓ fixes test: alice (ltv.test.yaml:1)"
    converged(directory, env)


def test_env_computes_the_values_of_that_environments_overrides(tmp_path: Path) -> None:
    # prod counts purchases from May 15 only: alice's April purchase drops out there.
    overridden = {"prod": {"definition": {"time_period": {"type": "since", "date": "2024-05-15"}}}}
    directory = write_manifests(
        tmp_path,
        [ca("LTV", PURCHASES, overrides=overridden)],
        {"environments": {"dev": {"workspace_id": 111}, "prod": {"workspace_id": 333}}},
    )
    write_tests(directory)
    every = run_cli("plan", directory, "--env", "all", "--format", "json")
    assert every.exit_code == 0, every.output
    plans = json.loads(every.stdout)["environments"]
    after = {
        name: [(v["user"], v["after"]) for v in plan["actions"][0]["values"]]
        for name, plan in plans.items()
    }
    assert after == {
        "dev": [("alice", "130"), ("bob", "-")],
        "prod": [("alice", "120"), ("bob", "-")],
    }
    prod = run_cli("--no-color", "plan", directory, "--env", "prod")
    assert "      values (tests): alice - -> 120; 1 unchanged" in prod.stdout.splitlines()
    converged(directory, None, "--env", "prod")


def test_value_diffs_keep_planning_off_the_network() -> None:
    assert within(set(imports(PACKAGE / "plan" / "values.py")), "httpx", "reconciler.api") == []
    loaded = loaded_after("import reconciler.plan.values")
    assert "reconciler.evaluator" in loaded
    assert within(loaded, "httpx", "reconciler.api", "reconciler.testfiles") == []


def test_without_test_files_plan_loads_no_test_file_reading(tmp_path: Path) -> None:
    """No test files, no work: `plan` does not even import what reads them or the value
    diffs. (The embedded emulator imports the evaluator for its profile read.)"""
    bare = example(tmp_path, tests=False)
    code = (
        "from reconciler.cli import app\n"
        f"try:\n    app(['plan', {str(bare)!r}])\n"
        "except SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
    )
    assert within(loaded_after(code), "reconciler.testfiles", "reconciler.plan.values") == []
    with_tests = example(tmp_path / "with", tests=True)
    loaded = loaded_after(code.replace(str(bare), str(with_tests)))
    assert "reconciler.testfiles" in loaded
    assert "reconciler.plan.values" in loaded


def test_a_test_file_shared_by_environments_gives_each_its_value_diffs(tmp_path: Path) -> None:
    """A test file that also expects a dev-only CA was an error in prod: `plan --env prod`
    showed no value diffs at all. Prod's CAs get theirs; the dev-only one is skipped."""
    directory = write_manifests(
        tmp_path,
        [ca("LTV", PURCHASES), ca("Beta", PURCHASES, environments=["dev"])],
        {"environments": {"dev": {"workspace_id": 111}, "prod": {"workspace_id": 333}}},
    )
    write_tests(directory)
    shared = directory / "ltv.test.yaml"
    document = json.loads(shared.read_text())
    document["expect"]["alice"]["Beta"] = 30
    shared.write_text(json.dumps(document))
    prod = run_cli("--no-color", "plan", directory, "--env", "prod")
    assert prod.exit_code == 0, prod.output
    assert "no value diffs" not in prod.stderr
    assert "      values (tests): alice - -> 130; 1 unchanged" in prod.stdout.splitlines()
    dev = run_cli("--no-color", "plan", directory, "--env", "dev", "--format", "json")
    found = actions_of(dev.stdout)
    assert [v["after"] for v in found["create", "Beta"]["values"]] == ["30"]
    converged(directory, None, "--env", "prod")
