"""The guard before composing a YAML document: refuse absurd nesting, located.

Part of the first step of loading (`document.parse_yaml` calls it first). The C composer
recurses once per level of nesting and overflows the C stack in the tens of thousands
(50,000 nested `[` crashed the process with a segfault), before the builder's own limit
(64 levels) is ever reached. So the text is measured first, cheaply and conservatively:
its nesting can only be deeper than this estimate if the estimate is above the limit too.

- Block nesting: every block level starts at least one column right of its parent (`- `
  and `? ` in a compact sequence take two), so no line can be nested deeper than its
  indentation plus its leading indicators.
- Flow nesting: `[` and `{` are counted outside quoted scalars, comments, tags and plain
  scalars (a quote inside a plain scalar is text, as YAML reads it); innermost pairs are
  then removed level by level, at the speed of the regular expression engine. Brackets in
  a block-context plain scalar (`note: a[b]`) are counted too: the estimate may be high,
  never low.

It costs a few percent of what composing the file takes (docs/performance.md), paid only
when a file is parsed (a cache hit skips both), and not at all by a file with fewer than
MAX_COMPOSE_DEPTH brackets.
"""

from __future__ import annotations

import re

from reconciler.errors import Issue

#: Deeper than this is refused before composing; far below what overflows the C stack
#: (about 20,000 measured), far above what a manifest needs (the builder allows 64).
MAX_COMPOSE_DEPTH = 1000

#: Everything in which `[` and `{` are text: quoted scalars (to the end of the text when
#: never closed, as the parser would read on), comments, tags/anchors/aliases, plain
#: scalars (which may hold quotes and `#` after their first character), and separators.
_TEXTUAL = re.compile(
    r"""
      [\s,:]+
    | "[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)
    | '[^']*(?:''[^']*)*(?:'|\Z)
    | \#[^\n]*
    | [!&*][^\s\[\]{},]*
    | (?:[^\s\[\]{},"'\#!&*|>%@`?:\-]|[?:\-](?=[^\s\[\]{},]))
      (?:[^\s\[\]{},:]+|:(?=[^\s\[\]{},])|[ \t]+(?=[^\s\#\[\]{},:]))*
    """,
    re.VERBOSE,
)
#: An innermost flow collection (of whatever was left between its brackets).
_INNERMOST = re.compile(r"[\[{][^\[\]{}]*[\]}]")
#: A line that may be nested too deep: its first MAX_COMPOSE_DEPTH characters are
#: spaces or indicators (a literal newline first lets the engine skip ahead quickly)...
_MAYBE_DEEP_LINE = re.compile(rf"\n[ ?:\-]{{{MAX_COMPOSE_DEPTH}}}")
#: ...and it is when they are indentation and `- `, `? `, `: ` indicators.
_DEEP_LINE = re.compile(rf"(?:[ ]|[-?:](?=[ ])){{{MAX_COMPOSE_DEPTH}}}")
#: Passes of removing innermost pairs, after which the brackets left are counted one by one
#: (manifests need a handful; only absurd nesting gets that far).
_PASSES = 16


def too_deep(text: str, file: str) -> Issue | None:
    """An issue at the place where `text` nests deeper than MAX_COMPOSE_DEPTH, else None."""
    starts = [0] + [found.start() + 1 for found in _MAYBE_DEEP_LINE.finditer(text)]
    for start in starts:
        if _DEEP_LINE.match(text, start):
            return _issue(file, text, start + MAX_COMPOSE_DEPTH - 1)
    if text.count("[") + text.count("{") <= MAX_COMPOSE_DEPTH or _flow_depth(text) <= (
        MAX_COMPOSE_DEPTH
    ):
        return None
    return _issue(file, text, _deepest_opener(text))


def _flow_depth(text: str) -> int:
    """An upper bound of the flow nesting of `text` (exact for well-formed YAML)."""
    rest = _TEXTUAL.sub("", text)
    for passes in range(_PASSES):
        shorter = _INNERMOST.sub("", rest)
        if shorter == rest:
            # What is left never closes: each opener is one more level around the rest.
            return passes + rest.count("[") + rest.count("{")
        rest = shorter
    return _PASSES + _bracket_depth(rest)


def _bracket_depth(brackets: str) -> int:
    depth = deepest = 0
    for character in brackets:
        if character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth = max(depth - 1, 0)
    return deepest


def _deepest_opener(text: str) -> int:
    """Where the flow nesting first passes the limit (only called once it does)."""
    depth = 0
    position = 0
    while position < len(text):
        textual = _TEXTUAL.match(text, position)
        if textual is not None and textual.end() > position:
            position = textual.end()
            continue
        character = text[position]
        if character in "[{":
            depth += 1
            if depth > MAX_COMPOSE_DEPTH:
                return position
        elif character in "]}":
            depth = max(depth - 1, 0)
        position += 1
    return max(text.rfind("["), text.rfind("{"), 0)


def _issue(file: str, text: str, position: int) -> Issue:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return Issue(
        file,
        line,
        column,
        "",
        f"nesting deeper than {MAX_COMPOSE_DEPTH:,} levels here; refusing to read the file "
        "(a manifest needs a handful)",
    )
