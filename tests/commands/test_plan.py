"""`reconciler plan` over loopback HTTP against the emulator server: one scenario per rule.

Every scenario ends with the convergence check: apply, then plan is empty (exit 0 with
--detailed-exitcode), and a second apply sends no write request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import StartEmulator
from tests.support.cli import Result, run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import PURCHASES, SESSIONS, RawApi, ca, env_for, write_manifests

LIST = "GET /platform/v2/workspaces/{workspace_id}/calculatedattributes"
TOKEN = "POST /oauth/token"


def writes(stats: dict[str, Any]) -> int:
    return sum(
        n
        for route, n in stats["requests"].items()
        if not route.startswith(("GET", "HEAD")) and route != TOKEN
    )


def plan_json(directory: Path, emulator: EmulatorServer, *extra: str) -> dict[str, Any]:
    result = run_cli("plan", directory, "--format", "json", *extra, env=env_for(emulator.url))
    assert result.exit_code in (0, 2), result.output
    plan: dict[str, Any] = json.loads(result.stdout)
    return plan


def steps(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["action"], a["name"]) for a in plan["actions"]]


def converge(directory: Path, emulator: EmulatorServer) -> None:
    """Apply, then the plan is empty, then a second apply writes nothing."""
    env = env_for(emulator.url)
    applied = run_cli("apply", directory, "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output
    again = run_cli("plan", directory, "--detailed-exitcode", env=env)
    assert again.exit_code == 0, again.output
    assert "No changes." in again.stdout
    before = writes(emulator.stats())
    second = run_cli("apply", directory, "--auto-approve", env=env)
    assert second.exit_code == 0, second.output
    assert writes(emulator.stats()) == before


def test_create_and_activate(tmp_path: Path, emulator: EmulatorServer) -> None:
    directory = write_manifests(tmp_path, [ca("LTV", PURCHASES)])
    plan = plan_json(directory, emulator)
    assert steps(plan) == [("create", "LTV"), ("activate", "LTV")]
    assert plan["summary"] == {
        "create": 1,
        "update": 0,
        "discard_draft": 0,
        "activate": 1,
        "delete": 0,
        "seed": 0,
        "unchanged": 0,
        "unmanaged": 0,
        # A server's limit is unknown without active_limit / RECONCILER_ACTIVE_LIMIT.
        "active_after": 1,
        "active_limit": None,
    }
    converge(directory, emulator)


def test_create_only_for_inactive(tmp_path: Path, emulator: EmulatorServer, raw: RawApi) -> None:
    directory = write_manifests(tmp_path, [ca("Draft", active=False)])
    assert steps(plan_json(directory, emulator)) == [("create", "Draft")]
    converge(directory, emulator)
    live = raw.by_name()["Draft"]
    assert live["active_definition"] is None
    assert live["draft_definition"] is not None


def test_update_and_activate(tmp_path: Path, emulator: EmulatorServer, raw: RawApi) -> None:
    ca_id = raw.create("LTV", PURCHASES)
    raw.activate(ca_id)
    changed = {**PURCHASES, "calculation_type": "max"}
    directory = write_manifests(tmp_path, [ca("LTV", changed)])
    plan = plan_json(directory, emulator)
    assert steps(plan) == [("update", "LTV"), ("activate", "LTV")]
    assert plan["actions"][0]["id"] == ca_id
    assert plan["actions"][0]["changes"] == [
        {"path": "definition.calculation_type", "before": "sum", "after": "max"}
    ]
    assert set(plan["actions"][1]["warnings"]) == {"recalculates", "invalidates seeds"}
    converge(directory, emulator)


def test_activate_only_when_the_draft_is_staged(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    ca_id = raw.create("Sessions", SESSIONS)
    directory = write_manifests(tmp_path, [ca("Sessions")])
    assert steps(plan_json(directory, emulator)) == [("activate", "Sessions")]
    converge(directory, emulator)
    assert raw.get(ca_id)["active_definition"] is not None


def test_discard_a_stray_draft(tmp_path: Path, emulator: EmulatorServer, raw: RawApi) -> None:
    ca_id = raw.create("Sessions", SESSIONS)
    raw.activate(ca_id)
    raw.update(
        ca_id,
        "Sessions",
        {**SESSIONS, "time_period": {"type": "within", "within": 7, "within_unit": "days"}},
    )
    directory = write_manifests(tmp_path, [ca("Sessions")])
    plan = plan_json(directory, emulator)
    assert steps(plan) == [("discard_draft", "Sessions")]
    assert plan["actions"][0]["changes"] == [
        {"path": "definition.time_period.within", "before": 7, "after": 30}
    ]
    converge(directory, emulator)


def test_inactive_keeps_a_new_draft_beside_the_active_definition(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    ca_id = raw.create("Sessions", SESSIONS)
    raw.activate(ca_id)
    weekly = {**SESSIONS, "time_period": {"type": "within", "within": 7, "within_unit": "days"}}
    directory = write_manifests(tmp_path, [ca("Sessions", weekly, active=False)])
    assert steps(plan_json(directory, emulator)) == [("update", "Sessions")]
    converge(directory, emulator)
    live = raw.get(ca_id)
    assert live["active_definition"]["time_period"]["within"] == 30  # untouched
    assert live["draft_definition"]["time_period"]["within"] == 7


def test_rename_before_activation_keeps_the_id(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    ca_id = raw.create("Old name", SESSIONS)
    directory = write_manifests(tmp_path, [ca("New name", renamed_from="Old name")])
    plan = plan_json(directory, emulator)
    assert steps(plan) == [("update", "New name"), ("activate", "New name")]
    assert plan["actions"][0]["id"] == ca_id
    converge(directory, emulator)
    assert raw.get(ca_id)["name"] == "New name"
    assert [item["id"] for item in raw.list()] == [ca_id]


def test_rename_of_an_activated_ca_is_refused_without_writes(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    ca_id = raw.create("Old name", SESSIONS)
    raw.activate(ca_id)
    directory = write_manifests(tmp_path, [ca("New name", renamed_from="Old name")])
    before = writes(emulator.stats())
    for command in (["plan"], ["apply", "--auto-approve"]):
        result = run_cli(*command, directory, env=env_for(emulator.url))
        assert result.exit_code == 1
        assert "names are read-only once a CA has been activated" in result.stderr
        assert "Traceback" not in result.output
    assert writes(emulator.stats()) == before
    assert raw.get(ca_id)["name"] == "Old name"


def test_description_only_change(tmp_path: Path, emulator: EmulatorServer, raw: RawApi) -> None:
    ca_id = raw.create("Sessions", SESSIONS, description="old")
    raw.activate(ca_id)
    directory = write_manifests(tmp_path, [ca("Sessions", description="Sessions in 30 days")])
    plan = plan_json(directory, emulator)
    assert steps(plan) == [("update", "Sessions")]
    assert plan["actions"][0]["changes"] == [
        {"path": "description", "before": "old", "after": "Sessions in 30 days"}
    ]
    converge(directory, emulator)
    assert raw.get(ca_id)["description"] == "Sessions in 30 days"


def test_unmanaged_cas_are_listed(tmp_path: Path, emulator: EmulatorServer, raw: RawApi) -> None:
    raw.create("Legacy", SESSIONS)
    directory = write_manifests(tmp_path, [ca("Sessions")])
    plan = plan_json(directory, emulator)
    assert plan["unmanaged"] == ["Legacy"]
    text = run_cli("plan", directory, env=env_for(emulator.url))
    assert '  ? "Legacy"' in text.stdout
    converge(directory, emulator)
    assert "Legacy" in raw.by_name()


def test_with_prune_every_format_counts_a_delete_once(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """Text and Markdown said "1 to delete. 1 unchanged, 1 unmanaged." of two live CAs,
    and listed no unmanaged CA; every format now counts what it lists."""
    raw.activate(raw.create("Sessions", SESSIONS))
    raw.create("Legacy", SESSIONS)
    directory = write_manifests(tmp_path, [ca("Sessions")], settings={"prune": True})
    plan = plan_json(directory, emulator)
    assert steps(plan) == [("delete", "Legacy")]
    assert (plan["summary"]["delete"], plan["summary"]["unchanged"]) == (1, 1)
    assert (plan["summary"]["unmanaged"], plan["unmanaged"]) == (0, [])
    text = run_cli("plan", directory, env=env_for(emulator.url))
    assert "0 to activate, 1 to delete. 1 unchanged, 0 unmanaged." in text.stdout
    assert "Unmanaged" not in text.stdout
    comment = run_cli("plan", directory, "--format", "markdown", env=env_for(emulator.url))
    assert "| delete | unchanged | unmanaged |\n" in comment.stdout
    assert "| 0 | 0 | 0 | 0 | 1 | 1 | 0 |\n" in comment.stdout
    assert "unmanaged (live" not in comment.stdout
    converge(directory, emulator)
    assert "Legacy" not in raw.by_name()


def test_used_by_audiences_warning(tmp_path: Path, emulator: EmulatorServer, raw: RawApi) -> None:
    ca_id = raw.create("LTV", PURCHASES)
    raw.activate(ca_id)
    emulator.set_audience_count(ca_id, 3)
    directory = write_manifests(
        tmp_path, [ca("LTV", {**PURCHASES, "time_period": {"type": "since", "date": "2023-01-01"}})]
    )
    plan = plan_json(directory, emulator)
    assert plan["actions"][1]["warnings"] == ["recalculates", "used by 3 audiences"]
    converge(directory, emulator)


def test_protect_refuses_seed_invalidation(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    ca_id = raw.create("LTV", PURCHASES)
    raw.activate(ca_id)
    directory = write_manifests(
        tmp_path, [ca("LTV", {**PURCHASES, "calculation_type": "max"}, protect=True)]
    )
    result = run_cli("plan", directory, env=env_for(emulator.url))
    assert result.exit_code == 1
    assert "is protected (protect: true)" in result.stderr


def test_one_list_request_per_plan(tmp_path: Path, emulator: EmulatorServer) -> None:
    directory = write_manifests(tmp_path, [ca("LTV", PURCHASES), ca("Sessions")])
    run_cli("plan", directory, env=env_for(emulator.url))
    stats = emulator.stats()
    assert stats["requests"] == {LIST: 1, TOKEN: 1}


def test_detailed_exitcode_and_saved_plan(tmp_path: Path, emulator: EmulatorServer) -> None:
    directory = write_manifests(tmp_path / "m", [ca("Sessions")])
    saved = tmp_path / "plan.json"
    result: Result = run_cli(
        "plan", directory, "--detailed-exitcode", "--out", saved, env=env_for(emulator.url)
    )
    assert result.exit_code == 2
    document = json.loads(saved.read_text())
    assert document["format_version"] == 2
    assert document["workspace_id"] == 1234
    assert document["environment"] is None
    assert document["target"] == {
        "kind": "mparticle",
        "api_url": emulator.url,
        "database": None,
        "directory": str(directory.resolve()),
    }
    assert set(document) == {
        "format_version",
        "environment",
        "workspace_id",
        "target",
        "selection",
        "allowed",
        "overridden",
        "summary",
        "actions",
        "unmanaged",
        "drafts",
        "promotion",
        "seeds",
        "live",
    }
    assert document["seeds"] is None


def test_markdown_format(tmp_path: Path, emulator: EmulatorServer) -> None:
    directory = write_manifests(tmp_path, [ca("Sessions")])
    result = run_cli("plan", directory, "--format", "markdown", env=env_for(emulator.url))
    assert result.exit_code == 0
    assert result.stdout.startswith("### reconciler plan for workspace 1234")
    assert '<b><code>"Sessions"</code></b>: create, activate' in result.stdout


def test_one_list_request_for_two_thousand_cas(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    cas = [
        ca(
            f"CA {n:04d}",
            {
                **SESSIONS,
                "time_period": {"type": "within", "within": n % 90 + 1, "within_unit": "days"},
            },
        )
        for n in range(2000)
    ]
    for item in cas[:1990]:
        raw.create(item["name"], item["definition"])
    before = emulator.stats()["requests"]
    directory = write_manifests(tmp_path, cas)
    result = run_cli("plan", directory, env=env_for(emulator.url))
    assert result.exit_code == 0, result.output
    assert "Plan: 10 to create, 0 to update, 0 drafts to discard, 2000 to activate" in result.stdout
    after = emulator.stats()["requests"]
    assert after[LIST] - before.get(LIST, 0) == 1
    assert after[TOKEN] - before.get(TOKEN, 0) == 1
    assert sum(after.values()) - sum(before.values()) == 2


def test_creates_that_look_like_a_missed_rename_warn(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """A typo in renamed_from, a name that differs from a live one only in case, and a
    rename written without renamed_from all plan a silent "create": each says why."""
    raw.activate(raw.create("Lifetime Value", PURCHASES))
    sessions = raw.create("Sessions", SESSIONS)
    directory = write_manifests(
        tmp_path,
        [
            ca("LTV", PURCHASES, renamed_from="Lifetime Valeu"),
            ca("sessions"),
        ],
    )
    text = run_cli("plan", directory, env=env_for(emulator.url))
    assert text.exit_code == 0, text.output
    assert (
        '⚠ renamed_from "Lifetime Valeu" names no CA in the workspace, so this creates a new '
        'CA; did you mean "Lifetime Value"?'
    ) in text.stdout
    assert '⚠ same definition as the unmanaged "Lifetime Value" (id' in text.stdout
    assert (
        f'⚠ "sessions" differs from the live "Sessions" (id {sessions}) only in case, Unicode '
        "form or whitespace around it"
    ) in text.stdout
    converge(directory, emulator)


def test_a_workspace_the_api_does_not_have_is_named(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    """A wrong workspace id read `not found (GET http://.../platform/.../calculatedattributes
    -> 404): Workspace does not exist.`: the shown path leaves the id out, so the message
    named no workspace, nor where its id is set."""
    server = start_emulator(workspace_id=1234)
    directory = write_manifests(tmp_path, [ca("A")])
    result = run_cli("plan", directory, "--workspace-id", "999", env=env_for(server.url))
    assert result.exit_code == 1, result.output
    assert "workspace 999 was not found: check the workspace id" in result.stderr
    assert "(set by --workspace-id) and the API URL" in result.stderr
    assert "-> 404): Workspace does not exist." in result.stderr
