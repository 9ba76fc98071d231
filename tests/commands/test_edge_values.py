"""Values at the edges of what a manifest or a live CA may hold (huge numbers, padded
names, dates past the second): refused where written, or applied, planned again and
exported with nothing left to change — on the embedded target, through the CLI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from reconciler.api.transports import platform
from reconciler.settings import SettingsFile, resolve
from tests.support.cli import run_cli, run_process
from tests.support.workspace import SESSIONS, api_definition

SINCE = {
    "calculation_type": "count",
    "datapoint": {"event_type": "session_start"},
    "time_period": {"type": "since", "date": "2024-01-01"},
}


def workspace(directory: Path, cas: list[dict[str, Any]], **settings: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "reconciler.yaml").write_text(
        json.dumps({"workspace_id": 1234, "target": "embedded", **settings})
    )
    (directory / "cas.yaml").write_text(json.dumps({"calculated_attributes": cas}, indent=1))
    return directory


def plans_nothing(directory: Path) -> None:
    planned = run_cli("plan", directory, "--format", "json")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    assert plan["actions"] == [], plan["actions"]
    assert plan["summary"]["unmanaged"] == 0


def exports_to_an_empty_plan(directory: Path, out: Path) -> str:
    exported = run_cli("export", directory, "--out", out)
    assert exported.exit_code == 0, exported.output
    assert "by hand" not in exported.stderr
    plans_nothing(out)
    return exported.stderr


def test_a_date_with_a_fraction_of_a_second_is_refused_and_its_second_converges(
    tmp_path: Path,
) -> None:
    """The API keeps definition dates to the second: `.250` was sent, cut, and then every
    plan showed `cutoff_date: "2024-01-02" -> "2024-01-02T00:00:00.250000"` + activate."""
    fraction = {
        **SINCE,
        "time_period": {"type": "since", "date": "2024-01-01T10:00:00.5"},
        "seeding": {"cutoff_date": "2024-01-02T00:00:00.250"},
    }
    directory = workspace(tmp_path / "m", [{"name": "A", "definition": fraction}])
    refused = run_cli("apply", directory, "--auto-approve")
    stderr = refused.stderr.replace(f"{directory}/", "")
    assert refused.exit_code == 1, refused.output
    assert (
        "definition.time_period.date: '2024-01-01T10:00:00.5' has a fraction of a second, "
        "but the API keeps dates to the second: write 2024-01-01T10:00:00"
    ) in stderr, stderr
    assert "definition.seeding.cutoff_date: '2024-01-02T00:00:00.250' has a fraction" in stderr
    assert "after applying" not in stderr

    whole = {
        **SINCE,
        "time_period": {"type": "since", "date": "2024-01-01T12:00:00+02:00"},
        "seeding": {"cutoff_date": "2024-01-02T00:00:00.000Z"},
    }
    workspace(directory, [{"name": "A", "definition": whole}])
    applied = run_cli("apply", directory, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    plans_nothing(directory)


def test_huge_numbers_validate_at_once_and_converge(tmp_path: Path) -> None:
    """`1e100000000` hung validate, plan and export; `1e5000` was refused with Python's
    "Exceeds the limit (4300 digits) for integer string conversion"."""
    definition = {
        **SINCE,
        "conditions": [
            {"type": "number", "operator": "equals", "attribute_name": "N", "value": "1e100000000"},
            {
                "type": "number",
                "operator": "in_list",
                "attribute_name": "M",
                "values": ["1e5000", "-1.5e-5000", 2],
            },
        ],
    }
    directory = workspace(tmp_path / "m", [{"name": "Huge", "definition": definition}])
    checked = run_process("validate", directory, timeout=60)
    assert checked.exit_code == 0, checked.output
    applied = run_process("apply", directory, "--auto-approve", timeout=60)
    assert applied.exit_code == 0, applied.output
    plans_nothing(directory)
    exports_to_an_empty_plan(directory, tmp_path / "exported")


async def _create_live(directory: Path, names: list[str]) -> None:
    """CAs made outside Git (the UI), active, under names a manifest may find odd."""
    settings = resolve(directory, SettingsFile(workspace_id=1234), environ={})
    async with platform(settings) as client:
        for name in names:
            body = {"name": name, "description": "", "draft_definition": api_definition(SESSIONS)}
            await client.activate(await client.create(body))


def test_live_cas_with_padded_names_are_managed_and_export_round_trips(tmp_path: Path) -> None:
    """The API keeps spaces, tabs and newlines around a name. The manifest rule refused
    them: such a CA could not be declared (with prune it was always deleted), and its
    export was "exported as it is, fix it by hand" and then failed to plan."""
    names = [" Leading space", "Trailing tab\t", "Trailing newline\n", "\tBoth "]
    directory = workspace(tmp_path / "m", [], prune=True)
    asyncio.run(_create_live(directory, names))
    out = tmp_path / "exported"
    warnings = exports_to_an_empty_plan(directory, out)
    assert "leading or trailing whitespace" not in warnings  # export's own notes say nothing
    checked = run_cli("validate", out)
    assert checked.exit_code == 0, checked.output
    assert checked.stderr.count("has leading or trailing whitespace") == len(names)

    declared = [{"name": name, "definition": SESSIONS} for name in names]
    workspace(directory, declared, prune=True)
    plans_nothing(directory)
    applied = run_cli("apply", directory, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "delete" not in applied.stdout
    plans_nothing(directory)
