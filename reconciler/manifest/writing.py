"""Manifests as YAML text a person would write: small mappings in flow style, every text in
the style that reads back as itself (plain where YAML 1.2 and YAML 1.1 readers both take it
for that text, quoted otherwise, a description of several lines as a literal block), and
the whole checked to read back as the very same data. `reconciler export` writes its files
with `dump`.
"""

from __future__ import annotations

import sys
import unicodedata
from io import StringIO
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from reconciler.manifest.composing import STR_TAG, resolve_plain
from reconciler.manifest.document import SourceError, parse_yaml

#: YAML's indicators: a plain (unquoted) scalar starting with one is read as something
#: else, except `-`, `?` and `:` before a non-space, and only in block context (libyaml,
#: the manifest reader, takes `?` and `:` as indicators anywhere in a flow mapping).
INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
#: Characters that end a plain scalar in a flow mapping (`{a: b, c: d}`).
FLOW_INDICATORS = frozenset(",[]{}")


def reads_plain(text: str, flow: bool) -> bool:
    """Whether `text` written unquoted reads back as that very text (not a number, a date,
    an indicator, a comment, or cut short), in a flow mapping or in block context."""
    if text == "" or text[0] == " " or text[-1] in " :" or ": " in text or " #" in text:
        return False
    if text[0] in INDICATORS and (flow or text[0] not in "-?:" or text[1:2] in ("", " ")):
        return False
    if flow and not FLOW_INDICATORS.isdisjoint(text):
        return False
    return resolve_plain(text) == STR_TAG


#: YAML 1.1's rules for plain scalars, as ruamel.yaml ships them (the spec's: booleans
#: `yes`, `on`, `y`, `NO`; sexagesimal numbers `1:20`; octal `017`). The reconciler reads
#: YAML 1.2, where these are text, but PyYAML (yamllint, pre-commit hooks, CI scripts) and
#: other tools a data team runs over the same files read 1.1: PyYAML's rules are these
#: without `y` and `n`, which other 1.1 readers (go-yaml v2) take for booleans.
YAML_1_1 = VersionedResolver(version=(1, 1))


def reads_plain_in_yaml_1_1(text: str, flow: bool) -> bool:
    """Whether a YAML 1.1 reader takes `text`, unquoted, for that text: not for a boolean,
    a null, a number or a date, nor (in a flow mapping) cut short at a `?`, where PyYAML's
    own scanner (yamllint's; `yaml.safe_load` without libyaml) ends a plain scalar."""
    if flow and "?" in text:
        return False
    return bool(YAML_1_1.resolve(ScalarNode, text, (True, False)) == STR_TAG)


def scalar(text: str, flow: bool) -> str:
    """Text in the style that reads back as itself: plain where it can, double-quoted with
    escapes when it holds a character a reader takes for a line break (NEL, U+2028,
    U+2029) or nobody sees (controls, format characters), single-quoted otherwise. Plain
    only where YAML 1.1 reads it as that text too (`'yes'`, `'1:20'`), for the other tools
    that read the files."""
    styled: str = text
    if not text.isprintable():
        styled = DoubleQuotedScalarString(text)
    elif not reads_plain(text, flow) or not reads_plain_in_yaml_1_1(text, flow):
        styled = SingleQuotedScalarString(text)
    return styled


def reads_as_block(text: str) -> bool:
    """Whether `text`, written as a literal block (`|`), reads back as that very text and
    stays so in the hands of the tools that tidy files: more than one line, not all of
    them empty, and each line one `reads_as_block_line`. The chomping indicator (`|-`, `|`,
    `|+`) and, for a first line starting with spaces, the indentation indicator (`|2`) say
    the rest exactly; ruamel writes them."""
    lines = text.split("\n")
    return len(lines) > 1 and text.strip("\n") != "" and all(map(reads_as_block_line, lines))


def reads_as_block_line(line: str) -> bool:
    """Whether `line` reads back as itself in a literal block, and stays so: what it holds
    is printable, or a tab or a space other than U+0020 (a no-break space, U+3000) inside
    it, which YAML 1.2 and 1.1 readers all take as text there. Not a carriage return (read
    as a line break), nor NEL, U+2028 or U+2029 (line breaks to YAML 1.1 readers, libyaml
    among them), nor what nobody sees (a control, U+200B). Its indentation is spaces only,
    as it looks: libyaml refuses a tab starting a block's first line, and editors turn
    leading tabs into spaces. Nor does it end in whitespace, which editors and pre-commit's
    trailing-whitespace hook strip: a change nobody sees."""
    inside = line.lstrip(" ")
    return (
        line == line.rstrip()
        and not inside[:1].isspace()
        and all(char.isprintable() or is_space(char) for char in inside)
    )


def is_space(char: str) -> bool:
    """A tab, or a space character (Zs: U+00A0, U+2003, U+3000...)."""
    return char == "\t" or unicodedata.category(char) == "Zs"


#: The texts written as a literal block where `reads_as_block` allows: prose, where a line
#: break is meant. A line break in a name or a condition's value is more likely a slip,
#: which the escape (`"two\nlines"`) shows, as the plan's warning about it does.
BLOCK_KEYS = frozenset({"description"})


def _styled(value: Any, depth: int = 0, flow: bool = False) -> Any:
    """Small mappings (conditions, periods, short datapoints) in flow style, as people write;
    every text in a style that reads back as itself there, a description of several lines
    as a literal block."""
    if isinstance(value, dict):
        leafy = all(not isinstance(v, (dict, list)) for v in value.values())
        flow = flow or (leafy and depth >= 3 and (len(value) <= 4 or depth >= 5))
        styled = CommentedMap((k, _field(k, v, depth + 1, flow)) for k, v in value.items())
        if flow:
            styled.fa.set_flow_style()
        return styled
    if isinstance(value, list):
        return CommentedSeq(_styled(v, depth + 1, flow) for v in value)
    if isinstance(value, str):
        return scalar(value, flow)
    return value


def _field(key: str, value: Any, depth: int, flow: bool) -> Any:
    if key in BLOCK_KEYS and not flow and isinstance(value, str) and reads_as_block(value):
        return LiteralScalarString(value)
    return _styled(value, depth, flow)


def _invisible_escaped(text: str) -> str:
    """`text` with its format characters (U+200B, bidi controls) written as `\\u` escapes:
    ruamel writes them raw, where nobody sees them. Only a double-quoted scalar holds one
    (`scalar` quotes so every text that is not printable), and there the escape reads
    back as the character."""
    return "".join(
        (f"\\u{ord(ch):04X}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08X}")
        if unicodedata.category(ch) == "Cf"
        else ch
        for ch in text
    )


def dump(document: dict[str, Any], file: str = "<export>") -> str:
    """`document` as YAML text, checked to read back (by the manifest reader) as the very
    same data: a file export cannot read back is a bug, never written."""
    yaml = YAML()
    yaml.width = sys.maxsize  # ruamel folds long flow scalars wrongly (spaces lost)
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = StringIO()
    yaml.dump(_styled(document), buffer)
    text = _invisible_escaped(buffer.getvalue())
    try:
        read = parse_yaml(text, file).data
    except SourceError as exc:
        read, problem = None, str(exc)
    else:
        problem = "it reads back as other data"
    if read != document:
        raise RuntimeError(f"export wrote YAML for {file} that does not read back: {problem}")
    return text
