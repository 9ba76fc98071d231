"""`reconciler export`: manifests from the live workspace; export then plan is empty."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import operator
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconciler import files
from reconciler.api.transports import platform
from reconciler.commands import export as export_command
from reconciler.manifest.document import parse_yaml
from reconciler.manifest.settings_file import load_settings
from reconciler.manifest.writing import dump
from reconciler.models import LiveCA
from reconciler.plan.selection import in_scope
from reconciler.settings import SettingsFile, resolve
from tests.commands.test_plan import converge
from tests.commands.test_untrusted_lists import Workspace, listed
from tests.support.cli import Result, run_cli
from tests.support.emulator import EmulatorServer
from tests.support.servers import running
from tests.support.workspace import (
    PURCHASES,
    SESSIONS,
    RawApi,
    api_definition,
    ca,
    env_for,
    write_manifests,
)

ROOT = Path(__file__).resolve().parents[2]


def plan_is_empty(directory: Path, env: dict[str, str]) -> None:
    result = run_cli("plan", directory, "--detailed-exitcode", env=env)
    assert result.exit_code == 0, result.output


def export_with_settings(
    tmp_path: Path, emulator: EmulatorServer, settings: str
) -> tuple[Path, dict[str, str], Result]:
    """Export the emulator's workspace from a folder whose reconciler.yaml is `settings`:
    the folder written, the environment, and the command's result (exit 0 checked)."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "reconciler.yaml").write_text(settings)
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    result = run_cli("export", source, "--out", out, env=env)
    assert result.exit_code == 0, result.output
    return out, env, result


