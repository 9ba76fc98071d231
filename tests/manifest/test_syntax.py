"""YAML syntax errors say what to change, and where: one row per mistake people make."""

from __future__ import annotations

import pytest

from reconciler.manifest.document import SourceError, parse_yaml

#: (mistake, YAML, the error: place and words after libyaml's own).
ROWS = [
    (
        "a value holding `: `",
        "a:\n  description: Note: this\n",
        '2:20: ...; the value holds `: `; put it in quotes: `description: "Note: this"`',
    ),
    (
        "a line indented deeper than its key",
        "a:\n  b: count\n    d: 2\n",
        "3:6: ...; this line is indented deeper than the key above it, so YAML reads it as "
        "more of that key's value: line it up with the keys above",
    ),
    (
        "a key without its colon, then a key",
        "a:\n  b\n  c: 1\n",
        "3:4: ...; the line above (`b`) has no `:` after its key",
    ),
    (
        "a key without its colon, then a flow mapping",
        "a:\n  - name: X\n    definition\n      calculation_type: count\n      d: {e: f}\n",
        "3:5: ...; the key `definition` has no `:` after it: write `definition:`",
    ),
    (
        "a line indented less than its siblings",
        "a:\n  b:\n    c: 1\n   d: 2\n",
        "4:4: ...; the indentation matches no key above: the mapping that starts at line 2 "
        "has its keys at column 3",
    ),
    (
        "text after a closing quote",
        'a: "x" y\n',
        "1:8: ...; text after the closing quote: put the whole value inside the quotes",
    ),
    (
        "a key where the list wants an item",
        "a:\n  - b: 1\n  c: 2\n",
        "3:3: ...; a key where the list of line 2 expects an item (`- `) at column 3: start "
        "it with `- `, or indent it under the item above",
    ),
    (
        "an unclosed flow mapping, said where it opens",
        "a:\n  b: {c: 1\n  d: 2\n",
        "2:6: ...; the `{` that opens here is never closed: add `}` after its last entry "
        "(and a `,` between entries)",
    ),
    (
        "an unclosed flow sequence",
        "a:\n  b: [c, 1\n  d: 2\n",
        "2:6: ...; the `[` that opens here is never closed: add `]` after its last entry "
        "(and a `,` between entries)",
    ),
    (
        "an unclosed quote, said where it opens",
        'a:\n  b: "x\n  d: 2\n',
        '2:6: ...; the " that opens here is never closed: add the closing "',
    ),
    (
        "a misspelt alias",
        "x-a: &base {a: 1}\nb: *bse\n",
        "2:4: ...; `*bse` names no anchor: define it with `&bse` before its first use (this "
        "file defines base above it); did you mean `*base`?",
    ),
    (
        "an alias of nothing",
        "a: *nope\n",
        "1:4: ...; `*nope` names no anchor: define it with `&nope` before its first use",
    ),
    (
        "text starting with @",
        "a: @home\n",
        "1:4: ...; YAML text cannot start with '@': put the value in quotes",
    ),
    (
        "text that is a lone *",
        "a: * \n",
        "1:4: ...; YAML reads `*` as an alias and `&` as an anchor: put the value in quotes",
    ),
    (
        "a tab",
        "a:\n\tb: 1\n",
        "2:1: ... (a tab): YAML indents with spaces only; replace the tab with spaces",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [row[1:] for row in ROWS], ids=[r[0] for r in ROWS])
def test_a_syntax_error_says_what_to_change_and_where(text: str, expected: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_yaml(text, "f.yaml")
    (issue,) = caught.value.issues
    place, words = expected.split(": ...", 1)
    shown = str(issue)
    assert shown.startswith(f"f.yaml:{place}: invalid YAML: ")
    assert shown.endswith(words)
