"""A damaged embedded database (`.reconciler/emulator.db`): cut short by a full disk, bytes
overwritten by a crash or a bad copy, a header from another program, a directory where the
file should be. Whatever the damage, every command that opens it (plan, apply, export,
seed) ends with exit 0 or 1, never 3 ("a bug") nor a traceback; a failure is one paragraph
that names the database, and the damaged file is left exactly as it was (it may be all the
user has). Damage SQLite cannot see (a changed byte in a stored name) may go unnoticed:
exit 0 is allowed. (An empty file is no damage: it is a new, empty workspace.)

What it found, each now a case of tests/test_cli.py: a file cut below SQLite's header
taken for an empty database and written over; schema text and stored JSON that no longer
decode ("a bug"); and the previous command's database connection, never closed, locking
the next in-process command out for 10 s (tests/api/test_transports.py).

Bounded: a two-CA workspace applied once per example, 30 examples (DAMAGE_EXAMPLES=N for
more), in-process, ≈ 3 s.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.resilience.junk import FUZZ
from tests.support.cli import Result, run_cli
from tests.support.workspace import PURCHASES, SESSIONS, ca, checkpointed, write_manifests

#: The commands that read the embedded database, as run (`{ws}`: the workspace).
COMMANDS = {
    "plan": ["plan", "{ws}"],
    "apply": ["apply", "{ws}", "--auto-approve"],
    "export": ["export", "{ws}", "--out", "{out}"],
    "seed": ["seed", "{seeds}", "{ws}"],
}
SEED = {
    "mpid": 1,
    "environment": "development",
    "calculated_attributes": {"workspace": [{"attribute_name": "LTV", "seed": {"value": 5}}]},
}


@st.composite
def damages(draw: st.DrawFn) -> tuple[str, int, bytes]:
    """(how, where, what): truncate at, overwrite at with bytes, or replace the file."""
    how = draw(st.sampled_from(["truncate", "overwrite", "header", "directory"]))
    where = draw(st.integers(min_value=0, max_value=3 * 4096))
    what = draw(st.binary(min_size=1, max_size=600))
    return how, where, what


def damage(database: Path, how: str, where: int, what: bytes) -> None:
    data = database.read_bytes()
    if how == "truncate":
        database.write_bytes(data[: 1 + where % (len(data) - 1)])
    elif how == "overwrite":
        at = where % max(len(data), 1)
        database.write_bytes(data[:at] + what + data[at + len(what) :])
    elif how == "header":  # another program's file, or an encrypted copy
        database.write_bytes(what[:16].ljust(16, b"\0") + data[16:])
    else:
        database.unlink()
        database.mkdir()


def applied(root: Path) -> Path:
    """A workspace applied once, its database checkpointed into one file."""
    workspace = write_manifests(root / "m", [ca("LTV", PURCHASES), ca("Sessions", SESSIONS)])
    assert run_cli("apply", workspace, "--auto-approve").exit_code == 0
    checkpointed(workspace / ".reconciler" / "emulator.db")
    return workspace


def snapshot(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def check(result: Result, command: str, database: Path) -> None:
    assert result.exit_code in (0, 1), (command, result.exit_code, result.output)
    assert "This is a bug" not in result.stderr, (command, result.stderr)
    assert "Traceback" not in result.output, (command, result.output)
    if result.exit_code == 1:
        assert str(database) in result.stderr, (command, result.stderr)
        assert "\n\n" not in result.stderr.strip(), (command, result.stderr)


@settings(FUZZ, max_examples=int(os.environ.get("DAMAGE_EXAMPLES", "30")))
@given(command=st.sampled_from(sorted(COMMANDS)), harm=damages())
def test_a_damaged_database_is_a_named_user_error_and_is_left_as_it_is(
    command: str, harm: tuple[str, int, bytes]
) -> None:
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        workspace = applied(root)
        (root / "seeds.jsonl").write_text(json.dumps(SEED) + "\n")
        database = workspace / ".reconciler" / "emulator.db"
        damage(database, *harm)
        before = snapshot(database)
        places = {
            "{ws}": str(workspace),
            "{out}": str(root / "out"),
            "{seeds}": str(root / "seeds.jsonl"),
        }
        result = run_cli(*[places.get(word, word) for word in COMMANDS[command]])
        event(f"{command} {harm[0]} exit {result.exit_code}")
        check(result, command, database)
        if result.exit_code == 1:
            assert snapshot(database) == before, (command, harm[0])