def test_export_of_the_example_workspace_plans_empty(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    source = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", source)
    converge(source, emulator)
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    result = run_cli("export", source, "--out", out, env=env)
    assert result.exit_code == 0, result.output
    assert "Exported 13 calculated attributes" in result.stdout
    assert run_cli("validate", out).exit_code == 0
    plan_is_empty(out, env)


def test_file_names_are_safe_whatever_the_names(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    names = [
        "../../etc/passwd",
        "a/b\\c",
        "CON",
        "reconciler",
        "A-B",
        "a b",
        "Café ☕ 日本",
        "x" * 300,
        "...",
        "[bold]markup[/bold]",
    ]
    for name in names:
        raw.create(name, SESSIONS)
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    result = run_cli("export", tmp_path / "none", "--out", out, "--workspace-id", "1234", env=env)
    assert result.exit_code == 0, result.output
    files = sorted(path.name for path in out.iterdir() if path.suffix == ".yaml")
    assert len(files) == len(names) + 1  # + reconciler.yaml
    assert all(path.parent == out for path in out.rglob("*.yaml"))
    assert all(len(name) <= 100 for name in files)
    assert "con.yaml" not in files
    assert "\nworkspace_id: 1234\n" in (out / "reconciler.yaml").read_text()
    plan_is_empty(out, env)


def test_a_mistyped_dir_is_named_not_made_into_an_empty_embedded_workspace(tmp_path: Path) -> None:
    """`export manifest/` (one letter short) said `no workspace id: set workspace_id in
    manifest/reconciler.yaml`, a file that cannot be, and with a workspace id from the
    environment made manifest/.reconciler/emulator.db, an empty embedded workspace, and
    exported it: 0 CAs, exit 0. (From mParticle, a DIR without settings still works: the
    environment says which workspace, as in the test above.)"""
    missing, empty, out = tmp_path / "manifest", tmp_path / "empty", tmp_path / "out"
    empty.mkdir()
    for env in ({}, {"MPARTICLE_WORKSPACE_ID": "5"}):
        result = run_cli("export", missing, "--out", out, env=env)
        assert result.exit_code == 1, result.output
        assert f"{missing}: no such directory" in result.stderr
        result = run_cli("export", empty, "--out", out, "--workspace-id", "5", env=env)
        assert result.exit_code == 1, result.output
        assert f"is {empty} a manifest directory? It needs a reconciler.yaml" in result.stderr
    assert not missing.exists()
    assert list(empty.iterdir()) == []
    assert not out.exists()


def test_stray_drafts_are_reported(tmp_path: Path, emulator: EmulatorServer, raw: RawApi) -> None:
    ca_id = raw.create("LTV", PURCHASES)
    raw.activate(ca_id)
    raw.update(ca_id, "LTV", {**PURCHASES, "calculation_type": "max"})
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    result = run_cli("export", tmp_path, "--out", out, "--workspace-id", "1234", env=env)
    assert result.exit_code == 0
    assert '"LTV" has an unactivated draft' in result.stderr
    assert "Exported 1 calculated attribute to " in result.stdout  # one, not "attributes"
    planned = run_cli("plan", out, env=env)
    assert 'discard draft "LTV"' in planned.stdout
    assert "Plan: 0 to create, 0 to update, 1 drafts to discard" in planned.stdout


def test_the_export_plans_through_the_same_endpoints_and_drafts_policy(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """The exported reconciler.yaml kept api_url but not auth_url or s2s_url, so plan on
    the export sent the credentials to sso.auth.mparticle.com; and not `drafts: preserve`,
    so plan (and apply) on the export discarded a draft the source keeps."""
    ca_id = raw.create("LTV", PURCHASES)
    raw.activate(ca_id)
    raw.update(ca_id, "LTV", {**PURCHASES, "calculation_type": "max"})
    source = tmp_path / "source"
    source.mkdir()
    (source / "reconciler.yaml").write_text(
        f"workspace_id: 1234\napi_url: {emulator.url}\nauth_url: {emulator.url}/oauth/token\n"
        f"s2s_url: {emulator.url}\ndrafts: preserve\n"
    )
    env = {"MPARTICLE_CLIENT_ID": "emulator", "MPARTICLE_CLIENT_SECRET": "emulator"}
    out = tmp_path / "exported"
    result = run_cli("export", source, "--out", out, env=env)
    assert result.exit_code == 0, result.output
    assert "plan will keep it: `drafts: preserve`" in result.stderr
    written = (out / "reconciler.yaml").read_text()
    assert f"\nauth_url: {emulator.url}/oauth/token\n" in written
    assert f"\ns2s_url: {emulator.url}\n" in written
    assert "\ndrafts: preserve\n" in written
    planned = run_cli("plan", out, "--detailed-exitcode", env=env)
    assert planned.exit_code == 0, planned.output
    assert 'draft kept "LTV"' in planned.stdout


def test_the_export_keeps_the_account_limits_safety_rules_and_rate_limit(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """The exported reconciler.yaml left out active_limit, retention_days, safety and
    rate_limit, so an edit made on the export was not checked against the account's
    active-CA limit or retention (nor the source's safety rules)."""
    raw.activate(raw.create("Sessions", SESSIONS))
    out, env, _ = export_with_settings(
        tmp_path,
        emulator,
        "workspace_id: 1234\nactive_limit: 1\nretention_days: 30\nrate_limit: 5.5\n"
        "safety: {allow_delete: false, max_change_percent: 12.5}\n",
    )
    written = parse_yaml((out / "reconciler.yaml").read_text(), "reconciler.yaml").data
    assert written["active_limit"] == 1
    assert written["retention_days"] == 30
    assert written["rate_limit"] == 5.5
    assert written["safety"] == {"allow_delete": False, "max_change_percent": 12.5}
    plan_is_empty(out, env)
    # An edit on the export meets the account's limits as one on the source would.
    (out / "more.yaml").write_text(
        "calculated_attributes:\n  - name: More\n    definition:\n"
        "      calculation_type: count\n      datapoint: {event_type: session_start}\n"
        "      time_period: {type: within, within: 60, within_unit: days}\n"
    )
    planned = run_cli("plan", out, env=env)
    assert planned.exit_code == 1, planned.output
    assert "retention period of 30 days" in planned.stderr
    more = (out / "more.yaml").read_text()
    (out / "more.yaml").write_text(more.replace("within: 60", "within: 7"))
    planned = run_cli("plan", out, env=env)
    assert planned.exit_code == 1, planned.output
    assert "[active-limit]" in planned.stderr
    assert "the account's limit of 1 (active_limit)" in planned.stderr


def test_the_export_keeps_the_seeding_rate_and_its_ceiling(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """`seed_rate` and `seed_rate_ceiling` were left out of the exported reconciler.yaml,
    so `reconciler seed` on the export ran at the default 100 users/s and 80%, over the
    pace the source set for the account's seeding limit."""
    raw.activate(raw.create("Sessions", SESSIONS))
    out, env, _ = export_with_settings(
        tmp_path, emulator, "workspace_id: 1234\nseed_rate: 5\nseed_rate_ceiling: 42.5\n"
    )
    text = (out / "reconciler.yaml").read_text()
    assert "\nseed_rate: 5\nseed_rate_ceiling: 42.5\n" in text, text
    exported = resolve(out, load_settings(out), environ=env)
    assert (exported.seed_rate, exported.seed_rate_ceiling) == (5, 42.5)
    plan_is_empty(out, env)


def test_the_export_keeps_prune_and_a_re_export_does_not_turn_it_off(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """Export wrote `prune: false` whatever the source said: a team that turned prune on
    in its exported reconciler.yaml lost it, silently, on the next `export --force`."""
    raw.activate(raw.create("Sessions", SESSIONS))
    out, env, _ = export_with_settings(tmp_path, emulator, "workspace_id: 1234\nprune: true\n")
    assert resolve(out, load_settings(out), environ=env).prune is True
    again = run_cli("export", out, "--out", out, "--force", env=env)
    assert again.exit_code == 0, again.output
    assert resolve(out, load_settings(out), environ=env).prune is True
    plan_is_empty(out, env)
    plain = tmp_path / "plain"
    plain.mkdir()
    assert (
        run_cli(
            "export", plain, "--out", tmp_path / "off", "--workspace-id", "1234", env=env
        ).exit_code
        == 0
    )
    assert resolve(tmp_path / "off", load_settings(tmp_path / "off"), environ=env).prune is False


def test_a_ca_the_retention_no_longer_covers_is_reported_by_the_export(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """mParticle checks retention on create and update only, so a live CA may hold a
    `since` date the account no longer keeps; the export wrote it with `retention_days`
    and said nothing, and the plan of the export, which checks every CA, failed. Then it
    named the CA but not the file the plan refuses: the note names the file, line, column
    and field, as the plan does."""
    old = {**SESSIONS, "time_period": {"type": "since", "date": "2000-01-01"}}
    raw.activate(raw.create("Old", old))
    raw.activate(raw.create("Sessions", SESSIONS))
    out, env, result = export_with_settings(
        tmp_path, emulator, "workspace_id: 1234\nretention_days: 30\n"
    )
    notes = [line for line in result.stderr.splitlines() if "retention_days 30" in line]
    assert len(notes) == 1, result.stderr
    lines = (out / "old.yaml").read_text().splitlines()
    (line,) = [number for number, text in enumerate(lines, 1) if "2000-01-01" in text]
    column = lines[line - 1].index("2000-01-01") + 1
    where = f"{out / 'old.yaml'}:{line}:{column}: definition.time_period.date:"
    assert notes[0].startswith(f"Warning: {where} 2000-01-01 is before "), notes[0]
    assert notes[0].endswith(
        '(CA "Old"); exported as it is, but plan refuses that file until the time period is '
        "changed (which recalculates the CA)"
    )
    planned = run_cli("plan", out, env=env)
    assert planned.exit_code == 1, planned.output
    assert "retention_days 30); mParticle refuses it" in planned.stderr
    assert f"{where} 2000-01-01 is before " in planned.stderr  # the same place


def test_cas_the_manifest_rules_refuse_are_reported_at_the_file_line_and_field(
    tmp_path: Path,
) -> None:
    """Only the UI makes a time period of type `all` (create refuses it), and only a list
    answer a name of spaces: the export's notes named the CA and the first error alone,
    not the file the plan of the export refuses. Each note now names the file, line, column
    and field where that plan names them, in its words. (A crafted server: the emulator
    holds neither.)"""
    broken = {**api_definition(SESSIONS), "time_period": {"type": "all"}}
    workspace = Workspace([listed(5, "LTV", active_definition=broken), listed(6, "   ")])
    out = tmp_path / "exported"
    with running(workspace.answer) as server:
        env = {**env_for(server.url), "NO_COLOR": "1", "COLUMNS": "1000"}
        result = run_cli(
            "export", tmp_path / "none", "--out", out, "--workspace-id", "1234", env=env
        )
        planned = run_cli("plan", out, env=env)
    assert result.exit_code == 0, result.output
    type_at = located(out / "ltv.yaml", "type: all", "all") + " definition.time_period.type:"
    name_at = located(out / "ca.yaml", "name: '   '", "'   '") + " name:"
    notes = [line for line in result.stderr.splitlines() if "plan refuses that file" in line]
    assert notes == [
        f'Warning: {name_at} must not be empty (CA "   "); exported as it is, but plan refuses '
        "that file: rename the CA in mParticle (possible until it is activated), or remove the "
        "file to leave the CA unmanaged",
        f"Warning: {type_at} Field 'time_period.type' = 'all' is not supported: use `since` "
        'with a `date`, or `within` with `within` and `within_unit` (CA "LTV"); exported as it '
        "is, but plan refuses that file: fix it by hand",
    ], result.stderr
    assert planned.exit_code == 1, planned.output
    for where in (type_at, name_at):  # the same places
        assert where in planned.stderr, planned.stderr


def located(path: Path, line_text: str, value: str) -> str:
    """`path:line:column:` of `value` on the one line of `path` that holds `line_text`."""
    lines = path.read_text().splitlines()
    (line,) = [number for number, text in enumerate(lines, 1) if line_text in text]
    return f"{path}:{line}:{lines[line - 1].index(value, lines[line - 1].index(line_text)) + 1}:"


def test_the_export_writes_a_whole_number_as_the_user_did(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """`max_change_percent: 20` (and `rate_limit: 5`) came out as `20.0` and `5.0`: the
    float the settings hold, not the number the user wrote."""
    raw.activate(raw.create("Sessions", SESSIONS))
    out, env, _ = export_with_settings(
        tmp_path, emulator, "workspace_id: 1234\nrate_limit: 5\nsafety: {max_change_percent: 20}\n"
    )
    text = (out / "reconciler.yaml").read_text()
    assert "\nrate_limit: 5\n" in text, text
    assert "\nsafety:\n  max_change_percent: 20\n" in text, text
    plan_is_empty(out, env)


def test_an_export_over_manifests_written_like_it_changes_no_number(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    """A GitOps user exporting over their repository got `value: '10.5'` where they wrote
    `value: 10.5` (and `20` where they wrote `20`): a diff they did not make."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "reconciler.yaml").write_text(
        "workspace_id: 1234\nrate_limit: 2.5\nsafety: {max_change_percent: 20}\n"
    )
    manifest_text = (
        "calculated_attributes:\n"
        "  - name: Spend\n"
        "    definition:\n"
        "      calculation_type: sum\n"
        "      datapoint: {event_type: commerce_event, attribute_name: Total Amount}\n"
        "      conditions:\n"
        "        - {type: number, operator: between, attribute_name: A, min_value: 0.5, "
        "max_value: 20}\n"
        "        - {type: number, operator: greater_than, attribute_name: B, value: 10.25}\n"
        "      time_period: {type: within, within: 4, within_unit: weeks}\n"
    )
    (source / "spend.yaml").write_text(manifest_text)
    converge(source, emulator)
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    result = run_cli("export", source, "--out", out, env=env)
    assert result.exit_code == 0, result.output
    written = (out / "spend.yaml").read_text()
    assert written.partition("\n")[2] == manifest_text  # after the export's mark
    settings_text = (out / "reconciler.yaml").read_text()
    assert "\nrate_limit: 2.5\n" in settings_text, settings_text
    assert "\n  max_change_percent: 20\n" in settings_text, settings_text
    plan_is_empty(out, env)


def test_only_the_same_workspace_finishes_a_stopped_export_without_force(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """The marker of an export that stopped let any export into the folder go on as with
    --force, one of another workspace too, which replaced the first one's files."""
    raw.activate(raw.create("Sessions", SESSIONS))
    source = tmp_path / "source"
    source.mkdir()
    (source / "reconciler.yaml").write_text("workspace_id: 1234\n")
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    assert run_cli("export", source, "--out", out, env=env).exit_code == 0
    marker = out / ".reconciler-export-unfinished"
    marker.write_text("reconciler export is writing this folder.\nworkspace: 99\n")
    other = run_cli("export", source, "--out", out, env=env)
    assert other.exit_code == 1, other.output
    assert "already holds manifests" in other.stderr
    assert marker.exists()
    marker.write_text("reconciler export is writing this folder.\nworkspace: 1234\n")
    same = run_cli("export", source, "--out", out, env=env)
    assert same.exit_code == 0, same.output
    assert "Finishing the export" in same.stderr
    assert not marker.exists()
    plan_is_empty(out, env)


def test_refuses_to_mix_with_existing_manifests(tmp_path: Path, emulator: EmulatorServer) -> None:
    out = write_manifests(tmp_path / "out", [ca("A")])
    result = run_cli(
        "export", tmp_path, "--out", out, "--workspace-id", "1234", env=env_for(emulator.url)
    )
    assert result.exit_code == 1
    assert "already holds manifests" in result.stderr


def test_embedded_workspace_round_trip(tmp_path: Path) -> None:
    source = write_manifests(tmp_path / "m", [ca("A"), ca("B", PURCHASES, active=False)])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    assert run_cli("export", source, "--out", out).exit_code == 0
    plan_is_empty(out, {})


def test_an_embedded_export_plans_against_the_same_workspace_not_a_copy(tmp_path: Path) -> None:
    """The export points at the source's database (`emulator_db`) instead of copying it: a
    change applied through the export is the source's workspace changed."""
    source = write_manifests(tmp_path / "m", [ca("A")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    assert run_cli("export", source, "--out", out).exit_code == 0
    assert not (out / ".reconciler").exists()
    assert "emulator_db: ../m/.reconciler/emulator.db" in (out / "reconciler.yaml").read_text()
    (out / "b.yaml").write_text(json.dumps({"calculated_attributes": [ca("B")]}))
    assert run_cli("apply", out, "--auto-approve").exit_code == 0
    seen = run_cli("plan", source)
    assert 'Unmanaged (live, in no manifest; `prune: true` deletes them):\n  ? "B"' in seen.stdout


def test_values_only_the_ui_holds_export_to_manifests_that_validate_and_plan_empty(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """The originals' GET example holds `event_type: unknown` (and `custom_event_type:
    unknown`); a data point may also be an event attribute, which the API does not support
    yet. Both export, validate with a located warning, and plan back to no changes. The
    create example's category and quantity without an attribute (which a manifest is
    warned about) mean nothing: the export leaves them out, so no warning names them."""
    get_example = ROOT / "tests" / "emulator" / "originals" / "get_response_repaired.json"
    point = json.loads(get_example.read_text())["active_definition"]["data_point"]
    assert (point["event_type"], point["custom_event_type"]) == ("unknown", "unknown")
    attribute_point = {**PURCHASES["datapoint"], "type": "event_attribute"}
    for name, datapoint in (("Unknown events", point), ("Attribute", attribute_point)):
        definition = {**api_definition(SESSIONS), "datapoint": datapoint}
        body = {"name": name, "draft_definition": definition}
        assert raw.http.post(raw.base, json=body).status_code == 201
    create_example = ROOT / "tests" / "emulator" / "originals" / "create_request.json"
    assert raw.http.post(raw.base, json=json.loads(create_example.read_text())).status_code == 201
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    result = run_cli("export", tmp_path, "--out", out, "--workspace-id", "1234", env=env)
    assert result.exit_code == 0, result.output
    assert "refuse" not in result.stderr  # nothing exported "as it is, fix it by hand"
    checked = run_cli("validate", out)
    assert checked.exit_code == 0, checked.output
    assert re.search(
        r"unknown-events\.yaml:\d+:\d+: definition\.datapoint\.event_type: `unknown` is not "
        r"one of the Events API's event types",
        checked.stderr,
    ), checked.stderr
    assert re.search(
        r"attribute\.yaml:\d+:\d+: definition\.datapoint\.type: datapoint type "
        r"`event_attribute` is documented, but the API currently supports only event",
        checked.stderr,
    ), checked.stderr
    assert "attribute_category" not in checked.stderr, checked.stderr
    assert "use_product_quantity" not in checked.stderr, checked.stderr
    plan_is_empty(out, env)


def test_sessions_sessions_and_sessions_2_are_four_files(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """With SESSIONS too: `sessions` took `sessions-<id>`, which is `Sessions 2`'s file when
    the id is 2; two CAs were written to one file."""
    for name in ("Sessions", "sessions", "Sessions 2", "SESSIONS"):
        raw.create(name, SESSIONS)
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    result = run_cli("export", tmp_path, "--out", out, "--workspace-id", "1234", env=env)
    assert result.exit_code == 0, result.output
    assert "Exported 4 calculated attributes" in result.stdout
    assert len([p for p in out.glob("*.yaml") if p.name != "reconciler.yaml"]) == 4
    plan_is_empty(out, env)


def _name_of_a_manifest(name: str) -> bool:
    """What both the API and the manifest rules take: not blank (whitespace around it, and
    tabs, line breaks or invisible characters in it, are taken with a warning)."""
    return name.strip() != ""


#: Names that collide once made file names: case, accents, punctuation, reserved names,
#: the id suffix meeting another CA's name, long shared prefixes, nothing ASCII at all.
TRICKY = [
    "Sessions", "sessions", "SESSIONS", "Séssions", "Sessions 2", "sessions-2", "sessions 3",
    "con", "CON", "Con.txt", "nul", "LPT1", "Reconciler", "reconciler", "ca", "CA 1",
    "日本語", "☕", "...", "a-b", "a b", "A_B", "a.b", "x" * 120, "x" * 120 + "y",
    " lead", "trail ", "\tboth ",
]  # fmt: skip
NAMES = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(blacklist_categories=("Cs", "Zl", "Zp")), min_size=1, max_size=12),
    st.builds(lambda a, b: f"{a} {b}", st.sampled_from(TRICKY), st.integers(1, 12)),
).filter(_name_of_a_manifest)


async def _create(directory: Path, names: list[str]) -> None:
    settings = resolve(directory, SettingsFile(workspace_id=1234), environ={})
    async with platform(settings) as client:
        for index, name in enumerate(names):
            body = {"name": name, "description": "", "draft_definition": api_definition(SESSIONS)}
            ca_id = await client.create(body)
            if index % 2:
                await client.activate(ca_id)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(names=st.lists(NAMES, min_size=1, max_size=8, unique=True))
@example(names=[" lead", "trail ", "\tboth ", "lead"])  # kept as written, warned about
@example(names=["tab\tin", "zero\u200bwidth", "nul\x00", "bidi\u202e"])  # likewise
def test_every_ca_is_exported_whatever_the_names(
    tmp_path_factory: pytest.TempPathFactory, names: list[str]
) -> None:
    """Against the in-process emulator: each live CA gets a file of its own, and `plan`
    on the export is empty, with nothing unmanaged."""
    base = tmp_path_factory.mktemp("export")
    source = base / "workspace"
    source.mkdir()
    (source / "reconciler.yaml").write_text("workspace_id: 1234\n")
    asyncio.run(_create(source, names))
    out = base / "exported"
    result = run_cli("export", source, "--out", out)
    assert result.exit_code == 0, result.output
    files = [p.name for p in out.glob("*.yaml") if p.name != "reconciler.yaml"]
    assert len(files) == len(names)
    assert len({name.casefold() for name in files}) == len(files)  # case-insensitive too
    planned = run_cli("plan", out, "--format", "json")
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    assert plan["actions"] == []
    assert plan["summary"]["unmanaged"] == 0
    assert plan["summary"]["unchanged"] == len(names)


def test_export_into_a_file_is_refused_by_name(tmp_path: Path) -> None:
    """It printed "unexpected FileExistsError ... This is a bug"."""
    source = write_manifests(tmp_path / "m", [ca("A")])
    (tmp_path / "taken").write_text("mine\n")
    result = run_cli("export", source, "--out", tmp_path / "taken")
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: --out {tmp_path / 'taken'}: is a file; name a directory to export into\n",
    )
    assert (tmp_path / "taken").read_text() == "mine\n"


def test_force_replaces_an_earlier_export_and_only_its_files(tmp_path: Path) -> None:
    """The README's `export --out exported/` twice failed; again with --force it replaces
    what the first export wrote (a CA deleted since loses its file), and leaves any other
    file alone."""
    source = write_manifests(tmp_path / "m", [ca("A"), ca("B")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    assert run_cli("export", source, "--out", out).exit_code == 0
    (out / "NOTES.md").write_text("kept\n")
    again = run_cli("export", source, "--out", out)
    assert again.exit_code == 1
    assert "already holds manifests (3 files). Pass --force to replace" in again.stderr
    write_manifests(source, [ca("A")])
    assert run_cli("apply", source, "--auto-approve", "--prune").exit_code == 0
    forced = run_cli("export", source, "--out", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert sorted(p.name for p in out.iterdir()) == ["NOTES.md", "a.yaml", "reconciler.yaml"]
    plan_is_empty(out, {})


def test_an_export_into_a_folder_another_export_is_writing_is_refused(tmp_path: Path) -> None:
    """Two exports into one folder at once both wrote it: the files of two workspaces
    ended mixed, and the one that finished second failed to remove the marker the first
    had removed ("cannot remove it: No such file or directory")."""
    source = write_manifests(tmp_path / "m", [ca("A")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    out.mkdir()
    other = os.open(out, os.O_RDONLY)  # the other export, mid-way, holds the folder
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run_cli("export", source, "--out", out, "--force")
    finally:
        os.close(other)
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: --out {out}: another `reconciler export` is writing into it now; wait for "
        "it to finish, or export into another directory\n",
    )
    assert list(out.iterdir()) == []  # nothing written


class Elsewhere:
    """Another process holding a folder (an export writing it, or plans reading it) on a
    fake clock: each pause of the command waiting for it is 0.1 s of that clock, and after
    `pauses` of them `then()` runs (the other process finishes) and the lock is let go."""

    def __init__(self, folder: Path, shared: bool, pauses: int, then: Any = None) -> None:
        self.descriptors = [os.open(folder, os.O_RDONLY) for _ in range(2 if shared else 1)]
        for descriptor in self.descriptors:
            fcntl.flock(descriptor, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        self.now, self.pauses, self.left, self.then = 0.0, 0, pauses, then

    def patience(self) -> files.Patience:
        return files.Patience(clock=lambda: self.now, pause=self.pause)

    def pause(self, seconds: float) -> None:
        self.now += seconds
        self.pauses += 1
        if self.pauses == self.left:
            if self.then is not None:
                self.then()
            self.release()

    def running(self, monkeypatch: pytest.MonkeyPatch, *args: str | Path) -> Result:
        """`reconciler ARGS`, waiting for this holder on its clock; let go at the end."""
        monkeypatch.setattr(files, "FOLDER_PATIENCE", self.patience())
        try:
            return run_cli(*args)
        finally:
            self.release()

    def release(self) -> None:
        for descriptor in self.descriptors:
            with contextlib.suppress(OSError):
                os.close(descriptor)
        self.descriptors = []


def half_written(out: Path) -> dict[str, bytes]:
    """`out` as an export leaves it mid-way (its marker there, reconciler.yaml gone, one
    manifest replaced by a CA of another workspace); returns the finished folder's files."""
    finished = {path.name: path.read_bytes() for path in out.iterdir()}
    (out / "reconciler.yaml").unlink()
    (out / ".reconciler-export-unfinished").write_text("workspace: 1\n")
    (out / "a.yaml").write_bytes(finished["a.yaml"].replace(b"name: A", b"name: Other"))
    return finished


def finish(out: Path, finished: dict[str, bytes]) -> None:
    for name, data in finished.items():
        (out / name).write_bytes(data)
    (out / ".reconciler-export-unfinished").unlink()


@pytest.mark.parametrize("command", ["plan", "validate"])
def test_a_load_waits_for_the_export_writing_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """A plan (or validate) started while an export wrote its folder read what was there:
    files of two exports (or the marker's refusal, which said the export had stopped and
    to delete the marker). It waits for the export, announced, then reads it finished."""
    source = write_manifests(tmp_path / "m", [ca("A")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    assert run_cli("export", source, "--out", out).exit_code == 0
    finished = half_written(out)
    export = Elsewhere(out, shared=False, pauses=5, then=lambda: finish(out, finished))
    result = export.running(monkeypatch, command, out, "--no-color")
    assert result.exit_code == 0, result.output
    assert export.pauses == 5
    assert re.search(
        rf"{re.escape(str(out))}: a `reconciler export` is writing into it; waiting for it to "
        r"finish, until \d\d:\d\d:\d\d \S+ \(30 s at most\)",
        result.stderr,
    ), result.stderr
    assert "No changes" in result.stdout if command == "plan" else "valid" in result.stdout


@pytest.mark.parametrize("command", ["plan", "validate"])
def test_a_load_gives_up_on_an_export_that_holds_its_folder_too_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """The wait is bounded: after 30 s (of a fake clock) the command is refused by name,
    having read nothing; it read the folder as it was, mid-export, before."""
    source = write_manifests(tmp_path / "m", [ca("A")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    assert run_cli("export", source, "--out", out).exit_code == 0
    export = Elsewhere(out, shared=False, pauses=10**6)
    result = export.running(monkeypatch, command, out, "--no-color")
    assert result.exit_code == 1, result.output
    assert export.now == pytest.approx(30)
    assert result.stderr.endswith(
        f"Error: {out}: a `reconciler export` was still writing into it after 30 s of waiting; "
        "nothing was read, since a folder half-written could plan changes nobody made. Run "
        "this again when the export ends\n"
    ), result.stderr
    assert result.stdout == ""


def test_readers_share_a_folder_and_an_export_waits_for_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two plans reading a folder at once do not wait for each other; an export into it
    waits for them (announced) instead of taking them for another export and refusing."""
    source = write_manifests(tmp_path / "m", [ca("A")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    assert run_cli("export", source, "--out", out).exit_code == 0
    readers = Elsewhere(out, shared=True, pauses=3)
    monkeypatch.setattr(files, "FOLDER_PATIENCE", readers.patience())
    try:
        planned = run_cli("plan", out, "--no-color")
        validated = run_cli("validate", out)
        assert readers.pauses == 0  # neither waited
        exported = run_cli("export", source, "--out", out, "--force")
    finally:
        readers.release()
    assert (planned.exit_code, validated.exit_code) == (0, 0), planned.output + validated.output
    assert "waiting" not in planned.stderr + validated.stderr
    assert exported.exit_code == 0, exported.output
    assert readers.pauses == 3
    assert (
        f"--out {out}: other reconciler commands (plan, validate, test, apply, seed, export) "
        "are reading its manifests; waiting for them to finish, until " in exported.stderr
    ), exported.stderr


def test_a_read_only_folder_is_waited_for_and_planned_leaving_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock needs no write access: a folder nothing may be written in (a read-only
    checkout; the test runs as root, so every write into it is refused here) is locked
    and planned as any other, and holds the same files afterwards."""
    source = write_manifests(tmp_path / "m", [ca("A")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    assert run_cli("export", source, "--out", out).exit_code == 0
    before = sorted(path.name for path in out.iterdir())
    opened = os.open
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def read_only(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & writing and out in Path(path).parents:
            raise OSError(30, "Read-only file system", str(path))
        return opened(path, flags, *args, **kwargs)

    export = Elsewhere(out, shared=False, pauses=2)
    monkeypatch.setattr(os, "open", read_only)
    result = export.running(monkeypatch, "plan", out, "--no-color")
    assert result.exit_code == 0, result.output
    assert "No changes" in result.stdout
    assert export.pauses == 2
    assert f"{out}: a `reconciler export` is writing into it; waiting" in result.stderr
    assert sorted(path.name for path in out.iterdir()) == before


def test_a_folder_named_with_braces_is_given_up_on_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The message after a wait ran out was a template filled in after the folder's name
    was put in it: a folder named `team{a}` (or `{}`) made a plan and an export fail with
    "unexpected KeyError ... a bug" instead of naming it."""
    source = write_manifests(tmp_path / "m", [ca("A")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "team{a}{}"
    assert run_cli("export", source, "--out", out).exit_code == 0
    export = Elsewhere(out, shared=False, pauses=10**6)
    planned = export.running(monkeypatch, "plan", out, "--no-color")
    assert planned.exit_code == 1, planned.output
    assert planned.stderr.endswith(
        f"Error: {out}: a `reconciler export` was still writing into it after 30 s of waiting; "
        "nothing was read, since a folder half-written could plan changes nobody made. Run "
        "this again when the export ends\n"
    ), planned.stderr
    readers = Elsewhere(out, shared=True, pauses=10**6)
    exported = readers.running(monkeypatch, "export", source, "--out", out, "--force")
    assert exported.exit_code == 1, exported.output
    assert exported.stderr.endswith(
        f"Error: --out {out}: other reconciler commands (plan, validate, test, apply, seed, "
        "export) were still reading its manifests after 30 s of waiting; nothing was "
        "written. Export again when they end, or export into another directory\n"
    ), exported.stderr


def test_without_locks_an_export_opens_no_folder_as_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the system has no flock (Windows), the folder lock is skipped, not tried: there
    opening a folder as a file is refused, and every export failed on it."""
    source = write_manifests(tmp_path / "m", [ca("A")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    opened = os.open

    def no_folders(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(path).is_dir():
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_folders)
    out = tmp_path / "exported"
    locking = run_cli("export", source, "--out", out)  # the lock's way, where it is there
    assert (locking.exit_code, "Permission denied" in locking.stderr) == (1, True)
    monkeypatch.setattr(export_command, "LOCKS", False)
    result = run_cli("export", source, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.yaml", "reconciler.yaml"]


def test_an_export_that_finished_meanwhile_is_replaced_whole_not_mixed_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--force` over an export of A; while this export (of B) reads its workspace, another
    one (of C) replaces A's: the files this one replaces are those found once it holds the
    folder, so it holds B's files alone, not B's and C's (a plan there would create C)."""
    sources = {}
    for name in "ABC":
        sources[name] = write_manifests(tmp_path / name, [ca(name)])
        assert run_cli("apply", sources[name], "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    assert run_cli("export", sources["A"], "--out", out).exit_code == 0
    scoped = in_scope
    others: list[int] = []

    def meanwhile(live: list[LiveCA], scope: Any) -> list[LiveCA]:
        monkeypatch.setattr(f"{export_command.__name__}.in_scope", scoped)  # the other: plain
        # The other export, whole, between this one's reading and its writing.
        others.append(run_cli("export", sources["C"], "--out", out, "--force").exit_code)
        return scoped(live, scope)

    monkeypatch.setattr(f"{export_command.__name__}.in_scope", meanwhile)
    result = run_cli("export", sources["B"], "--out", out, "--force")
    assert others == [0]
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == ["b.yaml", "reconciler.yaml"]
    plan_is_empty(out, {})


def test_force_never_touches_a_manifest_export_did_not_write(tmp_path: Path) -> None:
    source = write_manifests(tmp_path / "m", [ca("A")])
    out = write_manifests(tmp_path / "mine", [ca("Hand written")])
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    result = run_cli("export", source, "--out", out, "--force")
    assert result.exit_code == 1
    assert "export replaces only the files it wrote, and these are not its own:" in result.stderr
    assert str(out / "cas.yaml") in result.stderr
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


def test_force_never_removes_a_file_a_folder_link_brings_in_from_outside(
    tmp_path: Path,
) -> None:
    """A link to a folder is read as a subfolder, so the files of an earlier export in a
    folder outside `--out` (another workspace's, linked in to be planned along) were
    listed as this export's to replace, and the CAs gone from it removed them there."""
    source = write_manifests(tmp_path / "m", [ca("A")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    assert run_cli("export", source, "--out", out).exit_code == 0
    shared = tmp_path / "shared"
    shared.mkdir()
    text = (out / "a.yaml").read_text().replace("name: A", "name: Shared")
    (shared / "shared.yaml").write_text(text)
    (out / "team").symlink_to(shared)
    result = run_cli("export", source, "--out", out, "--force")
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: --out {out}: export removes and writes files only inside it, and these are "
        f"in a folder outside it, reached through a symbolic link: {out / 'team/shared.yaml'}. "
        "Remove the link, or name it in .reconcilerignore.\n",
    )
    assert (shared / "shared.yaml").read_text() == text
    (out / ".reconcilerignore").write_text("team/\n")
    assert run_cli("export", source, "--out", out, "--force").exit_code == 0
    assert (shared / "shared.yaml").read_text() == text


def test_export_keeps_protect_which_the_api_does_not_store(tmp_path: Path) -> None:
    """From the manifests of DIR, and from the files of an earlier export it replaces."""
    source = write_manifests(tmp_path / "m", [ca("A", protect=True), ca("B")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    first = run_cli("export", source, "--out", out)
    assert first.exit_code == 0, first.output
    assert "Kept `protect: true` on 1 CA(s) as the manifests say" in first.stderr
    assert "protect: true" in (out / "a.yaml").read_text()
    assert "protect" not in (out / "b.yaml").read_text()
    (source / "cas.yaml").write_text("calculated_attributes: [{name: A, definition: 7}]\n")
    again = run_cli("export", source, "--out", out, "--force")
    assert again.exit_code == 0, again.output
    assert "protect: true" in (out / "a.yaml").read_text()  # from the export it replaced
    assert "have errors, so the export could not take `protect: true` from them" in again.stderr
    plan_is_empty(out, {})


def _string_condition(value: str) -> dict[str, object]:
    condition = {"type": "string", "operator": "contains", "attribute_name": "url", "value": value}
    return {**SESSIONS, "conditions": [condition]}


def test_a_value_yaml_reads_as_an_indicator_is_quoted_and_plans_empty(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """`value: ?utm_source=google` in a flow mapping is not YAML libyaml reads (`while
    parsing a flow node`): plan on the export failed. Every short text starting `?` or `:`
    did."""
    for index, value in enumerate(["?utm_source=google", ":x", "-x", "?", "a, b", "x}"]):
        raw.activate(raw.create(f"CA {index}", _string_condition(value)))
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    result = run_cli("export", tmp_path, "--out", out, "--workspace-id", "1234", env=env)
    assert result.exit_code == 0, result.output
    assert "value: '?utm_source=google'}" in (out / "ca-0.yaml").read_text()
    plan_is_empty(out, env)


def test_line_separators_and_invisible_characters_are_escaped_and_plan_empty(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """NEL (U+0085) was written raw in single quotes and read back as a space, so plan on
    the export offered an update; likewise U+2028, U+2029 and other invisible characters."""
    descriptions = ["first\x85second", "a\u2028b", "a\u2029b", "tab\there", "bell\x07", "a\nb"]
    for index, description in enumerate(descriptions):
        raw.activate(raw.create(f"CA {index}", SESSIONS, description=description))
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    result = run_cli("export", tmp_path, "--out", out, "--workspace-id", "1234", env=env)
    assert result.exit_code == 0, result.output
    assert 'description: "first\\Nsecond"' in (out / "ca-0.yaml").read_text()
    plan_is_empty(out, env)


def test_names_with_tabs_line_breaks_and_invisible_characters_export_and_plan_empty(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """mParticle takes such names (the UI too), but the manifest rules refused them: the
    export's file made `plan` fail, and the CA could not be managed at all. They are now a
    warning; export writes them with escapes, they read back byte for byte, and the plan
    shows them escaped, in text and in Markdown."""
    from markdown_it import MarkdownIt

    names = ["tab\tname", "two\nlines", "zero\u200bwidth", "crlf\r\nname", 'quote "q" \\']
    for name in names:
        raw.activate(raw.create(name, SESSIONS))
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    result = run_cli("export", tmp_path, "--out", out, "--workspace-id", "1234", env=env)
    assert result.exit_code == 0, result.output
    assert "plan refuses that file" not in result.stderr
    files = [path for path in out.glob("*.yaml") if path.name != "reconciler.yaml"]
    written = "".join(path.read_text() for path in files)
    assert 'name: "tab\\tname"' in written
    assert "\t" not in written
    assert "\u200b" not in written
    planned = run_cli("plan", out, "--format", "json", env=env)
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    assert (plan["actions"], plan["summary"]["unchanged"]) == ([], len(names))
    # Byte for byte: a change made on the export updates those very CAs.
    for path in files:
        path.write_text(
            path.read_text().replace("\n    definition:", "\n    description: d\n    definition:")
        )
    changed = run_cli("plan", out, "--format", "json", env=env)
    assert changed.exit_code == 0, changed.output
    actions = json.loads(changed.stdout)["actions"]
    assert sorted(a["name"] for a in actions if a["action"] == "update") == sorted(names)
    text = run_cli("plan", out, env=env)
    assert "a tab, a line break or an invisible character" in text.stderr
    for shown in (r'"tab\tname"', r'"two\nlines"', r'"zero\u200bwidth"', r'"crlf\r\nname"'):
        assert f"~ update {shown}" in text.stdout
    comment = run_cli("plan", out, "--format", "markdown", env=env).stdout
    assert not {"\t", "\u200b", "\r"} & set(comment)
    page = MarkdownIt("commonmark").render(comment)
    for shown in (r"tab\tname", r"two\nlines", r"zero\u200bwidth", r"crlf\r\nname"):
        assert f'<code>"{shown}"</code>' in page


#: Any text (surrogates aside: UTF-8 cannot hold them), and short text after what YAML may
#: take for an indicator, a comment or a line break.
TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=24)
AWKWARD = st.builds(
    operator.add,
    st.sampled_from([*"-?:,[]{}#&*!|>'\"%@` \t\n\r\x85\u2028\u2029\ufeff", "- ", ": ", " #"]),
    st.one_of(TEXT, st.sampled_from(["", "x", "1", " ", "true", "2024-01-01", "~", ": x"])),
)
TEXTS = st.one_of(TEXT, AWKWARD)


def text_document(
    name: str,
    description: str,
    value: str,
    other: str,
    attribute: str,
    event: str,
    *,
    listed: str,
    period: dict[str, Any],
) -> dict[str, Any]:
    """A manifest document of one CA holding these texts in block context (name,
    description, a list of values) and in flow mappings (datapoint, conditions; the
    second condition's operator `listed`, with `period` as its time period)."""
    condition = {"type": "string", "operator": "contains", "attribute_name": attribute}
    return {
        "calculated_attributes": [
            {
                "name": name,
                "description": description,
                "definition": {
                    "calculation_type": "count",
                    "datapoint": {"event_type": "custom_event", "event_name": event},
                    "conditions": [
                        {**condition, "value": value},
                        {**condition, "operator": listed, "values": [value, other]},
                    ],
                    "time_period": period,
                },
            }
        ]
    }


@settings(max_examples=400, deadline=None)
@given(name=TEXTS, description=TEXTS, value=TEXTS, other=TEXTS, attribute=TEXTS, event=TEXTS)
def test_exported_yaml_reads_back_as_the_same_data_whatever_the_text(
    name: str, description: str, value: str, other: str, attribute: str, event: str
) -> None:
    """Text in block context (name, description, a list of values) and in flow mappings
    (condition values, datapoint, time period) reads back, by the manifest reader, as
    written: `?x` and `:x` in a flow mapping broke the file, NEL came back as a space."""
    document = text_document(
        name,
        description,
        value,
        other,
        attribute,
        event,
        listed="in",
        period={"type": "since", "date": other},
    )
    assert parse_yaml(dump(document), "x.yaml").data == document


@pytest.mark.parametrize("text", ["a  b " * 2000, "é\x85 \x85\x85 " * 2000, "x" * 9000])
def test_long_text_is_not_folded_into_other_text(text: str) -> None:
    """ruamel folded lines over 4096 characters, and in a flow mapping the fold lost
    spaces; the export refused to write such a file (it reads back as other data)."""
    document = {"description": text, "a": {"b": {"c": {"value": text}}}}
    assert parse_yaml(dump(document), "x.yaml").data == document


def test_a_file_reconcilerignore_hides_is_refused_not_overwritten(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """`ltv.yaml`, ignored by `.reconcilerignore`, was not seen as a manifest, so export
    replaced it with the live CA `LTV`, with --force or without."""
    raw.activate(raw.create("LTV", SESSIONS))
    env = env_for(emulator.url)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".reconcilerignore").write_text("ltv.yaml\n")
    (out / "ltv.yaml").write_text("replicas: 3\n")
    for force in ([], ["--force"]):
        result = run_cli(
            "export", tmp_path, "--out", out, "--workspace-id", "1234", *force, env=env
        )
        assert result.exit_code == 1, result.output
        assert "export replaces only the files it wrote, and these are not its own:" in (
            result.stderr
        )
        assert str(out / "ltv.yaml") in result.stderr
        assert (out / "ltv.yaml").read_text() == "replicas: 3\n"
        assert sorted(path.name for path in out.iterdir()) == [".reconcilerignore", "ltv.yaml"]


def test_an_export_reconcilerignore_would_hide_is_refused(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """A file written where `.reconcilerignore` hides it is a CA plan calls unmanaged (and
    prune deletes): export then plan would not be empty."""
    raw.activate(raw.create("LTV", SESSIONS))
    raw.activate(raw.create("Sessions", SESSIONS))
    env = env_for(emulator.url)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".reconcilerignore").write_text("l*.yaml\nreconciler.yaml\n")
    result = run_cli("export", tmp_path, "--out", out, "--workspace-id", "1234", env=env)
    assert result.exit_code == 1, result.output
    assert f"{out / '.reconcilerignore'} hides files this export would write" in result.stderr
    assert "ltv.yaml" in result.stderr
    assert "sessions.yaml" not in result.stderr
    assert "reconciler.yaml" not in result.stderr  # read whatever the ignore file says
    assert sorted(path.name for path in out.iterdir()) == [".reconcilerignore"]


def test_an_earlier_export_s_file_the_ignore_file_hides_needs_force_and_stays_hidden(
    tmp_path: Path,
) -> None:
    source = write_manifests(tmp_path / "m", [ca("A")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    assert run_cli("export", source, "--out", out).exit_code == 0
    (out / "reconciler.yaml").unlink()
    (out / ".reconcilerignore").write_text("a.yaml\n")
    before = (out / "a.yaml").read_bytes()
    again = run_cli("export", source, "--out", out)
    assert again.exit_code == 1
    assert "already holds manifests (1 file). Pass --force to replace" in again.stderr
    forced = run_cli("export", source, "--out", out, "--force")
    assert forced.exit_code == 1
    assert "hides files this export would write (a.yaml)" in forced.stderr
    assert (out / "a.yaml").read_bytes() == before


def test_an_export_finished_in_its_own_directory_keeps_protect_without_a_false_warning(
    tmp_path: Path,
) -> None:
    """`export DIR --out DIR` refreshes an export in place. Stopped half-way, its marker makes
    DIR's manifests unreadable to export too, which then warned that they "have errors" and
    told the user to add `protect: true` back by hand, while keeping it from the files it
    replaced (the very same files)."""
    source = write_manifests(tmp_path / "m", [ca("A", protect=True), ca("B")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    assert run_cli("export", source, "--out", out).exit_code == 0
    workspace = re.search(r"^workspace_id: (\d+)$", (out / "reconciler.yaml").read_text(), re.M)
    assert workspace is not None
    (out / ".reconciler-export-unfinished").write_text(f"stopped\nworkspace: {workspace[1]}\n")
    again = run_cli("export", out, "--out", out)
    assert again.exit_code == 0, again.output
    assert "Finishing the export into" in again.stderr
    assert "protect: true" in (out / "a.yaml").read_text()
    assert "Kept `protect: true` on 1 CA(s)" in again.stderr
    assert "have errors" not in again.stderr
    assert not (out / ".reconciler-export-unfinished").exists()
    plan_is_empty(out, {})


def test_an_export_stopped_in_its_own_directory_without_reconciler_yaml_is_not_redone_blind(
    tmp_path: Path,
) -> None:
    """`export DIR --out DIR` removes DIR's reconciler.yaml first and writes it back last.
    Stopped in between, DIR has no settings: the export run again took the defaults (with
    MPARTICLE_WORKSPACE_ID set, an empty embedded workspace of its own), "finished" the
    export with exit 0, and deleted every manifest of the real workspace."""
    source = write_manifests(tmp_path / "m", [ca("A"), ca("B")])
    assert run_cli("apply", source, "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    assert run_cli("export", source, "--out", out).exit_code == 0
    (out / ".reconciler-export-unfinished").write_text("stopped\nworkspace: 1234\n")
    (out / "reconciler.yaml").unlink()
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    again = run_cli("export", out, "--out", out, env={"MPARTICLE_WORKSPACE_ID": "1234"})
    assert again.exit_code == 1, again.output
    assert f"{out}: an export into it stopped before it wrote its reconciler.yaml" in " ".join(
        again.stderr.split()
    )
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
