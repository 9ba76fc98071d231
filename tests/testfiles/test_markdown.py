"""`reconciler test --format markdown` as GitHub renders it (tests/support/gfm.py: GitHub's
own parser): failures first with expected, actual and the expectation's line, passes and
skips collapsed; names, values, hints and file names holding Markdown, HTML or mentions
show as written and notify nobody; any number of results stays below the comment limit,
each cut saying how many are not shown."""

from __future__ import annotations

import pytest

from reconciler.errors import Issue
from reconciler.plan.gfm import MARKDOWN_LIMIT
from reconciler.testfiles import markdown
from reconciler.testfiles.report import TestRun
from reconciler.testfiles.runner import CaseOutcome, SuiteResult
from tests.plan.test_markdown import HOSTILE
from tests.support.gfm import Page, html

FILE = "manifests/a.test.yaml"


def outcome(
    user: str,
    ca: str,
    expected: str,
    actual: str,
    *,
    line: int = 7,
    file: str = FILE,
    hint: str | None = None,
    skipped: str | None = None,
) -> CaseOutcome:
    passed = expected == actual and skipped is None
    return CaseOutcome(
        file, user, ca, expected, actual, passed, line, 5, skipped=skipped, hint=hint
    )


def run_of(
    *outcomes: CaseOutcome, issues: tuple[Issue, ...] = (), env: str | None = None
) -> TestRun:
    invalid = tuple(dict.fromkeys(i.file for i in issues if i.file.endswith(".test.yaml")))
    return TestRun((SuiteResult(FILE, outcomes),), (FILE, *invalid), issues, invalid, env)


MIXED = run_of(
    outcome("alice", "LTV", "130", "130", line=7),
    outcome("bob", "AOV", "31", "30", line=8),
    outcome("carol", "Beta", "0", "", skipped="not in environment prod", line=9),
    env="prod",
)


def test_the_summary_then_the_failures_then_the_passes_and_skips_collapsed() -> None:
    comment = markdown.markdown(MIXED)
    assert comment.startswith(
        "### ❌ reconciler test: 1 failed (environment prod)\n\n"
        "**Tests: 1 passed, 1 failed, 1 skipped, 3 total (1 file).**\n\n"
        "**Failed** (1):\n\n"
        "| user | CA | expected | actual | where |\n"
        "|---|---|---|---|---|\n"
        "| `bob` | `AOV` | `31` | `30` | `manifests/a.test.yaml:8` |\n\n"
        "<details><summary>✅ 1 passed</summary>\n\n"
        "| user | CA | value | where |\n"
        "|---|---|---|---|\n"
        "| `alice` | `LTV` | `130` | `manifests/a.test.yaml:7` |\n\n"
        "</details>\n"
        "<details><summary>⏭️ 1 skipped</summary>\n\n"
    )
    page = Page.of(comment)
    assert page.problems == []
    assert page.rows == [5, 5, 4, 4, 4, 4]
    assert "not in environment prod" in html(comment)


def test_a_run_that_passes_says_so_and_lists_no_failure() -> None:
    comment = markdown.markdown(run_of(outcome("alice", "LTV", "130", "130")))
    assert comment.startswith(
        "### ✅ reconciler test: 1 passed\n\n**Tests: 1 passed, 0 failed, 1 total (1 file).**"
    )
    assert "Failed" not in comment
    empty = markdown.markdown(TestRun(()))
    assert "_No test files (`*.test.yaml`) below the manifest directory._" in empty


def test_a_failure_that_can_never_pass_says_why_and_white_space_shows() -> None:
    hint = "A unique_list's value is a list of values; write [Home] for a list of one | value."
    run = run_of(
        outcome("carol", "Screens", "Home", '"Home"', hint=hint),
        outcome("dave", "Term", "shoes", "shoes "),
    )
    comment = markdown.markdown(run)
    assert "| user | CA | expected | actual | where | why |" in comment
    assert '| `dave` | `Term` | `shoes` | `"shoes "` | `manifests/a.test.yaml:7` |  |' in comment
    page = Page.of(comment)
    assert page.problems == []
    assert page.rows[:3] == [6, 6, 6]  # the hint's `|` splits no cell
    assert "write [Home] for a list of one | value." in page.text


