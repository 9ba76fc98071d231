"""Bad-input fuzzing: whatever bytes a manifest directory holds, `validate` and `plan` end
with exit 0 (the input is valid) or exit 1 with every problem located at `file:line`, never
with a traceback, and a plan of invalid input sends no request at all (the emulator server
it points at counts every request it receives).

Inputs are generated three ways: valid CAs with parts replaced by junk of every type (wrong
types, missing fields, huge numbers and texts, unicode and control characters, deep
nesting); valid YAML text damaged at the text level (tabs, duplicated lines, stray
characters, truncation, undecodable bytes); and YAML oddities spliced in (anchors, aliases,
merge keys, tags, several documents, complex keys, alias bombs).
"""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.resilience.junk import FUZZ, damage, encoded, junk_values, nasty_text, splice_bytes
from tests.strategies import definitions
from tests.support.cli import Result, run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import env_for


@st.composite
def damaged_documents(draw: st.DrawFn) -> Any:
    """A manifest of valid CAs in which a few nodes are replaced, dropped or added."""
    cas = [
        {"name": f"CA {n}", "description": "d", "definition": draw(definitions())}
        for n in range(draw(st.integers(1, 3)))
    ]
    return damage(draw, {"calculated_attributes": json.loads(json.dumps(cas, default=str))})


VALID_TEXT = """\
calculated_attributes:
  - name: LTV
    description: Lifetime value
    definition:
      calculation_type: sum
      datapoint:
        event_name: Purchase
        event_type: commerce_event
        custom_event_type: purchase
        attribute_name: Total Amount
      conditions:
        - {type: number, operator: equals, attribute_name: Step, value: "22"}
      time_period: {type: since, date: 2019-10-01}
      seeding: {cutoff_date: 2019-10-02}
  - name: Sessions
    definition:
      calculation_type: count
      datapoint: {event_type: session_start}
      time_period: {type: within, within: 30, within_unit: days}
"""
ODDITIES = [
    "x-shared: &shared {event_type: session_start}\n",
    "      datapoint: *shared\n",
    "      datapoint: *nowhere\n",
    "      <<: *shared\n",
    "      <<: [1, 2]\n",
    "    definition: !!binary aGVsbG8=\n",
    "    name: !!python/object/apply:os.system ['true']\n",
    "    name: !custom tag\n",
    "    name: !!int '12'\n",
    "    name: !!float nope\n",
    "---\n",
    "--- !!set\n",
    "%YAML 1.1\n",
    "%TAG ! tag:example.com,2000:\n",
    "  - ? [complex, key]\n    : value\n",
    "  - {? a : b}\n",
    "    name: LTV\n",
    "\tname: tabbed\n",
    "    name: 'unterminated\n",
    '    name: "\\x00\\u202e\\ud800"\n',
    "    name: |\n      multi\n      line\n",
    "a: &a [*a]\n",
    "x-bomb: &b0 [x, x, x, x, x, x, x, x, x]\n"
    "x-b1: &b1 [*b0, *b0, *b0, *b0, *b0, *b0, *b0, *b0, *b0]\n"
    "x-b2: &b2 [*b1, *b1, *b1, *b1, *b1, *b1, *b1, *b1, *b1]\n"
    "x-b3: &b3 [*b2, *b2, *b2, *b2, *b2, *b2, *b2, *b2, *b2]\n"
    "x-b4: &b4 [*b3, *b3, *b3, *b3, *b3, *b3, *b3, *b3, *b3]\n"
    "x-b5: &b5 [*b4, *b4, *b4, *b4, *b4, *b4, *b4, *b4, *b4]\n"
    "x-b6: &b6 [*b5, *b5, *b5, *b5, *b5, *b5, *b5, *b5, *b5]\n"
    "x-b7: &b7 [*b6, *b6, *b6, *b6, *b6, *b6, *b6, *b6, *b6]\n",
    "[" * 300 + "\n",
    "{a: " * 300 + "\n",
    "- " * 300 + "x\n",
]


