"""Machine-readable output as a contract for scripts: every `--format json` prints one
JSON document on stdout and nothing else, of the shape the README documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from tests.commands.test_apply_seeds import EMBEDDED, seed_file
from tests.support.cli import Result, run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import PURCHASES, ca, env_for, write_manifests


def cli(*args: str | Path) -> Result:
    result = run_cli(*args)
    assert "Traceback" not in result.output
    return result


def test_applying_an_empty_saved_plan_prints_the_json_report(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca("A")])
    assert cli("apply", directory, "--auto-approve").exit_code == 0
    saved = tmp_path / "plan.json"
    assert cli("plan", directory, "--out", saved).exit_code == 0
    applied = cli("apply", "--plan", saved, "--format", "json")
    assert applied.exit_code == 0, applied.output
    # The same report as `apply DIR --format json` prints for an empty plan: a script
    # piping it into jq gets JSON, not "No changes in the saved plan.".
    empty = cli("apply", directory, "--auto-approve", "--format", "json")
    assert json.loads(applied.stdout) == json.loads(empty.stdout)
    assert json.loads(applied.stdout)["actions"] == []


#: The JSON report of `apply --format json`, as the README documents it field by field.
_NAME_AND_ID = {"name": {"type": "string"}, "id": {"type": ["integer", "null"]}}
_KINDS = ["create", "update", "discard_draft", "activate", "delete", "seed"]
REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["format_version", "status", "summary", "actions", "cas", "adopted", "interrupted"],
    "properties": {
        "format_version": {"const": 1},
        "status": {"enum": ["ok", "failed"]},
        "summary": {
            "type": "object",
            "additionalProperties": False,
            "required": ["done", "failed", "not_started"],
            "properties": {
                key: {"type": "integer", "minimum": 0} for key in ("done", "failed", "not_started")
            },
        },
        "actions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["action", "name", "id", "status", "message"],
                "properties": {
                    "action": {"enum": _KINDS},
                    **_NAME_AND_ID,
                    "status": {"enum": ["done", "failed", "not_started"]},
                    "message": {"type": "string"},
                    "users": {"type": ["integer", "null"], "minimum": 0},
                    "adopted": {"enum": [None, "lost_answer", "name_taken"]},
                },
                "allOf": [
                    {
                        "if": {"properties": {"action": {"const": "seed"}}},
                        "then": {"required": ["users"]},
                        "else": {"not": {"required": ["users"]}},
                    },
                    {
                        "if": {"properties": {"action": {"const": "create"}}},
                        "then": {"required": ["adopted"]},
                        "else": {"not": {"required": ["adopted"]}},
                    },
                ],
            },
        },
        "cas": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "name",
                    "id",
                    "reached",
                    "users_seeded",
                    "failed",
                    "message",
                    "not_started",
                ],
                "properties": {
                    **_NAME_AND_ID,
                    "reached": {
                        "type": "array",
                        "items": {
                            "enum": ["drafted", "draft discarded", "seeded", "activated", "deleted"]
                        },
                        "uniqueItems": True,
                    },
                    "users_seeded": {"type": ["integer", "null"], "minimum": 0},
                    "failed": {"enum": [*_KINDS, None]},
                    "message": {"type": "string"},
                    "not_started": {"type": "array", "items": {"enum": _KINDS}},
                },
            },
        },
        "adopted": {
            "type": "object",
            "additionalProperties": False,
            "required": ["lost_answer", "name_taken"],
            "properties": {
                key: {"type": "integer", "minimum": 0} for key in ("lost_answer", "name_taken")
            },
        },
        "interrupted": {"type": "boolean"},
    },
}


def report_of(result: Result) -> dict[str, Any]:
    """The report on stdout, checked against the schema: one JSON document, nothing else."""
    report: dict[str, Any] = json.loads(result.stdout)
    jsonschema.validate(report, REPORT_SCHEMA)
    return report


def test_the_report_of_a_complete_apply_is_the_documented_one(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca("A"), ca("B", active=False)])
    applied = cli("apply", directory, "--auto-approve", "--format", "json")
    assert applied.exit_code == 0, applied.output
    report = report_of(applied)
    assert report["status"] == "ok"
    assert report["summary"] == {"done": 3, "failed": 0, "not_started": 0}
    assert report["adopted"] == {"lost_answer": 0, "name_taken": 0}
    assert [(c["name"], c["reached"]) for c in report["cas"]] == [
        ("A", ["drafted", "activated"]),
        ("B", ["drafted"]),
    ]
    empty = cli("apply", directory, "--auto-approve", "--format", "json")
    assert report_of(empty)["actions"] == []


def test_a_failed_apply_prints_the_report_then_the_error_on_stderr(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    emulator.settings(max_active=1)
    directory = write_manifests(tmp_path, [ca("A"), ca("B")])
    result = run_cli(
        "apply",
        directory,
        "--auto-approve",
        "--concurrency",
        "1",
        "--format",
        "json",
        env=env_for(emulator.url),
    )
    assert result.exit_code == 1
    report = report_of(result)
    assert report["status"] == "failed"
    assert report["summary"] == {"done": 3, "failed": 1, "not_started": 0}
    failed = report["cas"][1]
    assert failed["name"] == "B"
    assert failed["reached"] == ["drafted"]
    assert failed["failed"] == "activate"
    assert "limit on active calculated attributes" in failed["message"]
    assert result.stderr.startswith("Error: apply stopped: 1 step failed")


def test_an_apply_refused_before_any_step_prints_nothing_on_stdout(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca("A")])
    saved = tmp_path / "plan.json"
    assert cli("plan", directory, "--out", saved).exit_code == 0
    assert cli("apply", directory, "--auto-approve").exit_code == 0
    stale = cli("apply", "--plan", saved, "--format", "json")
    assert stale.exit_code == 1
    assert stale.stdout == ""
    assert "plan is stale" in stale.stderr


def test_the_report_of_an_apply_with_seeds_counts_the_users_seeded(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path / "m", [ca("Seeded 1", PURCHASES)])
    seeds = seed_file(tmp_path / "seeds.jsonl", 3, ["Seeded 1"])
    applied = run_cli(
        "apply", directory, "--seeds", seeds, "--auto-approve", "--format", "json", env=EMBEDDED
    )
    assert applied.exit_code == 0, applied.output
    report = report_of(applied)
    assert [(a["action"], a.get("users")) for a in report["actions"]] == [
        ("create", None),
        ("seed", 3),
        ("activate", None),
    ]
    assert report["cas"][0]["reached"] == ["drafted", "seeded", "activated"]
    assert report["cas"][0]["users_seeded"] == 3
