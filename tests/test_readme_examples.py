"""Every command example of README.md runs, in the order written, as a reader would type
them: in a copy of the repository's examples (`manifests/`, `examples/environments/`),
embedded target, in-process; `reconciler emulator` starts a real server on loopback and
the commands after it reach it as the README says.

Examples are the ```sh and ```console blocks. A console block is a transcript: its `$ `
lines are commands, the rest is output (a block of output alone runs nothing). An sh block
with `$ ` prompts reads the same; without, every line is a command (a trailing `\\`
continues it, `#` starts a comment, `&&` chains). Blocks of other languages (yaml, the
GitHub Actions workflows) are configuration, not commands.

What this test does not run, and why (`NOT_RUN`): installing the package (`pip`,
`python3 -m venv`) — it is installed already, and would need the network; the project's
own test suite and CI script (`pytest`, `.ci/run`) — this test is part of them.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer, running_emulator

ROOT = Path(__file__).resolve().parents[1]
#: The example directories the README's commands name, copied for each run.
EXAMPLES = ("manifests", "examples/environments")
#: Programs the README shows that this test does not run (see the module docstring).
NOT_RUN = {
    "pip": "installs the package: already installed here, and needs the network",
    "pytest": "the project's own test suite, which runs this test",
    "python3": "creates a virtualenv to install into: already installed here",
    ".venv/bin/pip": "installs the package: already installed here, and needs the network",
    ".venv/bin/pytest": "the project's own test suite, which runs this test",
    ".ci/run": "CI itself, which runs this test",
}
_BLOCK = re.compile(r"^```(sh|console)\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    """One command of the README: its line, its environment assignments and its words."""

    line: int
    env: dict[str, str] = field(hash=False)
    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return shlex.join(self.words)


def _commands(language: str, block: str) -> Iterator[tuple[int, str]]:
    """(offset in lines, command) of each command line of a block, continuations joined."""
    lines = block.splitlines()
    prompted = language == "console" or any(line.startswith("$ ") for line in lines)
    pending, start = "", 0
    for number, line in enumerate(lines):
        if prompted:
            if line.startswith("$ "):
                yield number, line[2:]
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        if (pending + line).strip():
            yield start, pending + line
        pending = ""


def _examples(text: str) -> Iterator[Example]:
    for match in _BLOCK.finditer(text):
        first = text[: match.start()].count("\n") + 2
        for offset, command in _commands(match.group(1), match.group(2)):
            words = shlex.split(command, comments=True)
            while words:
                segment = words[: words.index("&&")] if "&&" in words else words
                words = words[len(segment) + 1 :]
                env = {}
                while segment and re.fullmatch(r"[A-Z_]+=.*", segment[0]):
                    name, _, value = segment.pop(0).partition("=")
                    env[name] = value
                yield Example(first + offset, env, tuple(segment))


def readme_examples() -> list[Example]:
    return list(_examples((ROOT / "README.md").read_text(encoding="utf-8")))


def test_the_parser_reads_prompts_continuations_and_chains() -> None:
    text = (
        "```sh\npip install -e . && reconciler plan manifests/   # first\n"
        "A=1 B=2 \\\n  reconciler plan x/\n```\n"
        "```console\n$ reconciler test manifests/\nPASS alice\n```\n"
        "```console\nretrying 3/12 POST https://host/path in 4 s\n```\n"
        "```yaml\nrun: reconciler apply\n```\n"
    )
    assert [(e.line, e.env, e.text) for e in _examples(text)] == [
        (2, {}, "pip install -e ."),
        (2, {}, "reconciler plan manifests/"),
        (3, {"A": "1", "B": "2"}, "reconciler plan x/"),
        (7, {}, "reconciler test manifests/"),
    ]


class Reader:
    """Runs examples one after the other in `home`, as a reader's shell would."""

    def __init__(self, home: Path, stack: ExitStack) -> None:
        self.home = home
        self.stack = stack
        self.emulator: EmulatorServer | None = None
        self.ran: list[str] = []

    def start_emulator(self, example: Example) -> None:
        """`reconciler emulator --port P ...` as a real server on a free loopback port
        (the README's port may be taken): later commands' `127.0.0.1:P` are rewritten."""
        flags = list(example.words[2:])
        options = {
            flags[i].removeprefix("--").replace("-", "_"): flags[i + 1]
            for i in range(0, len(flags), 2)
        }
        self.port = options.pop("port")
        db = self.home / options.pop("db", "emulator.db")
        # The README's flags as written (`--fault-rate 0.3`); the command parses them.
        flags_as_written: dict[str, Any] = {"seed_limit": None, **options}
        server = running_emulator(db=db, **flags_as_written)
        self.emulator = self.stack.enter_context(server)

    def env(self, example: Example) -> dict[str, str]:
        if self.emulator is None:
            return example.env
        written = f"http://127.0.0.1:{self.port}"
        return {k: v.replace(written, self.emulator.url) for k, v in example.env.items()}

    def run(self, example: Example) -> None:
        if example.words[:2] == ("reconciler", "emulator"):
            self.start_emulator(example)
            self.ran.append(example.text)
            return
        result = run_cli(*example.words[1:], env=self.env(example))
        where = f"README.md:{example.line}: {example.text}"
        assert "Traceback" not in result.output, (where, result.output)
        assert result.exit_code == 0, (where, result.output)
        self.ran.append(example.text)


def test_every_readme_example_runs_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in EXAMPLES:
        ignored = shutil.ignore_patterns(".reconciler", "exported")
        shutil.copytree(ROOT / name, tmp_path / name, ignore=ignored)
    monkeypatch.chdir(tmp_path)
    examples = readme_examples()
    with ExitStack() as stack:
        reader = Reader(tmp_path, stack)
        for example in examples:
            if example.words[0] in NOT_RUN:
                continue
            assert example.words[0] == "reconciler", f"README.md:{example.line}: unknown program"
            reader.run(example)
        # The commands after `reconciler emulator` reached that server, not the embedded one.
        assert reader.emulator is not None
        requests = reader.emulator.stats()["requests"]
        assert any("calculatedattributes" in route for route in requests), requests
    assert len(reader.ran) == len([e for e in examples if e.words[0] == "reconciler"])
    assert len(reader.ran) >= 15  # the parser found the examples (19 when written)