def test_invalid_files_are_listed_with_their_first_problems() -> None:
    issues = (
        *(
            Issue("manifests/b.test.yaml", n, 1, f"expect.u{n}", 'no CA named "X"')
            for n in range(7)
        ),
        Issue("manifests/b.events.jsonl", 2, None, "events[0]", "not JSON"),
    )
    comment = markdown.markdown(run_of(outcome("alice", "LTV", "1", "1"), issues=issues))
    assert comment.startswith("### ❌ reconciler test: 1 invalid file\n")
    assert "**Invalid files** (2): they did not run." in comment
    assert "- `manifests/b.test.yaml`: 7 problems\n\n```text\n" in comment
    assert 'manifests/b.test.yaml:4:1: expect.u4: no CA named "X"\n... and 2 more\n```' in comment
    assert "manifests/b.test.yaml:5:1" not in comment
    assert "- `manifests/b.events.jsonl`: 1 problem" in comment
    assert Page.of(comment).problems == []


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_as_written_and_inert(text: str) -> None:
    """A user, CA, value, hint, file name, skip reason, problem and environment holding
    Markdown, HTML, mentions, links or invisible characters (test files and manifests are
    written by anyone who can open a pull request)."""
    file = f"manifests/{text}.test.yaml"
    run = TestRun(
        (
            SuiteResult(
                file,
                (
                    outcome(text, text, text, f"{text}!", file=file, hint=text),
                    outcome(text, text, text, text, file=file),
                    outcome(text, text, text, "", file=file, skipped=text),
                ),
            ),
        ),
        (file, "manifests/x.test.yaml"),
        (Issue("manifests/x.test.yaml", 1, 1, "expect", text),),
        ("manifests/x.test.yaml",),
        text,
    )
    comment = markdown.markdown(run)
    page = Page.of(comment)
    assert page.problems == []
    assert page.live() == []
    assert page.rows == [6, 6, 4, 4, 4, 4]
    rendered = html(comment)
    assert rendered.count("<details>") == rendered.count("</details>") == 2


def test_any_number_of_results_stays_below_the_limit_and_says_what_is_cut() -> None:
    """10,000 failures, 10,000 passes, 1,000 skips and 500 invalid files: a comment GitHub
    would refuse, cut to whole rows with a note of each cut; the same every time."""
    failures = [outcome(f"u{n:05d}", "LTV", "1", "2", line=n) for n in range(10_000)]
    passes = [outcome(f"p{n:05d}", "LTV", "1", "1", line=n) for n in range(10_000)]
    skips = [
        outcome(f"s{n:04d}", "B", "1", "", skipped="not in environment prod") for n in range(1000)
    ]
    issues = tuple(
        Issue(f"manifests/bad{n:03d}.test.yaml", 1, 1, "as_of", "bad") for n in range(500)
    )
    run = run_of(*failures, *passes, *skips, issues=issues)
    comment = markdown.markdown(run)
    assert len(comment) < MARKDOWN_LIMIT
    assert comment == markdown.markdown(run)
    page = Page.of(comment)
    assert page.problems == []
    assert "| `u00099` |" in comment
    assert "| `u00100` |" not in comment  # at most 100 failures
    more = "(comment size limit): the JSON report (`--format json`) and `--junit` have every one._"
    assert f"_… and 9900 more failures {more}" in comment
    assert f"_… and 480 more invalid files {more}" in comment
    assert "more passes (comment size limit)" in comment
    assert "more skips (comment size limit)" in comment
    for limit in (5_000, 20_000):
        small = markdown.markdown(run, limit=limit)
        assert len(small) < limit
        assert Page.of(small).problems == []
