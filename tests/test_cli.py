"""The command line a Terraform user expects (SPEC §4): exit codes mapped in one place
(usage errors 1, a bug 3, Ctrl-C 130, and 2 only for `plan --detailed-exitcode`),
`--version` and `-h` everywhere, the global flags after the command too, and bad input
(paths, ports, URLs, damaged files) a named user error, never "a bug"."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import typer
from typer.core import TyperGroup, TyperOption

from reconciler import __version__
from reconciler.cli import app
from reconciler.settings import Settings
from tests.support.cli import run_cli, run_process
from tests.support.emulator import EmulatorServer
from tests.support.workspace import SESSIONS, ca, checkpointed, write_manifests

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return write_manifests(tmp_path / "m", [ca("Sessions", SESSIONS)])


def test_global_flags_follow_the_command_too(workspace: Path) -> None:
    """`plan --detailed-exitcode --no-color` exited 2 (a usage error), which a drift job
    reads as "changes"."""
    result = run_cli("plan", workspace, "--detailed-exitcode", "--no-color")
    assert result.exit_code == 2, result.output  # changes: the CA is not created yet
    assert "Plan: 1 to create" in result.stdout
    assert run_cli("apply", workspace, "--auto-approve", "--no-color").exit_code == 0
    assert run_cli("plan", workspace, "--no-color", "--detailed-exitcode").exit_code == 0
    assert run_cli("--no-color", "plan", workspace, "--detailed-exitcode").exit_code == 0


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--no-such-flag"],
        ["plan", "--format", "yaml"],
        ["plan", "--workspace-id", "abc"],
        ["apply", "--concurrency", "0"],
        ["seed"],
        ["no-such-command"],
        ["emulator", "--port", "99999"],
        [],
    ],
    ids=lambda args: " ".join(args) or "nothing",
)
def test_usage_errors_exit_1_never_2(args: list[str]) -> None:
    """Nothing but `plan --detailed-exitcode` exits 2, so a drift job can trust it."""
    result = run_cli(*args)
    assert result.exit_code == 1, result.output
    assert "Usage: reconciler" in result.stderr
    if args:
        assert result.stderr.startswith("Error: "), result.stderr
        assert "--help` for every option" in result.stderr
        assert "\n\n" not in result.stderr.strip()  # one paragraph


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_version_and_h_work_everywhere(command: str) -> None:
    words = [command] if command else []
    version = run_cli(*words, "--version")
    assert (version.exit_code, version.stdout) == (0, f"reconciler {__version__}\n")
    for flag in ("-h", "--help"):
        helped = run_cli(*words, flag)
        assert helped.exit_code == 0, helped.output
        assert helped.stdout.startswith(f"Usage: reconciler {command}".rstrip())
        assert "--no-color" in helped.stdout
        assert "--debug" in helped.stdout


def test_no_command_summary_in_the_help_is_cut_short() -> None:
    """`reconciler --help` cut every long summary at Click's short-help limit (`validate
    Check manifests offline: every error at once, each with...`): each command's first
    line is a sentence of its own, within Click's default limit of 45 characters (what a
    terminal of about 60 columns leaves), its detail in a second paragraph."""
    helped = run_cli("--help", env={"COLUMNS": "80"})
    listing = helped.stdout.split("\nCommands:\n", 1)[1]
    summaries = dict(line.strip().split(None, 1) for line in listing.splitlines() if line.strip())
    assert sorted(summaries) == COMMANDS
    assert [line for line in summaries.values() if line.endswith("...")] == []
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    for name, command in group.commands.items():
        assert command.get_short_help_str(45) == summaries[name], name
        assert summaries[name].endswith("."), name


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["seed", "x.jsonl", "--rate", "nan"], "'--rate': must be a finite number, not nan"),
        (
            ["seed", "x.jsonl", "--rate-ceiling", "inf"],
            "'--rate-ceiling': must be a finite number, not inf",
        ),
        (
            ["seed", "x.jsonl", "--seed-wait", "-inf"],
            "'--seed-wait': must be a finite number, not -inf",
        ),
        (["apply", "--seed-wait", "NaN"], "'--seed-wait': must be a finite number, not NaN"),
        (
            ["apply", "--wait", "--wait-timeout", "1e400"],
            "'--wait-timeout': must be a finite number, not 1e400 (beyond a float)",
        ),
        # The range, as the README writes it (not 1e+07), and the value given.
        (
            ["seed", "x.jsonl", "--rate", "1e9"],
            "'--rate': must be between 0.01 and 10000000, not 1e9",
        ),
        (["apply", "--seed-wait", "-1"], "'--seed-wait': must be at least 0, not -1"),
        (["seed", "x.jsonl", "--rate", "fast"], "'--rate': 'fast' is not a number"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_a_float_flag_says_a_number_is_not_finite(args: list[str], said: str) -> None:
    """`--rate nan` was answered "Input should be less than or equal to 10000000"."""
    result = run_cli(*args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: Invalid value for {said}\n"), result.stderr


def test_every_env_flag_says_its_default() -> None:
    """`test --help` showed `--env <str>` with no default, unlike every other command."""
    having = [c for c in COMMANDS if "--env" in run_cli(c, "--help").stdout]
    assert set(having) >= {"validate", "test", "plan", "apply", "export", "seed"}
    for command in having:
        helped = " ".join(run_cli(command, "--help").stdout.split())
        assert "--env NAME" in helped, command
        assert "(default: RECONCILER_ENV, else" in helped, command


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["plan", "--workspace-id", "0"], "must be between 1 and 9223372036854775807, not 0"),
        (
            ["apply", "--workspace-id", str(2**63)],
            f"must be between 1 and 9223372036854775807, not {2**63}",
        ),
        (["export", "--workspace-id", "ten"], "'ten' is not a whole number"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_a_workspace_id_out_of_range_is_refused_by_its_flag(args: list[str], said: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: Invalid value for '--workspace-id': {said}\n")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_names_what_a_number_flag_takes_not_its_type(command: str) -> None:
    """--help showed `--workspace-id <int range>  Workspace id.  [1<=x<=9223372036854775807]`
    and `--rate <float range> ... [0.01<=x<=10000000.0]`: Typer's names for the types and
    its notation for ranges, where the README writes `--concurrency N`."""
    helped = run_cli(command, "--help").stdout
    assert " range>" not in helped
    assert "9223372036854775807" not in helped
    assert "<=x" not in helped  # `[default: 8; 1<=x<=64]`: the range is said in words
    assert ".0]" not in helped  # the emulator's float knobs showed `[default: 270.0]`


@pytest.mark.parametrize(
    ("command", "flag", "said"),
    [
        ("apply", "--concurrency", "N CAs changed at once (1 to 64). [default: 8]"),
        ("seed", "--concurrency", "N Requests in flight (1 to 64). [default: 8]"),
        ("seed", "--batch-size", "N Users per request (1 to 1000, and under 256 KB)."),
        ("emulator", "--port", "PORT Port (0 to 65535; 0 picks a free one). [default: 8080]"),
        ("emulator", "--seed-limit", "second (0 or more; 0: none). [default: 270]"),
    ],
)
def test_help_says_a_whole_number_flags_range_in_words(command: str, flag: str, said: str) -> None:
    """`--concurrency N  CAs changed at once.  [default: 8; 1<=x<=64]`: Typer's notation,
    where the float flags and the README say `1 to 64`."""
    helped = " ".join(run_cli(command, "--help").stdout.split())
    entry = helped.partition(f" {flag} ")[2].partition(" --")[0]
    assert said in entry, helped


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["apply", "--concurrency", "0"], "must be between 1 and 64, not 0"),
        (["apply", "--concurrency", "65"], "must be between 1 and 64, not 65"),
        (["seed", "x.jsonl", "--concurrency", "65"], "must be between 1 and 64, not 65"),
        (["seed", "x.jsonl", "--batch-size", "0"], "must be between 1 and 1000, not 0"),
        (["seed", "x.jsonl", "--batch-size", "1001"], "must be between 1 and 1000, not 1001"),
        (["emulator", "--port", "-1"], "must be between 0 and 65535, not -1"),
        (["emulator", "--port", "65536"], "must be between 0 and 65535, not 65536"),
    ],
)
def test_a_whole_number_flag_out_of_its_range_is_refused(args: list[str], said: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 1, result.output
    assert said in result.stderr, result.stderr


def test_a_whole_number_flag_takes_the_ends_of_its_range(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("workspace_id: 1\n")
    (tmp_path / "users.jsonl").write_text("")
    for size, concurrency in (("1", "1"), ("1000", "64")):
        result = run_cli(
            "seed",
            tmp_path / "users.jsonl",
            tmp_path,
            "--dry-run",
            "--batch-size",
            size,
            "--concurrency",
            concurrency,
        )
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "emulator"])
def test_help_names_the_values_a_flag_takes(command: str) -> None:
    """`plan --help` showed `--format <str>` and `--target <str>`; the README writes
    `--format text|markdown|json`. (The emulator's free-text flags are strings.) `seed
    --help` showed `--environment <development|production>` and `--format <text|json>`,
    Typer's form for a choice, where the other commands and the README write the choices
    bare."""
    helped = run_cli(command, "--help").stdout
    assert "<str>" not in helped
    assert re.findall(r"<[\w-]+\|[^>]*>", helped) == []


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["plan", "--format", "xml"], "use text, markdown or json"),
        (["seed", "s.jsonl", "--format", "xml"], "use text or json"),
        (["seed", "s.jsonl", "--environment", "prod"], "use development or production"),
    ],
)
def test_a_flag_of_choices_names_them_in_one_wording(args: list[str], said: str) -> None:
    """`seed --format xml` answered `Value error, 'xml' is not one of 'text', 'json'.`:
    pydantic's prefix on Typer's check of an Enum, where plan says `use text, markdown or
    json`."""
    result = run_cli(*args)
    assert result.exit_code == 1
    assert said in result.stderr
    assert "Value error" not in result.stderr


def test_test_help_names_its_paths_as_the_synopsis_does() -> None:
    """`test --help` showed `Usage: reconciler test [OPTIONS] [PATH]...` and `PATH
    <list[Path]>`, Typer's names for a list of paths, where the README's synopsis reads
    `reconciler test [DIR | FILE...]`: one directory, or test files."""
    helped = run_cli("test", "--help").stdout
    assert "Usage: reconciler test [OPTIONS] [DIR | FILE...]\n" in helped, helped
    arguments = helped.split("Arguments:\n")[1].split("Options:")[0]
    assert arguments.split()[:4] == ["DIR", "|", "FILE...", "A"], arguments
    assert "PATH" not in helped
    assert "<list" not in helped
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "### `reconciler test [DIR | FILE...]`" in readme
    refused = run_cli("test", "a.test.yaml", "manifests")
    assert refused.exit_code == 1
    assert "Invalid value for 'DIR | FILE...': give one manifest directory" in refused.stderr


def _reference(command: str) -> tuple[str, str]:
    """The README's synopsis of `command` (its heading, `reconciler seed FILE [DIR]`, without
    `reconciler seed`) and the text of its section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    heading = re.search(rf"^### `reconciler {command}( [^`]*)?`\n", readme, re.MULTILINE)
    assert heading is not None, command
    end = re.compile(r"^##", re.MULTILINE).search(readme, heading.end())
    return (heading[1] or "").strip(), readme[heading.end() : end.start() if end else None]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_usage_line_reads_as_the_readme_synopsis(command: str) -> None:
    """The usage lines read `show [OPTIONS] {PLANFILE}`, `seed [OPTIONS] {file} [directory]`
    and `plan [OPTIONS] [directory]` (Typer's braces for a required argument, and the names
    of the function's parameters), where the README's synopses read `show PLANFILE`, `seed
    FILE [DIR]`, `plan [DIR]`. An option the synopsis names (`apply [DIR | --plan FILE]`)
    is among the usage line's [OPTIONS]."""
    synopsis, _ = _reference(command)
    arguments = re.sub(r" \| --[\w-]+ [A-Z]+", "", synopsis)
    usage = run_cli(command, "--help").stdout.splitlines()[0]
    assert usage == f"Usage: reconciler {command} [OPTIONS] {arguments}".rstrip()


@pytest.mark.parametrize("command", COMMANDS)
def test_no_help_shows_a_type_label(command: str) -> None:
    """Every parameter says what it takes as the README does (`DIR`, `--out FILE`, `--host
    HOST`): --help showed `directory <path>`, `--junit <path>` and the emulator's `--host
    <str>`, `--client-id <str>`, Typer's names for the types."""
    helped = run_cli(command, "--help").stdout
    assert re.findall(r"<\w+>", helped) == [], helped


def _path_options() -> list[tuple[str, str, str | None]]:
    """(command, flag, metavar) of every option that takes a path."""
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    return [
        (name, param.opts[0], param.metavar)
        for name, command in sorted(group.commands.items())
        for param in command.params
        if isinstance(param, TyperOption) and param.type_descriptor.annotation is Path
    ]


@pytest.mark.parametrize(("command", "flag", "metavar"), _path_options())
def test_help_names_a_path_flags_value_as_the_readme_does(
    command: str, flag: str, metavar: str | None
) -> None:
    """--help showed `--out <path>`, `--rejects <path>`, Typer's name for the type, where
    the README writes `--out FILE` (`export --out DIR`) and `--rejects FILE`."""
    assert metavar in ("FILE", "DIR"), (command, flag)
    helped = run_cli(command, "--help").stdout
    assert re.search(rf"^  {flag} {metavar} ", helped, re.MULTILINE), helped
    assert f"`{flag} {metavar}`" in _reference(command)[1], (command, flag)


def test_debug_after_the_command_shows_the_traceback_of_a_bug(
    monkeypatch: pytest.MonkeyPatch, workspace: Path
) -> None:
    from reconciler import manifest

    def broken(directory: Path) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(manifest, "load", broken)
    plain = run_cli("plan", workspace)
    assert plain.exit_code == 3
    assert "Traceback" not in plain.output
    assert "This is a bug in reconciler" in plain.stderr
    debugged = run_cli("plan", workspace, "--debug")
    assert debugged.exit_code == 3
    assert "Traceback (most recent call last)" in debugged.stderr


def test_ctrl_c_exits_130(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> None:
    from reconciler import manifest

    def interrupted(directory: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(manifest, "load", interrupted)
    result = run_cli("validate", workspace)
    assert result.exit_code == 130
    assert result.stderr == "Error: interrupted\n"


@pytest.mark.parametrize(
    ("command", "args", "paused"),
    [
        ("plan", (), True),
        ("validate", (), True),
        ("apply", ("--auto-approve",), False),
    ],
)
def test_the_collector_pauses_for_a_plan_and_is_back_after_it(
    monkeypatch: pytest.MonkeyPatch,
    workspace: Path,
    command: str,
    args: tuple[str, ...],
    paused: bool,
) -> None:
    """A plan and a validate read their input once and build no cyclic garbage to speak of:
    no collection runs while they do (a warm plan of 10,000 CAs spent 30 ms in them). An
    apply sends a request a CA, each leaving garbage only a collection frees, so it keeps
    collecting; and every command leaves the collector as it found it."""
    import gc
    import importlib

    module = importlib.import_module(f"reconciler.commands.{command}")
    seen: list[bool] = []

    def body(*given: object) -> int:
        seen.append(gc.isenabled())
        return 0

    monkeypatch.setattr(module, "run", body)
    assert gc.isenabled()
    result = run_cli(command, workspace, *args)
    assert result.exit_code == 0, result.stderr
    assert seen == [not paused]
    assert gc.isenabled()


def test_ctrl_c_before_the_command_body_still_says_interrupted(
    monkeypatch: pytest.MonkeyPatch, workspace: Path
) -> None:
    """Ctrl-C while a command imports what it needs, before its body runs (a few tenths of
    a second): Typer ended the run with 130 and nothing on stderr."""
    from reconciler.cli import plans

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(plans, "flags_from", interrupted)
    result = run_cli("apply", workspace, "--auto-approve")
    assert result.exit_code == 130
    assert result.stderr == "Error: interrupted\n"


def test_a_user_error_stays_exit_1_with_debug(workspace: Path) -> None:
    result = run_cli("plan", workspace, "--debug", env={"RECONCILER_RETRY_ATTEMPTS": "abc"})
    assert result.exit_code == 1
    assert "RECONCILER_RETRY_ATTEMPTS='abc'" in result.stderr


# Bad paths: each a named user error (exit 1), and nothing half-done.


def test_plan_out_naming_a_directory_is_refused_before_planning(
    workspace: Path, tmp_path: Path
) -> None:
    """It printed "unexpected IsADirectoryError ... This is a bug" and left `DIR.tmp`."""
    out = tmp_path / "plans"
    out.mkdir()
    result = run_cli("plan", workspace, "--out", out)
    assert result.exit_code == 1
    assert result.stderr == f"Error: --out {out}: is a directory; name a file to write\n"
    assert result.stdout == ""  # refused before anything was planned
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "plans"]
    assert list(out.iterdir()) == []


def test_plan_out_that_cannot_be_written_is_named_and_leaves_nothing(
    workspace: Path, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("x")
    under_a_file = run_cli("plan", workspace, "--out", tmp_path / "file" / "plan.json")
    assert under_a_file.exit_code == 1
    assert f"{tmp_path / 'file'} is a file, not a directory" in under_a_file.stderr
    unwritable = run_cli("plan", workspace, "--out", "/proc/x/y")
    assert unwritable.exit_code == 1
    assert unwritable.stderr.startswith("Error: --out /proc/x/y: cannot write it: ")
    # Refused before planning: nothing planned, nothing printed (root passes os.access).
    assert unwritable.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "m"]


def test_plan_out_removes_what_a_killed_plan_left_and_keeps_a_running_one(
    workspace: Path, tmp_path: Path
) -> None:
    """A plan killed between writing its temporary file and renaming it (SIGKILL, a lost
    CI runner) left `.plan.json.<pid>.<hex>.tmp` for `git add -A` to commit, forever."""
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        out = tmp_path / "plan.json"
        # The pid of a process that ended (none reuses it this soon) and of one that runs.
        dead = tmp_path / f".plan.json.{_ended_pid()}.0123456789ab.tmp"
        alive = tmp_path / f".plan.json.{running.pid}.0123456789ab.tmp"
        other = tmp_path / f".other.json.{_ended_pid()}.0123456789ab.tmp"
        for path in (dead, alive, other):
            path.write_text("{")
        result = run_cli("plan", workspace, "--out", out)
        assert result.exit_code == 0, result.output
        left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
        assert left == sorted([alive.name, other.name])  # another file's, and a writer's
        assert out.read_bytes().startswith(b"{\n")
    finally:
        running.kill()
        running.wait()


def _ended_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_plan_out_is_written_whole(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "plan.json"
    result = run_cli("plan", workspace, "--out", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"{")
    assert [p.name for p in out.parent.iterdir()] == ["plan.json"]  # no temporary file left


def test_plan_out_through_a_symbolic_link_replaces_its_target_and_keeps_the_link(
    workspace: Path, tmp_path: Path
) -> None:
    """The rename put a regular file in place of the link (and, run as root, in place of
    `/dev/stdout` itself)."""
    (tmp_path / "real.json").write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to("real.json")
    result = run_cli("plan", workspace, "--out", link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    assert (tmp_path / "real.json").read_bytes().startswith(b'{\n  "format_version": 2')


def test_plan_out_in_a_shared_folder_never_writes_through_a_planted_link(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temporary file had a predictable name (`.plan.json.<pid>.tmp`) and was opened
    following links: another user of a shared folder (/tmp) who planted a link there had
    the plan written over the file it pointed to."""
    shared = tmp_path / "shared"
    shared.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    monkeypatch.setattr(os, "getpid", lambda: 4242)
    (shared / ".plan.json.4242.tmp").symlink_to(victim)
    out = shared / "plan.json"
    result = run_cli("plan", workspace, "--out", out)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "keep me\n"
    assert out.read_bytes().startswith(b'{\n  "format_version": 2')
    assert not out.is_symlink()
    # Its mode is what the umask allows, as for any file the user's shell writes.
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_plan_out_into_a_pipe_writes_through_it(workspace: Path, tmp_path: Path) -> None:
    """`--out` a named pipe (or a device) is written as a shell's `>` writes it: the rename
    replaced the pipe with a regular file and its reader got nothing."""
    pipe = tmp_path / "plan.pipe"
    os.mkfifo(pipe)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # a reader waits on the pipe
    try:
        result = run_cli("plan", workspace, "--out", pipe)
        assert result.exit_code == 0, result.output
        assert stat.S_ISFIFO(pipe.stat().st_mode)
        assert os.read(reader, 64).startswith(b'{\n  "format_version": 2')
    finally:
        os.close(reader)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "plan.pipe"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("plan", "{m}", "--out", "{loop}"), "--out {loop}: cannot write it"),
        (("seed", "{loop}", "{m}"), "cannot read the seed file {loop}"),
        (("seed", "{seeds}", "{m}", "--checkpoint", "{loop}"), "--checkpoint {loop}: cannot"),
        (
            ("export", "{m}", "--out", "{loop}"),
            "--out {loop}: cannot write in it: it is a symbolic link to loop, which leads to "
            "no folder (a loop, or nothing)",
        ),
    ],
    ids=["plan-out", "seed-file", "seed-checkpoint", "export-out"],
)
def test_a_symbolic_link_loop_is_a_named_user_error(
    workspace: Path, tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    """Python 3.11's Path.resolve raises RuntimeError on a link loop: "unexpected
    RuntimeError: Symlink loop ... This is a bug" (exit 3)."""
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("")
    names = {"m": workspace, "loop": loop, "seeds": seeds}
    result = run_cli(*(arg.format(**names) for arg in args))
    assert result.exit_code == 1, result.output
    assert said.format(**names) in result.stderr
    assert "bug" not in result.stderr
    assert loop.is_symlink()


def test_emulator_db_in_a_folder_that_is_not_there_is_refused_not_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--db /typo/dir/x.db` made every folder of the mistyped path and served from there;
    sqlite3 itself refuses such a path."""
    from reconciler.commands import emulator

    def serve(config: object, sock: socket.socket, **kwargs: object) -> None:
        sock.close()  # taken flags stop here instead of serving

    monkeypatch.setattr(emulator, "serve", serve)
    db = tmp_path / "typo" / "dir" / "x.db"
    result = run_cli("emulator", "--port", "0", "--db", db)
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr == (
        f"Error: --db {db}: no such directory {db.parent}; the emulator makes a new database "
        "file, not the folders above it: make the folder first, or name a file in one that "
        "exists\n"
    )
    assert not (tmp_path / "typo").exists()
    (tmp_path / "typo" / "dir").mkdir(parents=True)
    assert run_cli("emulator", "--port", "0", "--db", db).exit_code == 0
    assert db.is_file()


def test_emulator_bad_port_host_and_database_are_user_errors(tmp_path: Path) -> None:
    port = run_cli("emulator", "--port", "99999")
    assert port.exit_code == 1
    assert "Invalid value for '--port'" in port.stderr
    host = run_cli("emulator", "--host", "no such host.invalid", "--port", "0")
    assert host.exit_code == 1
    assert host.stderr.startswith("Error: cannot listen on no such host.invalid:0: ")
    empty = run_cli("emulator", "--host", "", "--port", "0")  # was: every interface
    assert (empty.exit_code, empty.stdout) == (1, ""), empty.output
    assert empty.stderr.startswith(
        "Error: Invalid value for '--host': '' would listen on every interface; "
    )
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"not a database, not even close" * 200)
    db = run_cli("emulator", "--port", "0", "--db", damaged)
    assert db.exit_code == 1
    assert f"--db {damaged}: cannot use it as the emulator's database" in db.stderr
    assert "file is not a database" in db.stderr
    short = tmp_path / "notes.txt"  # shorter than SQLite's header: SQLite wrote over it
    short.write_bytes(b"keep me\n")
    refused = run_cli("emulator", "--port", "0", "--db", short)
    assert refused.exit_code == 1
    assert "file is not a database" in refused.stderr
    assert short.read_bytes() == b"keep me\n"
    latency = run_cli("emulator", "--latency-ms", "nan")
    assert latency.exit_code == 1
    assert latency.stderr.startswith(
        "Error: Invalid value for '--latency-ms': must be a finite number, not nan\n"
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://[::1", "is not a URL (Invalid IPv6 URL)"),
        ("http://127.0.0.1:99999", "is not a URL (Port out of range 0-65535)"),
        ("api.mparticle.com", "is not an http:// or https:// URL"),
        ("https://", "names no host"),
        ("https://api.mparticle.com/\x1b[31m", "holds a space or a control character"),
    ],
)
def test_a_junk_url_is_named_not_a_bug(workspace: Path, url: str, problem: str) -> None:
    env = {"MPARTICLE_CLIENT_ID": "x", "MPARTICLE_CLIENT_SECRET": "y", "MPARTICLE_API_URL": url}
    result = run_cli("plan", workspace, env=env)
    assert result.exit_code == 1
    shown = url.replace("\x1b", "\\x1b")
    assert result.stderr.startswith(f"Error: MPARTICLE_API_URL='{shown}' {problem}"), result.stderr


def test_a_junk_url_in_reconciler_yaml_is_located(tmp_path: Path) -> None:
    directory = write_manifests(tmp_path, [ca("A")], {"auth_url": "sso.auth.mparticle.com"})
    result = run_cli("validate", directory)
    assert result.exit_code == 1
    assert "reconciler.yaml:1:" in result.stderr
    assert "auth_url: 'sso.auth.mparticle.com' is not an http:// or https:// URL" in result.stderr


def test_a_url_holding_a_password_is_refused_without_showing_it(
    workspace: Path, tmp_path: Path
) -> None:
    """`https://user:password@host` was taken, and every error naming the host showed the
    password (`POST http://user:hunter2pass@...`), as would the plan file's api_url."""
    env = {
        "MPARTICLE_CLIENT_ID": "x",
        "MPARTICLE_CLIENT_SECRET": "y",
        "MPARTICLE_API_URL": "http://user:hunter2pass@127.0.0.1:9/api",
        "RECONCILER_RETRY_ATTEMPTS": "1",
    }
    result = run_cli("plan", workspace, env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: MPARTICLE_API_URL='http://***@127.0.0.1:9/api' holds a user name or password"
    )
    in_file = write_manifests(tmp_path / "f", [ca("A")], {"api_url": "https://u:pw-x@h.test"})
    located = run_cli("validate", in_file)
    assert located.exit_code == 1
    assert "api_url: 'https://***@h.test' holds a user name or password" in located.stderr
    assert "hunter2pass" not in result.output + located.output
    assert "pw-x" not in located.output


def test_plain_http_to_another_host_warns_that_secrets_travel_unencrypted(
    workspace: Path,
) -> None:
    env = {
        "MPARTICLE_CLIENT_ID": "x",
        "MPARTICLE_CLIENT_SECRET": "y",
        "MPARTICLE_API_URL": "http://127.0.0.1:1",
        "MPARTICLE_AUTH_URL": "http://192.0.2.1:1/oauth/token",  # TEST-NET: never routed
        "RECONCILER_RETRY_ATTEMPTS": "1",
        "RECONCILER_REQUEST_TIMEOUT": "0.5",
    }
    result = run_cli("plan", workspace, env=env)
    assert result.exit_code == 1
    assert (
        "Warning: auth_url http://192.0.2.1:1/oauth/token is plain http:// to another machine: "
        "the credentials and the workspace's data travel unencrypted; use https://"
    ) in result.stderr
    assert "api_url" not in result.stderr  # loopback: a local emulator


class Gateway(httpx.AsyncBaseTransport):
    """The network as the CLI sees it: the emulator on loopback, and `attacker.example`,
    whose requests are recorded and passed to the emulator (a gateway in front of it); no
    other host. Every request the command makes is counted, wherever it goes."""

    def __init__(self, emulator: EmulatorServer) -> None:
        self.emulator = httpx.URL(emulator.url)
        self.network = httpx.AsyncHTTPTransport(retries=0)
        self.sent: list[httpx.Request] = []
        self.attacker: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        if request.url.host == "attacker.example":
            self.attacker.append(request)
            url = request.url.copy_with(
                scheme="http", host=self.emulator.host, port=self.emulator.port
            )
            request = httpx.Request(
                request.method, url, headers=request.headers, content=request.content
            )
        elif request.url.host != self.emulator.host:
            raise httpx.ConnectError("the test reaches no other host", request=request)
        return await self.network.handle_async_request(request)

    async def aclose(self) -> None:
        await self.network.aclose()


@pytest.fixture
def gateway(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Gateway:
    """The CLI's network seam (`transport_for`): a Gateway to `emulator` for the target
    mparticle (the embedded target's in-process emulator is no network)."""
    from reconciler.api import transports

    routed = Gateway(emulator)
    embedded = transports.transport_for

    def transport_for(settings: Settings) -> httpx.AsyncBaseTransport:
        return embedded(settings) if settings.target == "embedded" else routed

    monkeypatch.setattr(transports, "transport_for", transport_for)
    return routed


def test_reconciler_yaml_cannot_send_the_credentials_to_a_host_the_environment_does_not_trust(
    tmp_path: Path, emulator: EmulatorServer, gateway: Gateway
) -> None:
    """`auth_url` in reconciler.yaml (which a pull request can change) sent the client id
    and secret to any host it named; `plan` must refuse before sending anything."""
    directory = write_manifests(
        tmp_path / "m",
        [ca("Sessions", SESSIONS)],
        {"api_url": emulator.url, "auth_url": "https://attacker.example/oauth/token"},
    )
    env = {"MPARTICLE_CLIENT_ID": "emulator", "MPARTICLE_CLIENT_SECRET": "emulator"}
    for command in (["plan"], ["apply", "--auto-approve"], ["export", "--out", tmp_path / "x"]):
        result = run_cli(*command, directory, env=env)
        assert result.exit_code == 1, result.output
        assert "reconciler.yaml:1:" in result.stderr
        assert " auth_url: " in result.stderr
        assert "attacker.example is neither mParticle's" in result.stderr
        assert "RECONCILER_TRUSTED_HOSTS=attacker.example" in result.stderr
    assert (gateway.sent, gateway.attacker, emulator.log()) == ([], [], [])
    validated = run_cli("validate", directory, env=env)
    assert validated.exit_code == 1
    assert "attacker.example is neither mParticle's" in validated.stderr

    # The environment, not the repository, may choose the host: the allow-list, or the URL.
    for allowed in (
        {"RECONCILER_TRUSTED_HOSTS": "attacker.example"},
        {"MPARTICLE_AUTH_URL": "https://attacker.example/oauth/token"},
    ):
        result = run_cli("plan", directory, env={**env, **allowed})
        assert result.exit_code == 0, result.output
        assert "Plan: 1 to create" in result.stdout
    assert [request.url.path for request in gateway.attacker] == ["/oauth/token"] * 2
    assert run_cli("validate", directory, env={**env, **allowed}).exit_code == 0


def test_env_all_names_every_environment_s_untrusted_url_before_any_request(
    tmp_path: Path, gateway: Gateway
) -> None:
    directory = write_manifests(
        tmp_path / "m",
        [ca("Sessions", SESSIONS)],
        {
            "target": "mparticle",
            "environments": {
                "dev": {"workspace_id": 1, "api_url": "http://api.mparticle.com"},
                "prod": {"workspace_id": 2, "auth_url": "https://attacker.example/t"},
            },
        },
    )
    env = {"MPARTICLE_CLIENT_ID": "emulator", "MPARTICLE_CLIENT_SECRET": "emulator"}
    result = run_cli("plan", directory, "--env", "all", env=env)
    assert result.exit_code == 1, result.output
    assert "Error: 2 errors in manifests:" in result.stderr
    assert " environments.dev.api_url: 'http://api.mparticle.com'" in result.stderr
    assert " environments.prod.auth_url: 'https://attacker.example/t'" in result.stderr
    assert gateway.sent == []


def test_apply_plan_checks_the_promotion_source_s_urls_before_any_request(
    tmp_path: Path, gateway: Gateway
) -> None:
    """`apply --plan` reaches the promotion gate's source during the apply: its URLs are
    checked with the plan's own, before the plan's workspace is even listed."""
    environments = {
        "default_environment": "dev",
        "environments": {
            "dev": {"workspace_id": 111},
            "staging": {"workspace_id": 222},
            "prod": {"workspace_id": 333, "promote_from": "staging"},
        },
    }
    directory = write_manifests(tmp_path / "m", [ca("A")], environments)
    saved = tmp_path / "prod.json"
    planned = run_cli("plan", directory, "--env", "prod", "--allow", "promotion", "--out", saved)
    assert planned.exit_code == 0, planned.output
    environments["environments"]["staging"] = {  # type: ignore[index]
        "workspace_id": 222,
        "target": "mparticle",
        "auth_url": "https://attacker.example/oauth/token",
    }
    write_manifests(directory, [ca("A")], environments)
    env = {"MPARTICLE_CLIENT_ID": "emulator", "MPARTICLE_CLIENT_SECRET": "emulator"}
    refused = run_cli("apply", "--plan", saved, "--allow", "promotion", env=env)
    assert refused.exit_code == 1, refused.output
    assert " environments.staging.auth_url: 'https://attacker.example/oauth/token'" in (
        refused.stderr
    )
    assert "attacker.example is neither mParticle's" in refused.stderr
    assert gateway.sent == []


def test_a_checkpoint_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    from tests.support.seeds import MANIFESTS, users, write_jsonl

    seeds = write_jsonl(tmp_path / "seeds.jsonl", users(3))
    result = run_cli("seed", seeds, MANIFESTS, "--checkpoint", tmp_path, "--dry-run")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        f"Error: --checkpoint {tmp_path} is a directory: name a file to record confirmed batches\n"
    )


def _damage_past_the_header(database: Path) -> None:
    """Overwrite the pages after the first: the file still opens, reading a table fails."""
    checkpointed(database)
    with database.open("r+b") as file:
        file.seek(4096)
        file.write(b"\xff" * 8192)


def _damage_bytes(database: Path, find: bytes, replace: bytes) -> None:
    """Replace the first `find` in the checkpointed file (same length: pages stay whole)."""
    checkpointed(database)
    data = bytearray(database.read_bytes())
    at = data.index(find)
    data[at : at + len(find)] = replace
    database.write_bytes(bytes(data))


def _damage(database: Path, how: str) -> None:
    if how in ("garbage", "short"):
        for path in database.parent.iterdir():  # with its write-ahead log, as after a crash
            path.unlink()
        # "short": cut below SQLite's header, which SQLite took for an empty database and
        # wrote a new one over, without a word (found by tests/resilience/).
        database.write_bytes(b"garbage\n" * 100 if how == "garbage" else b"S")
    elif how == "pages":
        _damage_past_the_header(database)
    elif how == "schema":  # the schema's text no longer UTF-8: a UnicodeDecodeError, "a bug"
        _damage_bytes(database, b"CREATE TABLE", b"CREATE\x80TABLE")
    else:  # a stored definition that no longer parses: a JSONDecodeError, "a bug"
        _damage_bytes(database, b'{"recipe_type"', b'#"recipe_type"')


def test_an_embedded_database_another_command_holds_is_in_use_not_damaged(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that waited out SQLite's busy timeout (another apply, or `reconciler
    emulator --db`, writing) was reported as a damaged database, with the advice to move
    it away: the embedded workspace's only copy."""
    import sqlite3

    from reconciler.emulator import store

    assert run_cli("apply", workspace, "--auto-approve").exit_code == 0
    write_manifests(workspace, [ca("Sessions", SESSIONS, description="edited")])
    database = workspace / ".reconciler" / "emulator.db"
    monkeypatch.setattr(store, "FIRST_WAIT_MS", 50)
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as a command that is writing holds it
    try:
        result = run_cli("apply", workspace, "--auto-approve")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1, result.output
    shown = " ".join(result.stderr.split())
    assert (
        f"the embedded workspace's database {database} is in use: another command (or "
        "`reconciler emulator --db`) kept it locked for over 0.2 s. Run this command again "
        "once the other has finished." in shown
    )
    assert "is in use by another process (a command or a server writing to it)" in shown
    assert "waiting up to 0.15 s more" in shown  # the wait was announced first
    assert "damaged" not in result.stderr
    assert "Move it away" not in result.stderr
    # Once the other has finished, the same command goes through.
    assert run_cli("apply", workspace, "--auto-approve").exit_code == 0
    assert run_cli("plan", workspace, "--detailed-exitcode").exit_code == 0


def test_waiting_for_another_command_s_write_is_announced_then_goes_on(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's busy timeout kept a command waiting up to 10 s without a word."""
    import sqlite3
    import threading

    from reconciler.emulator import store

    assert run_cli("apply", workspace, "--auto-approve").exit_code == 0
    write_manifests(workspace, [ca("Sessions", SESSIONS, description="edited")])
    monkeypatch.setattr(store, "FIRST_WAIT_MS", 50)
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 60_000)  # ample: the other ends long before
    holder = sqlite3.connect(
        workspace / ".reconciler" / "emulator.db", isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")

    def finish() -> None:  # the other command ends
        holder.execute("ROLLBACK")
        holder.close()

    finished = threading.Timer(0.5, finish)
    finished.start()
    try:
        result = run_cli("apply", workspace, "--auto-approve")
    finally:
        finished.join()
    assert result.exit_code == 0, result.output
    assert "is in use by another process" in result.stderr
    assert "waiting up to 59.95 s more" in " ".join(result.stderr.split())
    assert run_cli("plan", workspace, "--detailed-exitcode").exit_code == 0


@pytest.mark.parametrize("how", ["garbage", "short", "pages", "schema", "json"])
def test_a_damaged_embedded_database_is_a_named_user_error(workspace: Path, how: str) -> None:
    """It printed "unexpected DatabaseError ... This is a bug"; the file is left as it is."""
    assert run_cli("apply", workspace, "--auto-approve").exit_code == 0
    database = workspace / ".reconciler" / "emulator.db"
    _damage(database, how)
    before = database.read_bytes()
    result = run_cli("plan", workspace)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(
        f"Error: the embedded workspace's database {database} is damaged or is not an "
        "emulator database ("
    )
    assert "Move it away to start an empty embedded workspace" in result.stderr
    assert "\n\n" not in result.stderr.strip()
    assert database.read_bytes() == before


def _foreign_database(path: Path) -> bytes:
    """A SQLite database of another program (a browser's, say); its bytes."""
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE moz_cookies (host TEXT, value TEXT)")
        connection.execute("INSERT INTO moz_cookies VALUES ('example.com', 'session')")
    connection.close()
    return path.read_bytes()


def test_emulator_db_naming_another_program_s_database_leaves_it_untouched(
    tmp_path: Path,
) -> None:
    """`emulator_db` (a pull request's reconciler.yaml may set it, `../` and all) naming
    another program's SQLite database: plan added the emulator's tables to it and switched
    it to WAL. It is refused, and the file is left byte for byte."""
    other = tmp_path / "profile" / "cookies.sqlite"
    other.parent.mkdir()
    before = _foreign_database(other)
    directory = write_manifests(
        tmp_path / "m", [ca("A")], {"emulator_db": "../profile/cookies.sqlite"}
    )
    result = run_cli("plan", directory)
    assert result.exit_code == 1, result.output
    assert "is a SQLite database of another program (its tables: moz_cookies)" in result.stderr
    assert "Set emulator_db in reconciler.yaml to a file of its own" in result.stderr
    assert "bug" not in result.stderr
    assert other.read_bytes() == before
    assert sorted(path.name for path in other.parent.iterdir()) == ["cookies.sqlite"]
    served = run_cli("emulator", "--port", "0", "--db", other)
    assert served.exit_code == 1
    assert "is a SQLite database of another program" in served.stderr
    assert other.read_bytes() == before


#: Starts the console script as installed, with Ctrl-C arriving while typer is imported
#: (an import hook raises it where the signal would): deterministic, unlike a timed signal.
CTRL_C_WHILE_LOADING = """
import sys
class Interrupting:
    def find_spec(self, name, path=None, target=None):
        if name == "typer":
            raise KeyboardInterrupt
        return None
sys.meta_path.insert(0, Interrupting())
sys.argv = ["reconciler", "--help"]
from reconciler.cli import main
main()
"""


def test_ctrl_c_while_the_command_line_loads_says_interrupted_not_a_traceback() -> None:
    command = [sys.executable, "-c", CTRL_C_WHILE_LOADING]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr, done.stdout) == (130, "Error: interrupted\n", "")


def test_a_stdout_in_a_legacy_code_page_shows_escapes_and_json_stays_utf8(
    tmp_path: Path,
) -> None:
    """A Windows console redirected to a file (cp1252), or `LANG=C`: `✓` and a CA named in
    Japanese cannot be encoded there. The plan and the apply report say so with escapes
    instead of stopping with "a bug" half-way; JSON is written as UTF-8, which it is."""
    name = "Sessions 会員"
    directory = write_manifests(
        tmp_path / "m", [ca(name)], {"target": "embedded", "emulator_db": "db.sqlite"}
    )
    legacy = {"PYTHONIOENCODING": "cp1252"}
    planned = run_process("plan", directory, env=legacy)
    assert planned.exit_code == 0, planned.output
    assert '+ create "Sessions \\u4f1a\\u54e1"' in planned.stdout
    as_json = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", str(directory), "--format", "json"],
        env={**os.environ, "RECONCILER_CACHE_DIR": "", **legacy},
        capture_output=True,
        check=False,
    )
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout.decode("utf-8"))["actions"][0]["name"] == name
    applied = run_process("apply", directory, "--auto-approve", env=legacy)
    assert applied.exit_code == 0, applied.output
    assert '\\u2713 create "Sessions \\u4f1a\\u54e1"' in applied.stdout


def test_plan_out_keeps_a_look_alike_of_a_temporary_file_whose_pid_is_no_pid(
    workspace: Path, tmp_path: Path
) -> None:
    """A file named like a temporary one but with a number no process id can be made the
    write fail with "unexpected OverflowError ... This is a bug in reconciler"."""
    out = tmp_path / "plan.json"
    odd = tmp_path / f".plan.json.{10**20}.0123456789ab.tmp"
    odd.write_text("{")
    result = run_cli("plan", workspace, "--out", out)
    assert result.exit_code == 0, result.output
    assert odd.exists()
    assert out.read_bytes().startswith(b"{\n")
