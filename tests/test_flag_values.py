"""Every flag given a value it cannot take is refused in the project's words (SPEC §4): the
flag named, what it takes, the value given, the usage line and where help is, exit 1; no
pydantic wording ("Input should be a valid number", "Value error, ..."), no traceback.

One table over the flags: a row per flag and kind of bad value (not a number, out of its
range, not one of its choices, an empty path or credential, no value at all), each with the
exact first line the user reads; and every option of every command, read from the command
line's own definition (so that a flag added tomorrow is among them), given text that is no
number. Every path parameter, read from that definition too, has its row for an empty path.
"""

from __future__ import annotations

import shlex
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup

from reconciler.cli import GLOBAL_OPTIONS, app
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> dict[str, Any]:
    """Every command, by name (click's commands: Typer names their class privately)."""
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    return dict(sorted(group.commands.items()))


def _options() -> list[tuple[str, str]]:
    """Every option that takes a value, as (command, flag)."""
    return [
        (name, param.opts[0])
        for name, command in _commands().items()
        for param in command.params
        if param.param_type_name == "option"
        and not getattr(param, "is_flag", False)
        and param.name not in GLOBAL_OPTIONS
    ]


def _path_parameters() -> set[tuple[str, str]]:
    """Every parameter that takes a path, as (command, its name in an error: the flag, or
    the argument's metavar)."""
    return {
        (name, param.opts[0] if param.param_type_name == "option" else param.metavar or param.name)
        for name, command in _commands().items()
        for param in command.params
        if param.type_descriptor.annotation in (Path, list[Path])
    }


OPTIONS = _options()
#: The arguments a command needs before its flags are read (none of them need exist).
NEEDS = {"seed": ["users.jsonl"], "show": ["plan.json"], "emulator": ["--port", "0"]}

#: pydantic's and Python's words, which the command line never shows for a flag's value.
FOREIGN = ("Input should", "Value error", "unable to parse", "Traceback", "This is a bug")


def refused(flag: str, why: str) -> str:
    return f"Invalid value for '{flag}': {why}"


#: An empty path (`"$UNSET_VAR"`): Typer read it as `Path('')`, the current folder.
NO_PATH = "'' names no file or folder"

#: An empty emulator credential, which the reconciler reads as unset.
NO_CREDENTIAL = (
    "'' is a credential no client can send (the reconciler reads an empty one as unset); "
    "name one (the default is emulator)"
)


