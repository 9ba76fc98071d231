"""Text from the workspace or a server never drives the reader's terminal: live CA names
holding escape sequences (erase the line above, retitle the window) or a bidi override
(show `delete` backwards) are escaped in the text plan, the Markdown comment, the apply
report, stale-plan and export messages, and so is a server's error text. The JSON plan is
data and keeps every name exactly."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.servers import answering, running
from tests.support.workspace import SESSIONS, RawApi, ca, env_for, write_manifests

#: Erase the line above and the current one; set the window title; reverse what follows.
HIDING = "Hide me\x1b[1A\x1b[2K"
TITLING = "Title\x1b]0;all good\x07"
REVERSED = "Bidi \u202eeteled"
RAW = ("\x1b", "\x07", "\u202e")


def raw_characters(text: str) -> list[str]:
    return [repr(ch) for ch in RAW if ch in text]


def stage(raw: RawApi) -> None:
    for name in (HIDING, TITLING, REVERSED):
        raw.create(name, SESSIONS, description="from the UI \x1b[31m red")


def test_live_names_are_escaped_in_every_rendering(
    emulator: EmulatorServer, raw: RawApi, tmp_path: Path
) -> None:
    stage(raw)
    directory = write_manifests(tmp_path / "m", [ca("Kept")])
    env = env_for(emulator.url)
    text = run_cli("plan", directory, "--prune", env=env)
    assert text.exit_code == 0, text.output
    assert raw_characters(text.output) == []
    # Quoted as the change lines quote text (JSON escapes): one formatter for both.
    assert r'x delete "Hide me\u001b[1A\u001b[2K"' in text.stdout
    assert r'x delete "Title\u001b]0;all good\u0007"' in text.stdout
    assert r'x delete "Bidi \u202eeteled"' in text.stdout
    markdown = run_cli("plan", directory, "--prune", "--format", "markdown", env=env)
    assert raw_characters(markdown.output) == []
    assert r'<b><code>"Bidi \u202eeteled"</code></b>' in markdown.stdout
    unmanaged = run_cli("plan", directory, env=env)
    assert raw_characters(unmanaged.output) == []
    assert r'? "Hide me\u001b[1A\u001b[2K"' in unmanaged.stdout
    data = json.loads(run_cli("plan", directory, "--prune", "--format", "json", env=env).stdout)
    assert {a["name"] for a in data["actions"] if a["action"] == "delete"} == {
        HIDING,
        TITLING,
        REVERSED,
    }


def test_apply_report_and_stale_plan_escape_live_names(
    emulator: EmulatorServer, raw: RawApi, tmp_path: Path
) -> None:
    stage(raw)
    directory = write_manifests(tmp_path / "m", [ca("Kept")])
    env = env_for(emulator.url)
    saved = tmp_path / "p.json"
    assert run_cli("plan", directory, "--prune", "--out", saved, env=env).exit_code == 0
    changed = raw.by_name()[HIDING]["id"]
    raw.update(changed, HIDING, SESSIONS, description="changed meanwhile")
    stale = run_cli("apply", "--plan", saved, directory, env=env)
    assert stale.exit_code == 1
    assert "plan is stale" in stale.stderr
    assert raw_characters(stale.output) == []
    applied = run_cli("apply", directory, "--prune", "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output
    assert raw_characters(applied.output) == []
    assert r'✓ delete "Title\u001b]0;all good\u0007"' in applied.stdout  # with the plan (issue 12)


def test_export_notes_escape_live_names(
    emulator: EmulatorServer, raw: RawApi, tmp_path: Path
) -> None:
    ca_id = raw.create(REVERSED, SESSIONS)
    raw.activate(ca_id)
    weekly = {**SESSIONS, "time_period": {"type": "within", "within": 7, "within_unit": "days"}}
    raw.update(ca_id, REVERSED, weekly, description="a stray draft")
    directory = write_manifests(tmp_path / "m", [])
    result = run_cli("export", directory, "--out", tmp_path / "out", env=env_for(emulator.url))
    assert result.exit_code == 0, result.output
    assert raw_characters(result.output) == []
    assert r'"Bidi \u202eeteled" has an unactivated draft' in result.stderr


def test_server_error_text_is_escaped(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path, [ca("A")])
    refusal = answering(400, "bad request \x1b[2J\x1b[31mall fine\u202e")
    with running(refusal) as server:
        result = run_cli("plan", directory, env=env_for(server.url))
    assert result.exit_code == 1
    assert r"bad request \x1b[2J\x1b[31mall fine\u202e" in result.stderr
    assert raw_characters(result.output) == []


def escaped(path: Path) -> str:
    """A path as a message names it: its escape character written as `\\x1b`."""
    return str(path).replace("\x1b", "\\x1b")


def test_folder_names_in_notes_are_escaped(tmp_path: Path) -> None:
    """A folder named with an escape sequence (a checkout's, or one a script passes) reached
    the terminal raw in the notes that name a folder without it being an error: the saved
    plan's, the export's, `reconciler test`'s and the plan's test-file warning."""
    folder = tmp_path / HIDING
    directory = write_manifests(folder / "m", [ca("A")])
    shown = escaped(directory)
    saved = run_cli("plan", directory, "--out", directory / "p.json")
    assert saved.exit_code == 0, saved.output
    assert raw_characters(saved.output) == []
    assert f"Saved the plan to {shown}/p.json; apply it with" in saved.stderr
    exported = run_cli("export", directory, "--out", folder / "out")
    assert exported.exit_code == 0, exported.output
    assert raw_characters(exported.output) == []
    assert f"calculated attributes to {escaped(folder / 'out')}." in exported.stdout
    tested = run_cli("test", directory)
    assert raw_characters(tested.output) == []
    assert f"no test files (*.test.yaml) below {shown}" in tested.stderr
    (directory / "a.test.yaml").write_text("users: {alice: {}}\nexpect: {bob: {A: 1}}\n")
    warned = run_cli("plan", directory)
    assert "the plan shows no value diffs" in warned.stderr, warned.output
    assert raw_characters(warned.output) == []
    assert f"`reconciler test {shown}` lists every problem." in warned.stderr