@st.composite
def damaged_texts(draw: st.DrawFn) -> bytes:
    """The valid manifest text with oddities spliced in and bytes damaged."""
    lines = VALID_TEXT.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines)))
        how = draw(st.sampled_from(["oddity", "duplicate", "tab", "delete", "junk", "truncate"]))
        if how == "oddity":
            lines.insert(at, draw(st.sampled_from(ODDITIES)))
        elif how == "duplicate" and at < len(lines):
            lines.insert(at, lines[at])
        elif how == "tab" and at < len(lines):
            lines[at] = "\t" + lines[at].lstrip(" ")
        elif how == "delete" and at < len(lines):
            del lines[at]
        elif how == "junk" and at < len(lines):
            cut = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:cut] + draw(nasty_text) + lines[at][cut:]
        elif how == "truncate":
            lines = lines[:at]
    raw = "".join(lines).encode("utf-8", "surrogatepass")
    return splice_bytes(draw, raw) if draw(st.integers(0, 3)) == 0 else raw


@st.composite
def named_documents(draw: st.DrawFn) -> Any:
    """Valid definitions under names and descriptions of any text: unicode is fine, control
    characters, blank or padded names and duplicates are errors."""
    names = draw(
        st.lists(st.one_of(nasty_text, st.sampled_from(["A", " A", "A ", ""])), max_size=4)
    )
    return {
        "calculated_attributes": [
            {"name": name, "description": draw(nasty_text), "definition": draw(definitions())}
            for name in names
        ]
    }


# Weighted by repetition: bytes that are not UTF-8 stop at the decoder, so they are few.
manifest_bytes = st.one_of(
    damaged_documents().map(encoded),
    damaged_documents().map(encoded),
    named_documents().map(encoded),
    named_documents().map(encoded),
    damaged_texts(),
    damaged_texts(),
    damaged_texts(),
    st.binary(max_size=200),
)
VALID_SETTINGS = b"workspace_id: 1234\n"
settings_bytes = st.one_of(
    st.dictionaries(
        st.sampled_from(["workspace_id", "target", "prune", "api_url", "rate_limit", "wat"]),
        junk_values,
        max_size=4,
    ).map(encoded),
    st.binary(max_size=50),
)

LOCATED = re.compile(r"^  (?P<file>[^\n]*?\.ya?ml):(?P<line>\d+)(:\d+)?: ", re.MULTILINE)


def _raw_controls(text: str) -> list[str]:
    """Characters that would act on a terminal rather than show: controls (escape
    sequences), format characters (bidi overrides), line and paragraph separators."""
    return [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]


def _check(result: Result, directory: Path) -> None:
    """Exit 0, or exit 1 with one `Error:` paragraph in which every line after the first is
    one problem at file:line, with the input's control characters shown escaped."""
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 0:
        return
    head, *issues = result.stderr.rstrip("\n").split("\n")
    assert re.fullmatch(r"Error: \d+ errors? in manifests:", head), result.stderr
    assert issues, result.stderr
    for issue in issues:
        match = LOCATED.match(issue)
        assert match, f"not located at file:line: {issue!r}"
        assert Path(match["file"]).is_relative_to(directory), issue
        assert not _raw_controls(issue), issue


def _requests(emulator: EmulatorServer) -> int:
    total: int = emulator.stats()["total"]
    return total


def _plan_sends_nothing_unless_valid(emulator: EmulatorServer, directory: Path) -> None:
    validated = run_cli("validate", directory)
    _check(validated, directory)
    before = _requests(emulator)
    planned = run_cli("plan", directory, env=env_for(emulator.url))
    assert "Traceback" not in planned.output, planned.output
    if validated.exit_code == 1:
        assert (planned.exit_code, planned.stderr) == (1, validated.stderr)
    elif planned.exit_code == 1:
        # Valid manifests, but no workspace to plan against: a setting, not a typo.
        assert "\nError: no workspace id: set workspace_id in " in f"\n{planned.stderr}"
    else:
        assert planned.exit_code == 0, planned.output
        assert _requests(emulator) > before  # the counter sees what a plan sends
        return
    assert _requests(emulator) == before, "a plan that failed before the API sent a request"


@FUZZ
@given(manifest=manifest_bytes)
def test_bad_manifests_are_located_errors_and_send_nothing(
    emulator: EmulatorServer, manifest: bytes
) -> None:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        (directory / "reconciler.yaml").write_bytes(VALID_SETTINGS)
        (directory / "cas.yaml").write_bytes(manifest)
        _plan_sends_nothing_unless_valid(emulator, directory)


@settings(FUZZ, max_examples=50)
@given(workspace=settings_bytes)
def test_bad_settings_are_located_errors_and_send_nothing(
    emulator: EmulatorServer, workspace: bytes
) -> None:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        (directory / "reconciler.yaml").write_bytes(workspace)
        (directory / "cas.yaml").write_text(VALID_TEXT)
        _plan_sends_nothing_unless_valid(emulator, directory)
