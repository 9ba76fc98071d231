"""`reconciler plan` and `apply` over loopback HTTP where the list answer holds definition
fields the models do not know (newer than the docs, set in the UI): the emulator ignores
the fields it is sent, so a crafted server answers here, or a proxy that adds them to the
emulator's answers (tests.support.ui_fields)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.commands.test_plan import writes
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.servers import Request, response, running
from tests.support.ui_fields import ui_fields
from tests.support.workspace import (
    SESSIONS,
    RawApi,
    api_definition,
    ca,
    env_for,
    write_manifests,
)


def listed() -> list[dict[str, Any]]:
    """One active CA whose data point holds a field the docs do not list."""
    active = api_definition(SESSIONS)
    active["datapoint"]["filter_mode"] = "all"
    return [
        {
            "id": 5,
            "name": "Sessions",
            "description": "",
            "created_by": "user@example.com",
            "active_definition": active,
            "draft_definition": None,
            "audience_count": 0,
            "activated_on": "2024-01-01T00:00:00Z",
        }
    ]


async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
    body: object
    if request.path == "/oauth/token":
        body = {"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}
    else:
        assert request.method == "GET", request.method  # a plan sends no write
        body = listed()
    writer.write(response(200, json.dumps(body).encode(), {"content-type": "application/json"}))


WARNING = (
    '"Sessions" (id 5) holds fields the reconciler does not know '
    "(active_definition.datapoint.filter_mode): applying replaces the definition and drops "
    "them, and no manifest can hold them; to keep them, leave this CA out of the plan "
    "(--exclude, or out of the manifests and the scope), or apply to accept their loss"
)


def test_a_plan_that_replaces_the_definition_names_the_fields_it_drops(tmp_path: Path) -> None:
    changed = {**SESSIONS, "calculation_type": "unique_values_count"}
    changed["datapoint"] = {**SESSIONS["datapoint"], "attribute_name": "Screen"}
    directory = write_manifests(tmp_path, [ca("Sessions", changed)])
    with running(answer) as server:
        env = {**env_for(server.url), "COLUMNS": "1000", "NO_COLOR": "1"}
        text = run_cli("plan", directory, env=env)
        document = run_cli("plan", directory, "--format", "json", env=env)
        markdown = run_cli("plan", directory, "--format", "markdown", env=env)
    assert text.exit_code == 0, text.output
    assert f"⚠ {WARNING}" in text.stdout
    plan = json.loads(document.stdout)
    assert [(a["action"], a["warnings"]) for a in plan["actions"]] == [
        ("update", [WARNING]),
        ("activate", ["recalculates"]),
    ]
    assert f"! warning: {WARNING}" in markdown.stdout


def test_a_plan_that_leaves_the_definition_in_place_says_nothing(tmp_path: Path) -> None:
    described = write_manifests(tmp_path / "a", [ca("Sessions", description="Visits")])
    unchanged = write_manifests(tmp_path / "b", [ca("Sessions")])
    with running(answer) as server:
        env = env_for(server.url)
        update = json.loads(run_cli("plan", described, "--format", "json", env=env).stdout)
        nothing = run_cli("plan", unchanged, "--detailed-exitcode", env=env)
    assert [(a["action"], a["warnings"]) for a in update["actions"]] == [("update", [])]
    assert nothing.exit_code == 0, nothing.output
    assert "No changes." in nothing.stdout


def stale_for(ca_id: int) -> str:
    return (
        f'plan is stale: "Sessions" (id {ca_id}) changed since the plan was made. Nothing was '
        "sent. Make a new plan."
    )


def drops(ca_id: int, paths: str) -> str:
    return (
        f'"Sessions" (id {ca_id}) holds fields the reconciler does not know ({paths}): '
        "applying replaces the definition and drops them"
    )


@pytest.mark.parametrize(
    ("planned_with", "set_since"),
    [({}, {"filter_mode": "all"}), ({"filter_mode": "all"}, {"filter_mode": "none"})],
    ids=["a field set since", "a field's value changed since"],
)
def test_a_saved_plan_is_stale_once_the_ui_sets_a_field_the_reconciler_does_not_know(
    tmp_path: Path,
    emulator: EmulatorServer,
    raw: RawApi,
    planned_with: dict[str, Any],
    set_since: dict[str, Any],
) -> None:
    """The update the saved plan sends would drop the field without the plan's warning:
    the plan is stale, as for any other change, and the plan made again warns."""
    ca_id = raw.create("Sessions", SESSIONS)
    raw.activate(ca_id)
    longer = {**SESSIONS, "time_period": {"type": "within", "within": 60, "within_unit": "days"}}
    directory = write_manifests(tmp_path / "m", [ca("Sessions", longer)])
    saved = tmp_path / "plan.json"
    warning = drops(ca_id, "active_definition.datapoint.filter_mode")
    with ui_fields(emulator.url) as ui:
        env = {**env_for(ui.url), "COLUMNS": "1000", "NO_COLOR": "1"}
        if planned_with:
            ui.set(ca_id, "active_definition", **planned_with)
        planned = run_cli("plan", directory, "--out", saved, env=env)
        assert planned.exit_code == 0, planned.output
        assert (warning in planned.stdout) == bool(planned_with)
        ui.set(ca_id, "active_definition", **set_since)
        before = writes(emulator.stats())
        refused = run_cli("apply", "--plan", saved, env=env)
        assert refused.exit_code == 1, refused.output
        assert stale_for(ca_id) in refused.stderr
        assert writes(emulator.stats()) == before
        # The way out the refusal gives: plan again (now with the warning), then apply.
        again = run_cli("plan", directory, "--out", saved, env=env)
        assert again.exit_code == 0, again.output
        assert warning in again.stdout
        applied = run_cli("apply", "--plan", saved, env=env)
        assert applied.exit_code == 0, applied.output
        assert ui.fields == {}  # the activation put the manifest's definition in use
        after = run_cli("plan", directory, "--detailed-exitcode", env=env)
    assert after.exit_code == 0, after.output
    assert "No changes." in after.stdout


def test_a_new_description_warns_when_the_draft_it_replaces_holds_such_fields(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """The update sends the full draft, which replaces the draft held, even one that equals
    the manifest's definition (a description written before left one equal to the active)."""
    ca_id = raw.create("Sessions", SESSIONS)
    raw.activate(ca_id)
    raw.update(ca_id, "Sessions", SESSIONS, description="Visits")
    directory = write_manifests(tmp_path / "m", [ca("Sessions", description="Sessions started")])
    with ui_fields(emulator.url) as ui:
        env = {**env_for(ui.url), "COLUMNS": "1000", "NO_COLOR": "1"}
        ui.set(ca_id, "draft_definition", filter_mode="all")
        planned = json.loads(run_cli("plan", directory, "--format", "json", env=env).stdout)
        [(action, [warning])] = [(a["action"], a["warnings"]) for a in planned["actions"]]
        assert action == "update"
        assert warning.startswith(drops(ca_id, "draft_definition.datapoint.filter_mode"))
        applied = run_cli("apply", directory, "--auto-approve", env=env)
        assert applied.exit_code == 0, applied.output
        assert ui.fields == {}
        after = run_cli("plan", directory, "--detailed-exitcode", env=env)
    assert after.exit_code == 0, after.output
    assert "No changes." in after.stdout


