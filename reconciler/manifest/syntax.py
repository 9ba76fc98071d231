"""What a YAML syntax error means, said where the fix goes: part of manifest loading.

libyaml names what its parser met (`mapping values are not allowed in this context`), not
what a person mistyped. Each row of `_HINTS` reads one such error with the text around it
and says what to change (quote a value holding `: `, line a key up, close a quote), at
the place to change, which is not always where the parser stopped: an unclosed `{` or
quote is reported where it opens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from yaml.error import Mark, MarkedYAMLError, YAMLError

from reconciler.errors import Issue


@dataclass(frozen=True)
class _Error:
    """A syntax error as libyaml gives it, with the text it was found in."""

    context: str
    problem: str
    mark: Mark | None
    context_mark: Mark | None
    source: str

    def line(self, mark: Mark) -> str:
        lines = self.source.split("\n", mark.line + 1)
        return lines[mark.line] if mark.line < len(lines) else ""

    def at(self, mark: Mark) -> str:
        """The character at `mark` ("" past its end)."""
        return self.line(mark)[mark.column : mark.column + 1]


#: What to say, and where (None: where the parser stopped).
_Hint = tuple[str, "Mark | None"]


def _quoted_line(text: str, colon: int) -> str:
    """The line `key: Note: this` written as `key: "Note: this"`."""
    key, value = text[:colon].strip(), text[colon + 1 :].strip()
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{key}: "{escaped}"'


def _mapping_values(error: _Error) -> _Hint | None:
    """A `:` where a value goes: a value holding `: `, a line indented deeper than its
    key, or a key missing its `:` on the line above."""
    mark = error.mark
    if mark is None:
        return None
    text = error.line(mark)
    first = re.search(r":(\s|$)", text)
    if first is not None and first.start() < mark.column:
        hint = f"the value holds `: `; put it in quotes: `{_quoted_line(text, first.start())}`"
        return hint, None
    above = [line for line in error.source.split("\n")[: mark.line] if line.strip()]
    if above and ":" not in above[-1] and not above[-1].lstrip().startswith(("-", "#")):
        return f"the line above (`{above[-1].strip()}`) has no `:` after its key", None
    return (
        "this line is indented deeper than the key above it, so YAML reads it as more of "
        "that key's value: line it up with the keys above",
        None,
    )


def _expected_key(error: _Error) -> _Hint | None:
    """A block mapping met something that is not one of its keys."""
    mark, start = error.mark, error.context_mark
    if mark is None or start is None:
        return None
    before = error.line(mark)[: mark.column].rstrip()
    if before.endswith(("'", '"')) and before.strip() != before[-1:]:
        return "text after the closing quote: put the whole value inside the quotes", None
    if error.at(mark) == "-":
        return (
            f"a list item (`- `) where the mapping of line {start.line + 1} expects a key: "
            "indent the list under its key, or write it as a key",
            None,
        )
    return (
        f"the indentation matches no key above: the mapping that starts at line "
        f"{start.line + 1} has its keys at column {start.column + 1}",
        None,
    )


def _expected_item(error: _Error) -> _Hint | None:
    start = error.context_mark
    if start is None:
        return None
    return (
        f"a key where the list of line {start.line + 1} expects an item (`- `) at column "
        f"{start.column + 1}: start it with `- `, or indent it under the item above",
        None,
    )


def _unclosed(error: _Error) -> _Hint | None:
    """An open `{`, `[` or quote that is never closed: said where it opens."""
    start = error.context_mark
    if start is None:
        return None
    opened = error.at(start)
    closing = {"{": "}", "[": "]"}.get(opened, opened)
    if "quoted" in error.context:
        return f"the {opened} that opens here is never closed: add the closing {closing}", start
    return (
        f"the `{opened}` that opens here is never closed: add `{closing}` after its last "
        "entry (and a `,` between entries)",
        start,
    )


_ANCHOR = re.compile(r"&([^\s,\[\]{}]+)")


def _undefined_alias(error: _Error) -> _Hint | None:
    mark = error.mark
    if mark is None:
        return None
    found = re.match(r"\*([^\s,\[\]{}]+)", error.line(mark)[mark.column :])
    if found is None:
        return None
    from reconciler.manifest.diagnostics import suggest  # pydantic's: only on this error

    name = found.group(1)
    anchors = sorted(set(_ANCHOR.findall(error.source[: _offset(error.source, mark)])))
    close = suggest(name, anchors)
    defined = f" (this file defines {', '.join(anchors)} above it)" if anchors else ""
    advice = f"; did you mean `*{close}`?" if close else ""
    return (
        f"`*{name}` names no anchor: define it with `&{name}` before its first use"
        f"{defined}{advice}",
        None,
    )


def _offset(source: str, mark: Mark) -> int:
    lines = source.split("\n")
    return sum(len(line) + 1 for line in lines[: mark.line]) + mark.column


def _no_token(error: _Error) -> _Hint | None:
    mark = error.mark
    if mark is None:
        return None
    character = error.at(mark)
    if character == "\t":
        return "(a tab): YAML indents with spaces only; replace the tab with spaces", None
    if character in "@`%":
        return f"YAML text cannot start with {character!r}: put the value in quotes", None
    return None


def _indicator(error: _Error) -> _Hint | None:
    """A value starting with `*` or `&`, which YAML reads as an alias or an anchor."""
    words = "YAML reads `*` as an alias and `&` as an anchor: put the value in quotes"
    return words, error.context_mark


def _key_without_colon(error: _Error) -> _Hint | None:
    """A key the parser could not end: its `:` is missing (said where the key starts)."""
    start = error.context_mark
    if start is None:
        return None
    key = error.line(start)[start.column :].strip()
    return f"the key `{key}` has no `:` after it: write `{key}:`", start


#: (libyaml's words, what they mean). The first row whose words the error holds speaks.
_HINTS: list[tuple[str, Callable[[_Error], _Hint | None]]] = [
    ("mapping values are not allowed", _mapping_values),
    ("did not find expected key", _expected_key),
    ("did not find expected '-' indicator", _expected_item),
    ("while scanning a quoted scalar", _unclosed),
    ("while parsing a flow", _unclosed),
    ("found undefined alias", _undefined_alias),
    ("while scanning an alias", _indicator),
    ("while scanning an anchor", _indicator),
    ("while scanning a simple key", _key_without_colon),
    ("cannot start any token", _no_token),
]


def syntax_issue(file: str, exc: YAMLError, source: str) -> Issue:
    """The issue of a YAML syntax error: libyaml's words, then what to change."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = re.sub(r"\s+", " ", f"{context}: {problem}" if context else str(problem)).strip()
    if "expected a single document" in text:
        text = "holds several YAML documents (`---`); keep one document per file"
    elif isinstance(exc, MarkedYAMLError):
        error = _Error(str(context or ""), str(problem), mark, exc.context_mark, source)
        hint = next((row[1](error) for row in _HINTS if row[0] in text), None)
        if error.mark is not None and error.at(error.mark) == "\t" and hint is None:
            hint = _no_token(error)
        if hint is not None:
            words, where = hint
            text += f" {words}" if words.startswith("(") else f"; {words}"
            mark = where or mark
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return Issue(file, line, column, "", f"invalid YAML: {text}")