#: (arguments, the first line after "Error: "). `{file}` is a plain file.
REFUSALS = [
    # plan, apply and show: one parser for --format, the words seed's --format uses.
    (["plan", "--format", "xml"], refused("--format", "use text, markdown or json")),
    (["apply", "--format", "yaml"], refused("--format", "use text or json")),
    (["show", "plan.json", "--format", ""], refused("--format", "use text, markdown or json")),
    (["export", "--target", "prod"], refused("--target", "use embedded or mparticle")),
    # A flag that needs another is named in the same form.
    (
        ["apply", "--wait-timeout", "5"],
        refused("--wait-timeout", "only means something with --wait"),
    ),
    (["apply", "--seed-wait", "5"], refused("--seed-wait", "only means something with --seeds")),
    (["seed", "s.jsonl", "--target", "x"], refused("--target", "use embedded or mparticle")),
    # The emulator's numbers, which pydantic refused ("Input should be a valid number,
    # unable to parse string as a number") and the command then checked in other words.
    (["emulator", "--latency-ms", "abc"], refused("--latency-ms", "'abc' is not a number")),
    (["emulator", "--latency-ms", "-1"], refused("--latency-ms", "must be at least 0, not -1")),
    (
        ["emulator", "--latency-ms", "1e400"],
        refused("--latency-ms", "must be a finite number, not 1e400 (beyond a float)"),
    ),
    (["emulator", "--rate-limit", "fast"], refused("--rate-limit", "'fast' is not a number")),
    (["emulator", "--rate-limit", "0"], refused("--rate-limit", "must be above 0, not 0")),
    (["emulator", "--fault-rate", ""], refused("--fault-rate", "'' is not a number")),
    (["emulator", "--fault-rate", "2"], refused("--fault-rate", "must be between 0 and 1, not 2")),
    (["emulator", "--fault-seed", "1.5"], refused("--fault-seed", "'1.5' is not a whole number")),
    (["emulator", "--max-active", "ten"], refused("--max-active", "'ten' is not a whole number")),
    (["emulator", "--max-active", "-1"], refused("--max-active", "must be at least 0, not -1")),
    (
        ["emulator", "--retention-days", "nan"],
        refused("--retention-days", "'nan' is not a whole number"),
    ),
    (
        ["emulator", "--retention-days", "99999999999999999999"],  # served 500s on dates
        refused("--retention-days", "must be between 0 and 36500, not 99999999999999999999"),
    ),
    (
        ["emulator", "--calculation-seconds", "soon"],
        refused("--calculation-seconds", "'soon' is not a number"),
    ),
    (
        ["emulator", "--calculation-seconds", "nan"],
        refused("--calculation-seconds", "must be a finite number, not nan"),
    ),
    (["emulator", "--token-ttl", "1e3"], refused("--token-ttl", "'1e3' is not a whole number")),
    (
        ["emulator", "--token-ttl", "0"],
        refused("--token-ttl", "must be between 1 and 1000000000, not 0"),
    ),
    (
        ["emulator", "--token-ttl", "99999999999999999999"],  # every token request: 500
        refused("--token-ttl", "must be between 1 and 1000000000, not 99999999999999999999"),
    ),
    (["emulator", "--seed-limit", "many"], refused("--seed-limit", "'many' is not a number")),
    (["emulator", "--seed-limit", "-1"], refused("--seed-limit", "must be at least 0, not -1")),
    (
        ["emulator", "--acceleration-limit", "x"],
        refused("--acceleration-limit", "'x' is not a number"),
    ),
    (
        ["emulator", "--acceleration-limit", "-5"],
        refused("--acceleration-limit", "must be at least 0, not -5"),
    ),
    (["emulator", "--live-traffic", "half"], refused("--live-traffic", "'half' is not a number")),
    (
        ["emulator", "--live-traffic", "1"],
        refused("--live-traffic", "must be at least 0 and below 1, not 1"),
    ),
    (["emulator", "--limit-window", "abc"], refused("--limit-window", "'abc' is not a number")),
    (["emulator", "--limit-window", "0"], refused("--limit-window", "must be above 0, not 0")),
    (
        ["emulator", "--propagation-delay", "abc"],
        refused("--propagation-delay", "'abc' is not a number"),
    ),
    (
        ["emulator", "--propagation-delay", "-1"],
        refused("--propagation-delay", "must be at least 0, not -1"),
    ),
    (
        ["emulator", "--workspace-id", "abc"],
        refused("--workspace-id", "'abc' is not a whole number"),
    ),
    (
        ["emulator", "--workspace-id", "-3"],
        refused("--workspace-id", "must be between 1 and 9223372036854775807, not -3"),
    ),
    (
        ["emulator", "--workspace-id", str(2**63)],  # seeding answered 500 (SQLite's integers)
        refused("--workspace-id", f"must be between 1 and 9223372036854775807, not {2**63}"),
    ),
    # An empty path, on every path parameter (`test_every_path_parameter_has_its_row` holds
    # the list whole). Before: `plan --out ''` said `--out .: is a directory`, `test ''`
    # nine errors about `.`, `apply ''` applied the current folder's manifests.
    (["validate", ""], refused("DIR", NO_PATH)),
    (["test", ""], refused("DIR | FILE...", NO_PATH)),
    (["test", "a.test.yaml", ""], refused("DIR | FILE...", NO_PATH)),
    (["test", "--junit", ""], refused("--junit", NO_PATH)),
    (["plan", ""], refused("DIR", NO_PATH)),
    (["plan", "--out", ""], refused("--out", NO_PATH)),
    (["plan", "--seeds", ""], refused("--seeds", NO_PATH)),
    (["apply", ""], refused("DIR", NO_PATH)),
    (["apply", "--plan", ""], refused("--plan", NO_PATH)),
    (["apply", "--seeds", ""], refused("--seeds", NO_PATH)),
    (["show", ""], refused("PLANFILE", NO_PATH)),
    (["export", ""], refused("DIR", NO_PATH)),
    (["export", "--out", ""], refused("--out", NO_PATH)),
    (["seed", ""], refused("FILE", NO_PATH)),
    (["seed", "s.jsonl", ""], refused("DIR", NO_PATH)),
    (["seed", "s.jsonl", "--rejects", ""], refused("--rejects", NO_PATH)),
    (["seed", "s.jsonl", "--checkpoint", ""], refused("--checkpoint", NO_PATH)),
    (["emulator", "--port", "0", "--db", ""], refused("--db", NO_PATH)),
    # The emulator's text flags given nothing: a host the system reads as every interface,
    # credentials no client can send (they were taken, and every sign-in then failed).
    (
        ["emulator", "--port", "0", "--host", ""],
        refused(
            "--host",
            "'' would listen on every interface; name one (the default is 127.0.0.1; 0.0.0.0 "
            "listens on every interface on purpose)",
        ),
    ),
    (
        ["emulator", "--port", "0", "--host", " "],
        refused(
            "--host",
            "' ' names no interface; name one (the default is 127.0.0.1; 0.0.0.0 listens on "
            "every interface on purpose)",
        ),
    ),
    (["emulator", "--port", "0", "--client-id", ""], refused("--client-id", NO_CREDENTIAL)),
    (["emulator", "--port", "0", "--client-secret", ""], refused("--client-secret", NO_CREDENTIAL)),
    (["emulator", "--port", "0", "--api-key", ""], refused("--api-key", NO_CREDENTIAL)),
    (["emulator", "--port", "0", "--api-secret", ""], refused("--api-secret", NO_CREDENTIAL)),
    # No value at all: click's parser said so without the usage line every other error has.
    (["plan", "--format"], "Option '--format' requires an argument."),
    (["show", "plan.json", "--format"], "Option '--format' requires an argument."),
    (["seed", "s.jsonl", "--checkpoint"], "Option '--checkpoint' requires an argument."),
    (["emulator", "--port"], "Option '--port' requires an argument."),
    (["apply", "--force=yes"], "Option '--force' does not take a value."),
    # A path below a file: the reason was mkdir's "File exists".
    (
        ["emulator", "--port", "0", "--db", "{file}/x.db"],
        "--db {file}/x.db: cannot use it as the emulator's database ({file} is a file, not a "
        "directory); name a new file, or an emulator database that is not damaged",
    ),
]


