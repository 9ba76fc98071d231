"""A run of `reconciler test` as one value, and its JSON report (`--format json`,
`format_version` 1): what the text, Markdown and JSON reports read.

A renderer of test results, like `junit`: the results of `runner.run` and the problems of
`loader.collect` in, plain data out. Values are strings as mParticle stores them (`-` for
no value), exact: the text report's quotes around white space (`runner.legible`) are the
terminal's, not the data's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from reconciler.errors import Issue
from reconciler.testfiles.runner import CaseOutcome, SuiteResult

#: The JSON report's format; a change that would break a reader of it changes this.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class TestRun:
    """What one run found: the results of the valid test files, every test file's name,
    the problems of the invalid ones, the environment tested (None without environments)
    and, with `--only`/`--exclude`, how many expectations were not selected."""

    __test__ = False  # not a pytest test class, whatever its name says

    results: tuple[SuiteResult, ...]
    files: tuple[str, ...] = ()
    issues: tuple[Issue, ...] = ()
    invalid: tuple[str, ...] = ()
    environment: str | None = None
    not_selected: int | None = None

    @property
    def outcomes(self) -> list[CaseOutcome]:
        return [outcome for result in self.results for outcome in result.outcomes]

    @property
    def passed(self) -> int:
        return sum(outcome.passed for outcome in self.outcomes)

    @property
    def failed(self) -> int:
        return sum(result.failures for result in self.results)

    @property
    def skipped(self) -> int:
        return sum(result.skips for result in self.results)

    @property
    def ok(self) -> bool:
        """Whether the run passes: no failure, no invalid file (exit code 0)."""
        return not self.failed and not self.issues

    def summary(self) -> str:
        """`Tests: 22 passed, 1 failed, 23 total (3 files, 1 invalid).`, and how many were
        not selected."""
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        total = len(self.outcomes)
        files = len(self.files)
        broken = f", {len(self.invalid)} invalid" if self.invalid else ""
        line = (
            f"Tests: {self.passed} passed, {self.failed} failed{skipped}, {total} total "
            f"({files} file{'s' if files != 1 else ''}{broken})."
        )
        if self.not_selected is not None:  # as plan's summary says it
            line += f" {self.not_selected} not selected."
        return line


def _result(outcome: CaseOutcome) -> dict[str, Any]:
    skipped = outcome.skipped is not None
    return {
        "file": outcome.file,
        "line": outcome.line,
        "column": outcome.column,
        "user": outcome.user,
        "ca": outcome.ca,
        "expected": outcome.expected,
        "actual": None if skipped else outcome.actual,
        "passed": outcome.passed,
        "skipped": outcome.skipped,
        "hint": outcome.hint,
    }


def _problem(issue: Issue) -> dict[str, Any]:
    return {
        "file": issue.file,
        "line": issue.line,
        "column": issue.column,
        "path": issue.path,
        "message": issue.message,
    }


def document(run: TestRun) -> dict[str, Any]:
    """The JSON report as plain data: every result, in file order, and every problem."""
    status: Literal["passed", "failed"] = "passed" if run.ok else "failed"
    return {
        "format_version": FORMAT_VERSION,
        "status": status,
        "environment": run.environment,
        "summary": {
            "passed": run.passed,
            "failed": run.failed,
            "skipped": run.skipped,
            "total": len(run.outcomes),
            "files": len(run.files),
            "invalid": len(run.invalid),
            "not_selected": run.not_selected,
        },
        "results": [_result(outcome) for outcome in run.outcomes],
        "invalid": list(run.invalid),
        "problems": [_problem(issue) for issue in run.issues],
    }


def to_json(run: TestRun) -> str:
    return orjson.dumps(document(run), option=orjson.OPT_INDENT_2).decode() + "\n"
