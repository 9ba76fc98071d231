"""Junk in `.reconcilerignore`: gitignore syntax at its edges (a bare `!`, a trailing `\\`,
`**`, unclosed `[`), text that breaks things, bytes that are no UTF-8. `validate` ends with
exit 0 (the patterns hold, and the manifest is read or ignored) or exit 1 naming each bad
line of the ignore file, never a traceback. Bounded: in-process, one small manifest.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.resilience.junk import FUZZ, nasty_text
from tests.support.cli import run_cli
from tests.support.workspace import SESSIONS, ca, write_manifests

EDGES = ["!", "\\", "a\\", "**", "/", "[", "[a-", "#", " ", "cas.yaml", "*.yaml", "!cas.yaml"]
ignore_files = st.one_of(
    st.lists(st.one_of(st.sampled_from(EDGES), nasty_text), max_size=6).map(
        lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")
    ),
    st.binary(max_size=40),
)
LOCATED = re.compile(r"  \S*\.reconcilerignore:\d+:1: ")


@settings(FUZZ, max_examples=60)
@given(content=ignore_files)
def test_a_junk_ignore_file_is_a_located_error_or_holds(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as name:
        directory = write_manifests(Path(name), [ca("Sessions", SESSIONS)])
        (directory / ".reconcilerignore").write_bytes(content)
        result = run_cli("validate", directory)
        assert "Traceback" not in result.output, result.output
        assert result.exit_code in (0, 1), result.output
        if result.exit_code == 0:
            assert re.search(r"\b[01] calculated attributes? in [01] files?", result.stdout), (
                result.stdout
            )
            return
        head, *issues = result.stderr.rstrip("\n").split("\n")
        assert re.fullmatch(r"Error: \d+ errors? in manifests:", head), result.stderr
        assert issues, result.stderr
        assert all(LOCATED.match(issue) for issue in issues), result.stderr