@pytest.fixture(autouse=True)
def no_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    """An emulator whose flags were taken stops instead of serving (and the row fails)."""
    from reconciler.commands import emulator

    def serve(config: object, sock: socket.socket, **kwargs: object) -> None:
        sock.close()

    monkeypatch.setattr(emulator, "serve", serve)


@pytest.mark.parametrize(("args", "said"), REFUSALS, ids=[shlex.join(args) for args, _ in REFUSALS])
def test_a_bad_flag_value_is_refused_in_our_words(
    tmp_path: Path, args: list[str], said: str
) -> None:
    file = tmp_path / "a-file"
    file.write_text("")
    result = run_cli(*(arg.format(file=file) for arg in args))
    assert result.exit_code == 1, result.output
    first, *rest = result.stderr.splitlines()
    assert first == f"Error: {said.format(file=file)}", result.stderr
    if said.startswith(("Invalid value for", "Option '")):  # a usage error: usage, help follow
        assert rest[0].startswith(f"Usage: reconciler {args[0]} "), result.stderr
        assert rest[1] == f"See `reconciler {args[0]} --help` for every option.", result.stderr
    assert [word for word in FOREIGN if word in result.output] == []


@pytest.mark.parametrize(("command", "flag"), OPTIONS, ids=[" ".join(row) for row in OPTIONS])
def test_no_flag_answers_in_pydantic_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, flag: str
) -> None:
    """`emulator --latency-ms abc` said "Input should be a valid number, unable to parse
    string as a number": Typer's check of a float, in pydantic's words."""
    monkeypatch.chdir(tmp_path)  # no manifests here: a flag that takes text ends the run soon
    result = run_cli(command, *NEEDS.get(command, []), flag, "abc")
    assert result.exit_code in (0, 1), result.output
    assert [word for word in FOREIGN if word in result.output] == [], result.output


def test_every_path_parameter_has_its_row() -> None:
    """Each parameter that takes a path refuses an empty one, in the table above: a path
    flag added tomorrow needs its row."""
    rows = {
        (args[0], said.removeprefix("Invalid value for '").partition("'")[0])
        for args, said in REFUSALS
        if said.endswith(NO_PATH)
    }
    assert _path_parameters() == rows


def test_a_global_flag_given_a_value_shows_the_usage_line() -> None:
    """`reconciler --debug=1 plan`: click's parser said so with no usage line, unlike every
    other usage error."""
    result = run_cli("--debug=1", "plan")
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        "Error: Option '--debug' does not take a value.",
        "Usage: reconciler [OPTIONS] COMMAND [ARGS]...",
        "See `reconciler --help` for every option.",
    ]


def test_an_empty_path_is_refused_and_one_of_spaces_is_a_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--junit ''` is no file (it was read as `.`, and refused after the tests ran as "is
    a directory"); `--junit ' '` names a file, odd as it is, as the system has it."""
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    monkeypatch.chdir(tmp_path)
    empty = run_cli("test", "manifests", "--junit", "")
    assert empty.exit_code == 1, empty.output
    assert empty.stdout == ""  # refused before any test ran
    assert empty.stderr.startswith(f"Error: {refused('--junit', NO_PATH)}\n"), empty.stderr
    spaces = run_cli("test", "manifests", "--junit", " ")
    assert spaces.exit_code == 0, spaces.output
    assert (tmp_path / " ").read_text().startswith("<?xml")


def test_an_empty_credential_is_refused_and_one_of_spaces_is_taken() -> None:
    """The reconciler sends a credential of spaces (only an empty one reads as unset), so
    the emulator takes one too."""
    empty = run_cli("emulator", "--port", "0", "--api-key", "")
    assert empty.exit_code == 1, empty.output
    spaces = run_cli("emulator", "--port", "0", "--api-key", " ")
    assert spaces.exit_code == 0, spaces.output
