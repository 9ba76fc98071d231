"""A plan's refusals that a manifest entry can fix (a rename after activation, `protect`,
`renamed_from` naming a CA when both names exist, an inactive CA the seed file seeds)
point at the line that writes the field to fix, as manifest errors do: in the
environment's override when that writes it; in text, JSON and Markdown runs, `apply`,
`--env all` and `apply --plan DIR` alike. Against the embedded workspace."""

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
