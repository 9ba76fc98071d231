"""Junk on the command line and in the environment: every flag of every command (read from
the command line's own definition, so a new flag is fuzzed the day it exists) and every
environment variable the settings read (an environment's own `MPARTICLE_<ENV>_` ones too,
in a workspace that defines environments), each given junk: text that is no number, numbers
out of every range, NaN and infinities, escape sequences, paths that are a directory, a
file, missing or unwritable, URLs that lead nowhere.

Whatever the junk, a run ends with exit 0 or 1 (2 only for `plan --detailed-exitcode`),
never 3 ("a bug"), never a traceback, and what it says on stderr is one paragraph. Bounded:
in-process, the embedded target, a two-CA workspace, a one-user seed file, short retries
and a 10 s deadline unless the junk itself sets them, and `reconciler emulator` stops as
soon as it would serve (the server itself is tested in tests/emulator/).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import event, given, settings
from hypothesis import strategies as st

from reconciler.cli import GLOBAL_OPTIONS, app
from reconciler.settings import ENVIRONMENT_VARIABLES
from tests.resilience.junk import FUZZ
from tests.support.cli import Result, run_cli
from tests.support.workspace import PURCHASES, SESSIONS, ca, write_manifests

#: Every command and its options, as the command line defines them.
COMMANDS: dict[str, Any] = dict(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
#: Stand-ins, replaced per run by real paths of its own temporary directory.
PLACES = ("{ws}", "{dir}", "{file}", "{missing}", "{manifest}", "{seeds}", "{deep}/x/y")
JUNK = [
    "",
    " ",
    "-",
    "abc",
    "0",
    "-1",
    "1",
    "0.01",
    "2",
    "1e-300",
    "1e400",
    "nan",
    "inf",
    "-inf",
    "99999999999999999999",
    "0x10",
    "\x1b[31mred",
    "\u202eevil",
    "é🙂",
    "all",
    "prod",
    "embedded",
    "mparticle",
    "json",
    "markdown",
    "threshold",
    "*",
    "/proc/x/y",
    "http://",
    "ftp://x",
    "http://127.0.0.1:1",
    "https://[::1",
    "not a url",
    *PLACES,
]
#: The values these options may take stay small, so a run stays short whatever is drawn.
BOUNDED = {"--wait-timeout": ["0", "0.01", "-1", "abc", "nan"], "--port": ["0", "-1", "99999"]}
#: The environments of a workspace that defines them, and what each one's own
#: `MPARTICLE_<ENV>_<KEY>` variables may set (settings/resolved.py reads these keys so).
ENVIRONMENTS = {
    "environments": {"dev": {}, "prod": {"workspace_id": 7}},
    "default_environment": "dev",
}
PREFIXED_KEYS = ("WORKSPACE_ID", "CLIENT_ID", "CLIENT_SECRET", "API_KEY", "API_SECRET")
PREFIXED = [f"MPARTICLE_{env}_{key}" for env in ("DEV", "PROD") for key in PREFIXED_KEYS]
#: What every run starts from, unless the junk sets these too: short retries and deadline.
QUICK = {
    "RECONCILER_RETRY_ATTEMPTS": "2",
    "RECONCILER_RETRY_MAX_WAIT": "0.05",
    "RECONCILER_REQUEST_TIMEOUT": "5",
    "RECONCILER_DEADLINE": "10",
}


def _options(command: str) -> list[Any]:
    return [
        param
        for param in COMMANDS[command].params
        if param.param_type_name == "option" and param.name not in GLOBAL_OPTIONS
    ]


def _arguments(command: str) -> list[str]:
    return [p.name for p in COMMANDS[command].params if p.param_type_name == "argument"]


@st.composite
def invocations(draw: st.DrawFn) -> tuple[list[str], dict[str, str], bool]:
    """A command with junk for some of its flags and arguments, junk for some knobs, and
    whether its workspace defines environments (whose own variables get junk too)."""
    command = draw(st.sampled_from(sorted(COMMANDS)))
    args = [command]
    for name in _arguments(command):
        places = ["{seeds}"] if name == "file" else ["{ws}"]
        args.append(draw(st.sampled_from([*places * 4, "{dir}", "{file}", "{missing}"])))
    for option in draw(st.lists(st.sampled_from(_options(command)), max_size=4, unique=True)):
        flag = option.opts[0]
        args.append(flag)
        if not option.is_flag:
            args.append(draw(st.sampled_from(BOUNDED.get(flag, JUNK))))
        if flag == "--wait":
            args += ["--wait-timeout", draw(st.sampled_from(BOUNDED["--wait-timeout"]))]
    if command == "apply" and draw(st.booleans()):
        args.append("--auto-approve")
    if draw(st.integers(0, 3)) == 0:
        args.append(draw(st.sampled_from(["--no-color", "--debug", "--version", "-h"])))
    # Few knobs at a time: one bad knob stops any command, and the flags deserve their turn.
    some = st.dictionaries(
        st.sampled_from(ENVIRONMENT_VARIABLES), st.sampled_from(JUNK), max_size=2
    )
    knobs = draw(st.one_of(st.just({}), some))
    environments = draw(st.booleans())
    if environments:
        own = st.dictionaries(st.sampled_from(PREFIXED), st.sampled_from(JUNK), max_size=2)
        knobs |= draw(own)
    return args, knobs, environments


@contextmanager
def _inside(directory: Path) -> Iterator[None]:
    """Work in `directory` for a while (contextlib.chdir is Python 3.11's)."""
    before = Path.cwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(before)


@contextmanager
def _workspace(environments: bool = False) -> Iterator[dict[str, str]]:
    """A fresh directory per run, also the working directory (junk names relative paths,
    and defaults such as `exported/` are relative): a small workspace, a seed file and the
    places junk names."""
    with tempfile.TemporaryDirectory() as name, _inside(Path(name)):
        root = Path(name)
        cas = [ca("LTV", PURCHASES), ca("Sessions", SESSIONS)]
        ws = write_manifests(root / "ws", cas, ENVIRONMENTS if environments else None)
        (root / "dir").mkdir()
        (root / "file").write_text("not a plan\n")
        seeds = root / "seeds.jsonl"
        user = {"mpid": 1, "environment": "development"}
        seeds.write_text(
            json.dumps(
                {
                    **user,
                    "calculated_attributes": {
                        "workspace": [{"attribute_name": "LTV", "seed": {"value": 5}}]
                    },
                }
            )
            + "\n"
        )
        yield {
            "{ws}": str(ws),
            "{dir}": str(root / "dir"),
            "{file}": str(root / "file"),
            "{missing}": str(root / "missing"),
            "{manifest}": str(ws / "cas.yaml"),
            "{seeds}": str(seeds),
            "{deep}": str(root / "file"),
        }


def _placed(text: str, places: dict[str, str]) -> str:
    for place, path in places.items():
        text = text.replace(place, path)
    return text


def check(result: Result, args: list[str]) -> None:
    """Exit 0 or 1 (2 only for plan --detailed-exitcode), never a bug or a traceback, and
    stderr one paragraph that names the problem when the run failed."""
    allowed = {0, 1} | ({2} if args[0] == "plan" and "--detailed-exitcode" in args else set())
    assert result.exit_code in allowed, (args, result.exit_code, result.output)
    assert "This is a bug" not in result.stderr, (args, result.stderr)
    if "--debug" in args:
        return  # --debug shows tracebacks on purpose
    assert "Traceback (most recent call last)" not in result.output, (args, result.output)
    if "-h" in args or "--help" in args:
        return  # help is pages on stdout
    paragraphs = [part for part in result.stderr.strip().split("\n\n") if part.strip()]
    assert len(paragraphs) <= 1, (args, result.stderr)
    if result.exit_code == 1 and args[0] != "test":  # a failing test is a FAIL on stdout
        assert "Error: " in result.stderr, (args, result.output)


@pytest.fixture
def no_serving(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """`reconciler emulator` with good options would serve until stopped: once its port is
    bound and its database open, it stops instead (and says where it would have listened)."""
    from reconciler.commands import emulator

    served: list[int] = []

    def serve(config: object, sock: Any, **kwargs: Any) -> None:
        served.append(sock.getsockname()[1])
        sock.close()

    monkeypatch.setattr(emulator, "serve", serve)
    return served


@settings(FUZZ, max_examples=int(os.environ.get("JUNK_EXAMPLES", "60")))
@given(invocation=invocations())
def test_junk_flags_and_knobs_are_user_errors_never_bugs(
    no_serving: list[int], invocation: tuple[list[str], dict[str, str], bool]
) -> None:
    words, knobs, environments = invocation
    with _workspace(environments) as places:
        args = [_placed(word, places) for word in words]
        env = {**QUICK, **{key: _placed(value, places) for key, value in knobs.items()}}
        result = run_cli(*args, env=env)
        event(f"{words[0]} exit {result.exit_code}")
        if os.environ.get("JUNK_LOG"):  # to read what the junk met: JUNK_LOG=file pytest ...
            with open(os.environ["JUNK_LOG"], "a") as log:
                log.write(
                    f"{words} {knobs} -> {result.exit_code}: {result.stderr.strip()[:300]!r}\n"
                )
        check(result, words)


def test_the_fuzzer_drives_every_variable_the_settings_read() -> None:
    """The knobs come from settings.ENVIRONMENT_VARIABLES: every variable name written in
    the settings' source must be there (or be a prefix of an environment's own ones)."""
    package = Path(__file__).resolve().parents[2] / "reconciler"
    sources = [*sorted((package / "settings").glob("*.py")), package / "environments.py"]
    source = "".join(path.read_text() for path in sources)
    named = set(re.findall(r'"((?:RECONCILER|MPARTICLE)_[A-Z_]+)"', source))
    assert named - {"MPARTICLE_"} <= set(ENVIRONMENT_VARIABLES), named - set(ENVIRONMENT_VARIABLES)
    # An environment's own variables: the keys read after its prefix.
    prefixed = set(re.findall(r'environment_prefix\(environment\) \+ "([A-Z_]+)"', source))
    prefixed |= set(re.findall(r'secret\("([A-Z_]+)"\)', source))
    assert prefixed == set(PREFIXED_KEYS)