def test_a_draft_discard_warns_when_the_draft_holds_such_fields(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """The discard's line said the UI draft goes, and showed what of it a manifest could
    keep, but not that it held fields none can: the discard now says so, in every format."""
    ca_id = raw.create("Sessions", SESSIONS)
    raw.activate(ca_id)
    weekly = {**SESSIONS, "time_period": {"type": "within", "within": 7, "within_unit": "days"}}
    raw.update(ca_id, "Sessions", weekly)
    directory = write_manifests(tmp_path / "m", [ca("Sessions")])
    warning = (
        f'"Sessions" (id {ca_id}) holds fields the reconciler does not know '
        "(draft_definition.datapoint.filter_mode): applying discards the draft and drops them, "
        "and no manifest can hold them; to keep them, leave this CA out of the plan (--exclude, "
        "or out of the manifests and the scope), keep drafts made outside Git (`drafts: "
        "preserve`), or apply to accept their loss"
    )
    with ui_fields(emulator.url) as ui:
        env = {**env_for(ui.url), "COLUMNS": "1000", "NO_COLOR": "1"}
        ui.set(ca_id, "draft_definition", filter_mode="all")
        text = run_cli("plan", directory, env=env)
        document = run_cli("plan", directory, "--format", "json", env=env)
        markdown = run_cli("plan", directory, "--format", "markdown", env=env)
        applied = run_cli("apply", directory, "--auto-approve", env=env)
        assert applied.exit_code == 0, applied.output
        assert ui.fields == {}
        after = run_cli("plan", directory, "--detailed-exitcode", env=env)
    assert text.exit_code == 0, text.output
    assert 'discard draft "Sessions"' in text.stdout
    assert f"⚠ {warning}" in text.stdout
    plan = json.loads(document.stdout)
    assert [(a["action"], a["warnings"]) for a in plan["actions"]] == [("discard_draft", [warning])]
    assert f"! warning: {warning}" in markdown.stdout
    assert after.exit_code == 0, after.output
    assert "No changes." in after.stdout
