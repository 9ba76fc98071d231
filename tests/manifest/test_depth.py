"""The guard before composing: absurd nesting is refused where it is, never crashes the
C composer (50,000 nested `[` was a segfault, exit 139), and costs nothing to files that
nest as manifests do, however many brackets and quotes they hold."""

from __future__ import annotations

import json

import pytest

from reconciler.manifest.depth import MAX_COMPOSE_DEPTH, too_deep
from reconciler.manifest.document import SourceError, parse_yaml

DEEP = 50_000


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("x: " + "[" * DEEP + "]" * DEEP, 1, 1004),
        ("x: " + "[" * DEEP, 1, 1004),  # never closed: the parser would recurse first
        ("x: " + "{a: " * DEEP, 1, 4004),
        ("- " * DEEP + "x", 1, 1000),
        ("a:\n" + "".join(" " * n + f"k{n}:\n" for n in range(1, 1100)), 1001, 1000),
        # Closers the composer never sees, hiding real openers from a naive count:
        ("[" + '"]" [' * DEEP, 1, 5001),  # in double-quoted scalars
        ("[" + "']' [" * DEEP, 1, 5001),  # in single-quoted ones
        ("[ !t ']]]]', " + "[" * DEEP, 1, 1013),  # a tagged scalar
        ('[a "b, ' + "[" * DEEP + ' "', 1, 1007),  # a quote inside a plain scalar is text
        ("[a#b, " + "[" * DEEP, 1, 1006),  # so is a `#` that does not start a comment
        ("[ # ]]]]\n" + "[" * DEEP, 2, 1000),  # a comment's closers are not closers
    ],
)
def test_absurd_nesting_is_refused_before_composing_where_it_is(
    text: str, line: int, column: int
) -> None:
    with pytest.raises(SourceError) as raised:
        parse_yaml(text, "deep.yaml")
    (issue,) = raised.value.issues
    assert (issue.file, issue.line, issue.column) == ("deep.yaml", line, column)
    assert f"nesting deeper than {MAX_COMPOSE_DEPTH:,} levels here" in issue.message


@pytest.mark.parametrize(
    "text",
    [
        # 60,000 brackets in all, nested four deep: the shape of a large JSON manifest.
        json.dumps({"calculated_attributes": [{"a": [{"b": [1]}]} for _ in range(15_000)]}),
        'x: "' + "[" * 5000 + '"',  # brackets in a quoted scalar are text
        "x: '" + "{" * 5000 + "'",
        "# " + "[" * 5000 + "\nx: 1",
        "x: a]]]" + "[" * 500,  # and in a plain scalar (counted: never fewer than there are)
        "x: |\n  " + "]" * 5000 + "\ny: [[[1]]]",
        "[" * (MAX_COMPOSE_DEPTH - 10) + "]" * (MAX_COMPOSE_DEPTH - 10),
    ],
)
def test_files_that_nest_as_manifests_do_pass(text: str) -> None:
    assert too_deep(text, "ok.yaml") is None


def test_the_builder_still_names_nesting_between_its_limit_and_the_guard() -> None:
    with pytest.raises(SourceError) as raised:
        parse_yaml("x: " + "[" * 500 + "]" * 500, "deep.yaml")
    (issue,) = raised.value.issues
    assert "nesting deeper than 64 levels" in issue.message
