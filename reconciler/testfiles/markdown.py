"""`reconciler test` as a pull-request comment (`--format markdown`): a heading and the
summary line, the failures first (expected vs actual, the expectation's `file:line`, why
one can never pass), the invalid files with their first problems, then the passes and the
skips collapsed; cut deterministically below GitHub's comment limit, each cut saying how
much is not shown.

A renderer of test results, like `junit`. Names, values and messages come from test files
and manifests: each is made safe for GitHub as the plan's comment makes its own
(`plan.gfm`: code spans, inert mentions, references and commit-like words, escaping).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from reconciler.errors import Issue, printable
from reconciler.plan.gfm import MARKDOWN_LIMIT, cell, code, fence, in_cell, inline
from reconciler.testfiles.report import TestRun
from reconciler.testfiles.runner import CaseOutcome, legible

#: How many failures the comment lists at most (and no more than half of it).
FAILURE_ROWS = 100
#: How many invalid files the comment lists, and how many problems of each.
INVALID_FILES = 20
SHOWN_PROBLEMS = 5
#: Values longer than this are cut (the JSON report has them whole).
VALUE_WIDTH = 120


def _value(value: str) -> str:
    """A value in a table cell, as the text report shows it (`legible`), cut."""
    text = printable(legible(value))
    if len(text) > VALUE_WIDTH:
        text = text[: VALUE_WIDTH - 1] + "…"
    return cell(text)


def _more(count: int, what: str) -> str:
    return (
        f"_… and {count} more {what} (comment size limit): the JSON report (`--format json`) "
        "and `--junit` have every one._"
    )


def _fitted(
    head: str,
    rows: Sequence[str],
    room: int,
    what: str,
    at_most: int | None = None,
    between: str = "\n",
) -> str:
    """`head` and the first `rows` that fit in `room` characters (at most `at_most`), each
    after `between`, with a note of how many more there are; only the note when no row
    fits."""
    out = head
    shown = 0
    for row in rows[:at_most]:
        rest = len(rows) - shown - 1
        room_for_note = len(_more(rest, what)) + 2 if rest else 0
        if len(out) + len(between) + len(row) + room_for_note > room:
            break
        out += between + row
        shown += 1
    if shown == len(rows):
        return out
    note = _more(len(rows) - shown, what)
    return f"{out}\n\n{note}" if shown else note


def _table(
    title: str | None,
    columns: Sequence[str],
    outcomes: Sequence[CaseOutcome],
    row: Callable[[CaseOutcome], Sequence[str]],
    room: int,
    what: str,
    at_most: int | None = None,
) -> str:
    head = f"| {' | '.join(columns)} |\n|{'---|' * len(columns)}"
    if title:
        head = f"{title}\n\n{head}"
    rows = [f"| {' | '.join(row(outcome))} |" for outcome in outcomes]
    return _fitted(head, rows, room, what, at_most)


def _failure(outcome: CaseOutcome, hints: bool) -> list[str]:
    cells = [
        cell(outcome.user),
        cell(outcome.ca),
        _value(outcome.expected),
        _value(outcome.actual),
        cell(outcome.where),
    ]
    if hints:
        cells.append(in_cell(outcome.hint or ""))
    return cells


def _failures(run: TestRun, room: int) -> str:
    failed = [outcome for outcome in run.outcomes if outcome.failed]
    if not failed:
        return ""
    hints = any(outcome.hint is not None for outcome in failed)
    columns = ["user", "CA", "expected", "actual", "where", *(["why"] if hints else [])]
    title = f"**Failed** ({len(failed)}):"
    table = _table(
        title, columns, failed, lambda o: _failure(o, hints), room - 2, "failures", FAILURE_ROWS
    )
    return table + "\n\n"


def _problems(file: str, issues: Sequence[Issue]) -> str:
    """One invalid file: its name, how many problems, the first few as the terminal lists
    them (in a code block: read as written)."""
    lines = [str(issue) for issue in issues[:SHOWN_PROBLEMS]]
    if len(issues) > SHOWN_PROBLEMS:
        lines.append(f"... and {len(issues) - SHOWN_PROBLEMS} more")
    body = "\n".join(lines)
    fenced = fence(body)
    count = f"{len(issues)} problem{'s' if len(issues) != 1 else ''}"
    return f"- {code(printable(file))}: {count}\n\n{fenced}text\n{body}\n{fenced}"


def _invalid(run: TestRun, room: int) -> str:
    """The files with problems (test files, and the events files they read), each with its
    first problems; stderr and `--junit` have them all."""
    by_file: dict[str, list[Issue]] = {}
    for issue in run.issues:
        by_file.setdefault(issue.file, []).append(issue)
    if not by_file:
        return ""
    title = f"**Invalid files** ({len(by_file)}): they did not run."
    chunks = [_problems(file, issues) for file, issues in by_file.items()]
    fitted = _fitted(title, chunks, room - 2, "invalid files", INVALID_FILES, between="\n\n")
    return fitted + "\n\n"


def _collapsed(summary: str, table: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{table}\n\n</details>\n"


#: What `<details>`, its summary line and the blank lines around a table take.
_DETAILS = 80


def _passes(run: TestRun, room: int) -> str:
    passed = [outcome for outcome in run.outcomes if outcome.passed]
    if not passed:
        return ""
    table = _table(
        None,
        ["user", "CA", "value", "where"],
        passed,
        lambda o: [cell(o.user), cell(o.ca), _value(o.actual), cell(o.where)],
        room - _DETAILS,
        "passes",
    )
    return _collapsed(f"✅ {len(passed)} passed", table)


def _skips(run: TestRun, room: int) -> str:
    skipped = [outcome for outcome in run.outcomes if outcome.skipped is not None]
    if not skipped:
        return ""
    table = _table(
        None,
        ["user", "CA", "why", "where"],
        skipped,
        lambda o: [cell(o.user), cell(o.ca), in_cell(o.skipped or ""), cell(o.where)],
        room - _DETAILS,
        "skips",
    )
    return _collapsed(f"⏭️ {len(skipped)} skipped", table)


def _heading(run: TestRun) -> str:
    parts = [f"{run.failed} failed"] if run.failed else []
    invalid = len(run.invalid)
    if invalid:
        parts.append(f"{invalid} invalid file{'s' if invalid != 1 else ''}")
    if not parts:
        parts.append(f"{run.passed} passed")
    where = f" (environment {inline(run.environment)})" if run.environment else ""
    return f"### {'✅' if run.ok else '❌'} reconciler test: {', '.join(parts)}{where}"


def markdown(run: TestRun, limit: int = MARKDOWN_LIMIT) -> str:
    """The comment: under `limit` characters (the failures take at most half of it, the
    invalid files a quarter, the skips a quarter of what is left, the passes the rest)."""
    head = f"{_heading(run)}\n\n**{html.escape(run.summary())}**\n\n"
    if not run.files:
        head += "_No test files (`*.test.yaml`) below the manifest directory._\n\n"
    out = head + _failures(run, limit // 2) + _invalid(run, limit // 4)
    rest = limit - len(out) - 1
    skips = _skips(run, rest // 4)
    return out + _passes(run, rest - len(skips)) + skips
