"""A plan's refusals that a manifest entry can fix (a rename after activation, `protect`,
`renamed_from` naming a CA when both names exist, an inactive CA the seed file seeds, a CA
the promotion source's own manifests hold back) point at the line that writes the field
to fix, as manifest errors do: in the environment's override when that writes it; in
text, JSON and Markdown runs, `apply`, `--env all` and `apply --plan DIR` alike. Against
the embedded workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from tests.support.cli import run_cli
from tests.support.workspace import PURCHASES, ca, write_manifests

QUOTE = '"'
SESSIONS_YAML = """\
    definition:
      calculation_type: count
      datapoint:
        event_type: session_start
      time_period:
        type: within
        within: 30
        within_unit: days
"""


def manifest(directory: Path, text: str) -> Path:
    (directory / "cas.yaml").write_text(text)
    return directory / "cas.yaml"


def refusal(*args: str | Path) -> str:
    """The `Cannot plan:` paragraph the command ends with (exit 1)."""
    result = run_cli(*args)
    assert result.exit_code == 1, result.output
    return result.stderr[result.stderr.index("Cannot plan:") :]


def test_a_rename_after_activation_points_at_renamed_from(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca("Calc count")])
    assert run_cli("apply", directory, "--auto-approve").exit_code == 0
    # A reviewed plan of a description change, saved before the rename is written.
    saved = tmp_path / "plan.json"
    write_manifests(directory, [ca("Calc count", description="Sessions")])
    assert run_cli("plan", directory, "--out", saved).exit_code == 0
    file = manifest(
        directory,
        "calculated_attributes:\n"
        "  - name: Count all\n"
        "    renamed_from: Calc count\n" + SESSIONS_YAML,
    )
    expected = (
        f'  - {file}:3:5: renamed_from: "Calc count" (id 1) cannot be renamed to "Count all": '
        "names are read-only once a CA has been activated."
    )
    for args in ([], ["--format", "json"], ["--format", "markdown"]):
        assert expected in refusal("plan", directory, *args).splitlines()[1]
    assert expected in refusal("apply", directory, "--auto-approve").splitlines()[1]
    mismatch = run_cli("apply", "--plan", saved, directory, "--auto-approve")
    assert mismatch.exit_code == 1
    assert f"planning them now fails ({expected[4:]}" in " ".join(mismatch.stderr.split())


def test_renamed_from_naming_a_ca_when_both_names_exist_points_at_it(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca("Old"), ca("New")])
    assert run_cli("apply", directory, "--auto-approve").exit_code == 0
    file = manifest(
        directory,
        "calculated_attributes:\n"
        "  - name: New\n"
        "    description: renamed\n"
        "    renamed_from: Old\n" + SESSIONS_YAML,
    )
    expected = f'  - {file}:4:5: renamed_from: "New" has renamed_from "Old", but both names exist'
    assert refusal("plan", directory).splitlines()[1].startswith(expected)


def test_protect_points_at_the_override_that_writes_it_in_every_environment(
    tmp_path: Path,
) -> None:
    settings: dict[str, Any] = {"environments": {"dev": {}, "prod": {}}}

    def written(definition: dict[str, object]) -> list[dict[str, object]]:
        return [
            ca("LTV", definition, overrides={"prod": {"protect": True}}),
            ca("Kept", definition, protect=True, environments=["prod"]),
        ]

    directory = write_manifests(tmp_path / "m", written(PURCHASES), settings)
    for environment in ("dev", "prod"):
        applied = run_cli("apply", directory, "--env", environment, "--auto-approve")
        assert applied.exit_code == 0, applied.output
    changed = {**PURCHASES, "calculation_type": "max"}
    file = write_manifests(directory, written(changed), settings) / "cas.yaml"
    lines = file.read_text().splitlines()
    override = next(n for n, line in enumerate(lines, 1) if '"protect": true' in line)
    own = next(n for n, line in enumerate(lines[override:], override + 1) if '"protect"' in line)
    protected = "is protected (protect: true) and this change would discard its seeds"
    prod = refusal("plan", directory, "--env", "prod")
    at_override, at_own = (f"{n}:{lines[n - 1].index(QUOTE) + 1}" for n in (override, own))
    assert f'  - {file}:{at_override}: overrides.prod.protect: "LTV" {protected}' in prod
    assert f'  - {file}:{at_own}: protect: "Kept" {protected}' in prod
    every = run_cli("plan", directory, "--env", "all")
    assert every.exit_code == 1
    assert every.stderr.count("Cannot plan:") == 1
    assert "environment prod: Cannot plan:" in every.stderr
    assert f"{file}:{at_override}: overrides.prod.protect:" in every.stderr
    assert f"{file}:{at_own}: protect:" in every.stderr


def test_a_seeded_ca_kept_inactive_by_an_override_points_at_its_active(tmp_path: Path) -> None:
    settings: dict[str, Any] = {"environments": {"dev": {}, "prod": {}}}
    directory = write_manifests(tmp_path / "m", [ca("LTV", PURCHASES)], settings)
    assert run_cli("apply", directory, "--env", "prod", "--auto-approve").exit_code == 0
    changed = {**PURCHASES, "calculation_type": "max"}
    drafted = ca("LTV", changed, overrides={"prod": {"active": False}})
    file = write_manifests(directory, [drafted], settings) / "cas.yaml"
    lines = file.read_text().splitlines()
    line = next(n for n, text in enumerate(lines, 1) if '"active": false' in text)
    seeds = tmp_path / "seeds.jsonl"
    seeded = [{"attribute_name": "LTV", "seed": {"value": 3}}]
    user = {"mpid": 1, "environment": "production", "calculated_attributes": {"workspace": seeded}}
    seeds.write_bytes(orjson.dumps(user) + b"\n")
    expected = (
        f"  - {file}:{line}:{lines[line - 1].index(QUOTE) + 1}: overrides.prod.active: the seed "
        'file seeds "LTV" as max with cutoff 2024-02-01, but the definition in use stays the '
        "active one"
    )
    for command in (["plan"], ["apply", "--auto-approve"]):
        shown = refusal(*command, directory, "--env", "prod", "--seeds", seeds)
        assert shown.splitlines()[1].startswith(expected), shown


#: prod promotes from staging: one CA staging's manifests leave out, one staging's override
#: keeps inactive, one the entry keeps inactive (prod's override activates it there).
HELD_BACK = """\
calculated_attributes:
  - name: Nowhere
    environments: [dev, prod]
{definition}
  - name: Inactive there
    overrides:
      staging:
        active: false
{definition}
  - name: Drafted
    active: false
    overrides:
      prod: {{active: true}}
{definition}"""
PROMOTED: dict[str, Any] = {
    "environments": {"dev": {}, "staging": {}, "prod": {"promote_from": "staging"}}
}


def test_a_ca_the_source_s_manifests_hold_back_points_at_the_field_that_does_it(
    tmp_path: Path,
) -> None:
    """The promotion gate's "held back" reasons named the CAs only: which `environments:`
    left staging out, or which of an override's and the entry's `active: false` staging
    resolves, the reader had to find. Each is placed as the loader places its errors, in
    the text and Markdown plans (under the CA and in the refusal), the JSON plan, `show`
    of a saved plan and `apply --plan`; a plan saved before the places were recorded still
    loads, shows and is refused as it was."""
    directory = write_manifests(tmp_path / "m", [], PROMOTED)
    file = manifest(directory, HELD_BACK.format(definition=SESSIONS_YAML.rstrip("\n")))
    places = {
        "Nowhere": f"{file}:3:5 (environments)",
        "Inactive there": f"{file}:15:9 (overrides.staging.active)",
        "Drafted": f"{file}:25:5 (active)",
    }
    reasons = {
        "Nowhere": "not declared in staging",
        "Inactive there": "inactive in staging by its manifest (active: false there)",
        "Drafted": "inactive in staging by its manifest (active: false there)",
    }
    shown = {name: f"{reasons[name]} at {places[name]}" for name in places}

    text = run_cli("plan", directory, "--env", "prod")
    assert text.exit_code == 1
    for name in places:
        assert f"      {shown[name]} ✗" in text.stdout.splitlines()
    named = ", ".join(f"{QUOTE}{name}{QUOTE} is {shown[name]}" for name in sorted(places))
    assert (
        f"[promotion] {named}: staging's own manifests do not run them, so no apply of staging "
        "passes the gate; declare them there, active, first."
    ) in " ".join(text.stderr.split())

    markdown = run_cli("plan", directory, "--env", "prod", "--format", "markdown")
    assert markdown.exit_code == 1
    assert f"! gate: {shown['Inactive there']} ✗" in markdown.stdout
    assert f"at `{file}:15:9` (overrides.staging.active)" in markdown.stdout  # the alert

    document = orjson.loads(run_cli("plan", directory, "--env", "prod", "--format", "json").stdout)
    held = {check["name"]: check.get("held_by") for check in document["promotion"]["checks"]}
    assert held["Inactive there"] == {
        "file": str(file),
        "line": 15,
        "column": 9,
        "field": "overrides.staging.active",
    }
    assert {
        name: f"{h['file']}:{h['line']}:{h['column']} ({h['field']})" for name, h in held.items()
    } == places

    saved = tmp_path / "prod.json"
    made = run_cli("plan", directory, "--env", "prod", "--allow", "promotion", "--out", saved)
    assert made.exit_code == 0, made.output
    assert f"      {shown['Nowhere']} ✗" in run_cli("show", saved).stdout.splitlines()
    refused = " ".join(run_cli("apply", "--plan", saved, "--auto-approve").stderr.split())
    assert (
        '"Nowhere" was not declared in staging when the plan was made, and staging does not '
        "run it: declare it there, active, apply --env staging, then make a new plan. Its "
        f"manifest held it back at {places['Nowhere']}. If that is intended"
    ) in refused

    # A plan saved before `held_by` was recorded: read, shown and refused without places.
    older = orjson.loads(saved.read_bytes())
    for check in older["promotion"]["checks"]:
        del check["held_by"]
    for violation in older["overridden"]:
        for place in places.values():
            violation["message"] = violation["message"].replace(f" at {place}", "")
    saved.write_bytes(orjson.dumps(older))
    old_show = run_cli("show", saved)
    assert old_show.exit_code == 0
    assert f"      {reasons['Nowhere']} ✗" in old_show.stdout.splitlines()
    assert str(file) not in old_show.stdout
    old_refusal = run_cli("apply", "--plan", saved, "--auto-approve")
    assert old_refusal.exit_code == 1
    assert "then make a new plan;" in " ".join(old_refusal.stderr.split())
    assert str(file) not in old_refusal.stderr

    # Staging declares and runs them: prod's plan passes the gate, and converges.
    manifest(
        directory,
        "calculated_attributes:\n"
        + "".join(f"  - name: {name}\n{SESSIONS_YAML}" for name in places),
    )
    for environment in ("staging", "prod"):
        applied = run_cli("apply", directory, "--env", environment, "--auto-approve")
        assert applied.exit_code == 0, applied.output
    again = run_cli("plan", directory, "--env", "prod", "--format", "json")
    assert orjson.loads(again.stdout)["actions"] == []
