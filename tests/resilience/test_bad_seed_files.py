"""Bad seed files: whatever a JSONL or CSV seed file holds, `reconciler seed` ends with
exit 0 (every user valid, all sent) or exit 1 naming each invalid user at `file:line`, never
with a traceback, and a file with any invalid user sends no request at all (the emulator
server it points at counts every request)."""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.resilience.junk import FUZZ, JUNK_BYTES, junk_values, nasty_text, paths
from tests.seeding.conftest import API_KEY, API_SECRET, WORKSPACE_ID, cli_env
from tests.support.cli import Result, run_cli
from tests.support.emulator import EmulatorServer, running_emulator
from tests.support.seeds import CSV_COLUMNS, MANIFESTS, create_workspace, csv_row, user

LOCATED = re.compile(r"^  (?P<file>\S*?seeds\.(jsonl|csv)):(?P<line>\d+): ")


@pytest.fixture(scope="module")
def seeding_server() -> Iterator[EmulatorServer]:
    """One server for every example: its workspace holds the seeding manifests' CAs."""
    with running_emulator(
        workspace_id=WORKSPACE_ID, api_key=API_KEY, api_secret=API_SECRET
    ) as server:
        create_workspace(server.url, server.token(), WORKSPACE_ID)
        yield server


@st.composite
def damaged_users(draw: st.DrawFn) -> Any:
    """A valid user with a few nodes replaced, dropped, added or renamed."""
    body: Any = user(draw(st.integers(0, 10_000)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(body)))
        if not path:
            body = draw(junk_values)
            continue
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        how = draw(st.sampled_from(["replace", "drop", "add", "rename"]))
        if how == "replace":
            parent[path[-1]] = draw(junk_values)
        elif how == "drop":
            del parent[path[-1]]
        elif how == "add" and isinstance(parent, dict):
            parent[draw(nasty_text)] = draw(junk_values)
        elif how == "rename" and isinstance(parent, dict):
            parent[draw(nasty_text)] = parent.pop(path[-1])
    return body


def _line(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")


jsonl_lines = st.one_of(
    st.integers(0, 10_000).map(lambda i: _line(user(i))),
    damaged_users().map(_line),
    damaged_users().map(_line),
    nasty_text.map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=40),
)


@st.composite
def jsonl_files(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(jsonl_lines, min_size=1, max_size=6))
    raw = b"\n".join(lines) + draw(st.sampled_from([b"\n", b"", b"\r\n"]))
    if draw(st.integers(0, 4)) == 0:
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut] + draw(JUNK_BYTES) + raw[cut:]
    return raw


def _csv_line(cells: list[str]) -> str:
    """RFC 4180 with every cell quoted: any text, NUL included (Python 3.10's csv writer
    refuses NUL, so the files are written by hand)."""
    return ",".join('"' + cell.replace('"', '""') + '"' for cell in cells) + "\r\n"


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header = list(CSV_COLUMNS)
    how = draw(st.sampled_from(["keep", "keep", "drop", "rename", "duplicate", "add"]))
    at = draw(st.integers(0, len(header) - 1))
    rows = [csv_row(user(draw(st.integers(0, 10_000)))) for _ in range(draw(st.integers(1, 5)))]
    if how == "drop":
        del header[at]
        rows = [row[:at] + row[at + 1 :] for row in rows]
    elif how == "rename":
        header[at] = draw(nasty_text)
    elif how == "duplicate":
        header.append(header[at])
        rows = [[*row, row[at]] for row in rows]
    elif how == "add":
        header.append(draw(nasty_text))
        rows = [[*row, draw(nasty_text)] for row in rows]
    for _ in range(draw(st.integers(0, 4))):
        row = draw(st.integers(0, len(rows) - 1))
        cell = draw(st.integers(0, len(rows[row])))
        junk = draw(st.one_of(nasty_text, junk_values.map(lambda v: json.dumps(v, default=str))))
        if cell == len(rows[row]) or draw(st.booleans()):
            rows[row] = [*rows[row][:cell], junk, *rows[row][cell:]]  # a ragged row
        else:
            rows[row][cell] = junk
    raw = "".join(_csv_line(cells) for cells in [header, *rows]).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 4)) == 0:
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut] + draw(JUNK_BYTES) + raw[cut:]
    return raw


def _raw_controls(text: str) -> list[str]:
    """Characters that would act on a terminal rather than show (see test_bad_input)."""
    return [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]


def _check(result: Result, directory: Path) -> None:
    """Exit 0, or exit 1 with one `Error:` paragraph in which every line after the first is
    one invalid user at file:line (or the count of those not shown)."""
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 0:
        return
    head, *issues = result.stderr[result.stderr.index("Error: ") :].rstrip("\n").split("\n")
    assert "; nothing was sent" in head, result.stderr
    assert issues, result.stderr
    for issue in issues:
        assert not _raw_controls(issue), issue
        if re.fullmatch(r"  \.\.\. and \d+ more .*", issue):
            continue
        match = LOCATED.match(issue)
        assert match, f"not located at file:line: {issue!r}"
        assert Path(match["file"]).parent == directory, issue


def _seed(server: EmulatorServer, content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        path = directory / f"seeds.{suffix}"
        path.write_bytes(content)
        before = server.stats()["total"]
        result = run_cli("seed", path, MANIFESTS, "--format", "json", env=cli_env(server))
        _check(result, directory)
        sent = server.stats()["total"] - before
        if result.exit_code == 1:
            assert sent == 0, f"a seed file with invalid users sent {sent} request(s)"
        elif json.loads(result.stdout)["users"]["sent"]:
            assert sent > 0  # the counter sees what a run sends


@FUZZ
@given(content=jsonl_files())
def test_bad_jsonl_seed_files_are_located_and_send_nothing(
    seeding_server: EmulatorServer, content: bytes
) -> None:
    _seed(seeding_server, content, "jsonl")


@settings(FUZZ, max_examples=80)
@given(content=csv_files())
def test_bad_csv_seed_files_are_located_and_send_nothing(
    seeding_server: EmulatorServer, content: bytes
) -> None:
    _seed(seeding_server, content, "csv")
