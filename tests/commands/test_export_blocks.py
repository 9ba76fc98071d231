"""`reconciler export` writes a description of several lines as a literal block (`|`), as a
person does, wherever the block reads back as that very text; the escaped double-quoted
form (`"a\\nb"`) where it would not."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from reconciler.manifest.document import parse_yaml
from reconciler.manifest.writing import dump, reads_as_block
from tests.support.cli import run_cli
from tests.support.emulator import EmulatorServer
from tests.support.workspace import SESSIONS, RawApi, env_for


def document(description: str) -> dict[str, object]:
    return {
        "calculated_attributes": [
            {
                "name": "Sessions",
                "description": description,
                "definition": {"calculation_type": "count"},
            }
        ]
    }


def written(description: str) -> str:
    """The lines export writes for `description`, from `description:` to the next key."""
    text = dump(document(description))
    start = text.index("    description:")
    return text[start : text.index("    definition:", start)]


#: Description -> the lines written. The chomping indicator says how the text ends (`|-`
#: no line break, `|` one, `|+` more); `|2` says where the text starts when its first line
#: does with spaces (or is empty); lines further in stay further in.
BLOCKS = {
    "two\nlines": "    description: |-\n      two\n      lines\n",
    "ends with a break\n": "    description: |\n      ends with a break\n",
    "ends with two\n\n": "    description: |+\n      ends with two\n\n",
    "a\n\nb": "    description: |-\n      a\n\n      b\n",
    "  first line in\nsecond": "    description: |2-\n        first line in\n      second\n",
    "\nfirst line empty": "    description: |2-\n\n      first line empty\n",
    "list:\n  - one\n  - two": "    description: |-\n      list:\n        - one\n        - two\n",
    "# no comment\n---\n...": "    description: |-\n      # no comment\n      ---\n      ...\n",
    "'q' \"q\" \\ : {x}\n|>": "    description: |-\n      'q' \"q\" \\ : {x}\n      |>\n",
    "Café 日本\n🎉": "    description: |-\n      Café 日本\n      🎉\n",
    "yes\n1:20": "    description: |-\n      yes\n      1:20\n",
    "total\tper day\nsecond": "    description: |-\n      total\tper day\n      second\n",
    "Prix\xa0: 10\xa0€\nTTC": "    description: |-\n      Prix\xa0: 10\xa0€\n      TTC\n",
    "a\u202fb\u3000c\u2003d\nf": "    description: |-\n      a\u202fb\u3000c\u2003d\n      f\n",
    "x\n  a\tb": "    description: |-\n      x\n        a\tb\n",
}

#: Description -> the lines written: the quoted form, where a block would not hold the text
#: (a carriage return, NEL, U+2028, an invisible character, a tab starting a line: libyaml
#: refuses it), would hold it where editors change it unseen (whitespace at a line's end,
#: indentation other than spaces), or says nothing (only line breaks).
QUOTED = {
    "\ttab first\nsecond": '    description: "\\ttab first\\nsecond"\n',
    "first\n  \ttab in the indentation": '    description: "first\\n  \\ttab in the indentation"\n',
    "\xa0no-break space first\nsecond": '    description: "\xa0no-break space first\\nsecond"\n',
    "no-break space last\xa0\nsecond": '    description: "no-break space last\xa0\\nsecond"\n',
    "tab last\t\nsecond": '    description: "tab last\\t\\nsecond"\n',
    "crlf\r\nsecond": '    description: "crlf\\r\\nsecond"\n',
    "lone\rcr\nsecond": '    description: "lone\\rcr\\nsecond"\n',
    "nel\x85in\nsecond": '    description: "nel\\Nin\\nsecond"\n',
    "ls\u2028in\nsecond": '    description: "ls\\Lin\\nsecond"\n',
    "zero\u200bwidth\nsecond": '    description: "zero\\u200Bwidth\\nsecond"\n',
    "trailing space \nsecond": '    description: "trailing space \\nsecond"\n',
    "first\nblank line \n": '    description: "first\\nblank line \\n"\n',
    "a\n \nb": '    description: "a\\n \\nb"\n',
    "\n": '    description: "\\n"\n',
    "\n\n": '    description: "\\n\\n"\n',
    "one line": "    description: one line\n",
}


@pytest.mark.parametrize(("description", "lines"), [*BLOCKS.items(), *QUOTED.items()])
def test_a_description_of_several_lines_is_a_literal_block_where_it_reads_back_exactly(
    description: str, lines: str
) -> None:
    text = dump(document(description))
    assert written(description) == lines
    assert parse_yaml(text, "x.yaml").data == document(description)
    assert yaml.safe_load(text) == document(description)
    assert YAML(typ="safe", pure=True).load(text) == document(description)


def test_only_a_description_is_written_as_a_block() -> None:
    """A line break in a name or a condition's value is more likely a slip, which the plan
    warns about: the escape shows it."""
    text = dump(
        {
            "calculated_attributes": [
                {"name": "two\nlines", "definition": {"values": ["a\nb"]}, "description": "c\nd"}
            ]
        }
    )
    assert '- name: "two\\nlines"' in text
    assert '- "a\\nb"' in text
    assert "description: |-\n" in text


#: Pieces of awkward text: line breaks of every kind, spaces where a block's indentation
#: is read, YAML's indicators and document markers, quotes, invisible characters.
PIECES = [
    *["\n", "\n\n", "\r", "\r\n", "\x85", "\u2028", "\u2029", "\t", " ", "  ", "\xa0"],
    *["\t\t", "a\tb", "\u202f", "\u2003", "\u3000", "\u1680", "\u205f", "\x0b", "\x0c", "\x1f"],
    *["#", "# c", "- ", "-", "---", "...", ": ", ":", "? ", "|", "|-", ">", "!", "&a", "*a"],
    *["'", '"', "\\", "%", "@", "`", "{", "}", "[", "]", ",", "\ufeff", "\u200b", "\x00"],
    *["x", "word", "yes", "1:20", "~", "é", "e\u0301", "日本", "🎉", "  indented"],
]
AWKWARD = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=14).map("".join),
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=30),
    st.text(st.sampled_from(" \n\tx#-:|\xa0"), max_size=20),
)


@settings(max_examples=1500, deadline=None)
@given(AWKWARD)
@example("  a\n b\n")
@example("\n\n  x\n\n")
@example("x\n\n\n")
@example("x\n\u3000")
@example("a\tb\nc\xa0d")
@example("\tx\ny")
def test_any_description_reads_back_as_written_and_as_a_block_wherever_one_holds_it(
    description: str,
) -> None:
    """load(export(s)) == s, by the manifest reader (libyaml), by PyYAML (YAML 1.1:
    yamllint, CI scripts) and by ruamel.yaml; and every text `reads_as_block` allows is
    written as a block."""
    text = dump(document(description))
    assert parse_yaml(text, "x.yaml").data == document(description)
    assert yaml.safe_load(text) == document(description)
    assert YAML(typ="safe", pure=True).load(text) == document(description)
    assert written(description).startswith("    description: |") == reads_as_block(description)
    lines = description.split("\n")
    assert reads_as_block(description) == (len(lines) > 1 and any(lines) and all(map(held, lines)))


#: What a block holds inside a line but not at either end of it: a tab, and the space
#: characters other than U+0020 (Zs).
SPACES = "\t\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"


def held(line: str) -> bool:
    """A line a block holds: indented with spaces only, printable but for the SPACES
    inside it, not ending in whitespace."""
    inside = line.lstrip(" ")
    if inside == "":
        return line == ""
    return (
        inside[0] not in SPACES
        and inside[-1] not in f"{SPACES} "
        and all(char.isprintable() or char in SPACES for char in inside)
    )


def test_an_export_writes_multi_line_descriptions_as_blocks_and_plans_empty(
    tmp_path: Path, emulator: EmulatorServer, raw: RawApi
) -> None:
    """Through mParticle's API and back: the blocks hold the very descriptions, so the
    export plans empty, and a second export over the first writes the same bytes."""
    tables = {**BLOCKS, **QUOTED}
    for index, description in enumerate(tables):
        raw.activate(raw.create(f"CA {index}", SESSIONS, description=description))
    env = env_for(emulator.url)
    out = tmp_path / "exported"
    result = run_cli("export", tmp_path, "--out", out, "--workspace-id", "1234", env=env)
    assert result.exit_code == 0, result.output
    for index, lines in enumerate(tables.values()):
        text = (out / f"ca-{index}.yaml").read_text(encoding="utf-8")
        assert f"  - name: CA {index}\n{lines}    definition:" in text
    planned = run_cli("plan", out, "--detailed-exitcode", env=env)
    assert planned.exit_code == 0, planned.output
    first = {path.name: path.read_bytes() for path in out.iterdir()}
    again = run_cli("export", tmp_path, "--out", out, "--workspace-id", "1234", "--force", env=env)
    assert again.exit_code == 0, again.output
    assert {path.name: path.read_bytes() for path in out.iterdir()} == first
