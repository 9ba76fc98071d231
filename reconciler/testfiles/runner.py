"""Running loaded test files: each expected (user, CA) evaluated as of the file's `as_of`
and compared with what the file expects (`evaluator.expected`: how an expected value is
shown, and what matches it). Pure: results are values, rendered elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from reconciler.evaluator import Calculation, DefinitionError, Timeline, parse_list
from reconciler.evaluator.expected import matches, show
from reconciler.evaluator.values import render_list, text_of
from reconciler.testfiles.kinds import misfit
from reconciler.testfiles.loader import Expectation, Suite

__all__ = [
    "CaseOutcome",
    "Runner",
    "SuiteResult",
    "difference",
    "legible",
    "matches",
    "run",
    "show",
]


@dataclass(frozen=True)
class CaseOutcome:
    """One (user, CA) of a test file: what was expected, what the evaluator computed."""

    file: str
    user: str
    ca: str
    expected: str
    actual: str
    passed: bool
    line: int | None
    column: int | None
    #: How long evaluating it took (a test reporter shows the slow ones).
    seconds: float = 0.0
    #: Why it was not evaluated (`not in environment prod`), else None; neither passed
    #: nor failed.
    skipped: str | None = None
    #: For a failure, what the two values alone do not show: why an expectation the CA's
    #: kind of value can never be fails (`kinds.misfit`), or what two lists differ by.
    hint: str | None = None

    @property
    def failed(self) -> bool:
        return not self.passed and self.skipped is None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class SuiteResult:
    file: str
    outcomes: tuple[CaseOutcome, ...]
    #: How long evaluating the file took (for test reporters).
    seconds: float = 0.0

    @property
    def failures(self) -> int:
        return sum(outcome.failed for outcome in self.outcomes)

    @property
    def skips(self) -> int:
        return sum(outcome.skipped is not None for outcome in self.outcomes)


def legible(value: str) -> str:
    """A value as a test report shows it: as written (`show`), except text a reader could
    not see whole, empty or with white space at an end, which is in JSON quotes: a failure
    reads `expected shoes, got "shoes "`, not two values that look the same."""
    if value == "" or value != value.strip():
        return orjson.dumps(value).decode()
    return value


def difference(expected: object, actual: str) -> str | None:
    """For an expected list that the unique list `actual` is not: the values one has and
    the other lacks (a list of 100 values is no list to compare by eye); else None."""
    values = parse_list(actual)
    if not isinstance(expected, list) or values is None:
        return None
    wanted = {text_of(item) or "" for item in expected}
    missing, extra = sorted(wanted - set(values)), sorted(set(values) - wanted)
    parts = [f"missing: {render_list(missing)}"] if missing else []
    parts += [f"not expected: {render_list(extra)}"] if extra else []
    if not parts:  # the same values: the expectation repeats one
        return "The expected list names a value twice; a unique list holds each once."
    text = "; ".join(parts)
    return f"{text[0].upper()}{text[1:]}."


class Runner:
    """Evaluates test files; each CA is compiled once for all files."""

    def __init__(self, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        self.definitions = definitions
        self._compiled: dict[str, Calculation] = {}

    def calculation(self, ca: str) -> Calculation:
        if ca not in self._compiled:
            self._compiled[ca] = Calculation(self.definitions[ca])
        return self._compiled[ca]

    def run(self, suite: Suite) -> SuiteResult:
        started = time.perf_counter()
        timelines = {name: Timeline(user.events) for name, user in suite.users.items()}
        outcomes = [self._outcome(suite, timelines, e) for e in suite.expectations]
        return SuiteResult(suite.file, tuple(outcomes), time.perf_counter() - started)

    def _outcome(
        self, suite: Suite, timelines: Mapping[str, Timeline], expectation: Expectation
    ) -> CaseOutcome:
        expected = show(expectation.expected)
        if expectation.skipped is not None:
            return CaseOutcome(
                suite.file,
                expectation.user,
                expectation.ca,
                expected,
                "",
                False,
                expectation.line,
                expectation.column,
                skipped=expectation.skipped,
            )
        started = time.perf_counter()
        user = suite.users[expectation.user]
        seed = user.seeds.get(expectation.ca)
        hint = None
        try:
            actual = self.calculation(expectation.ca).evaluate(
                timelines[expectation.user], seed, suite.as_of
            )
            passed = matches(expectation.expected, actual)
            if not passed:
                kind = self.definitions[expectation.ca].get("calculation_type")
                hint = misfit(kind, expectation.expected) or difference(
                    expectation.expected, actual
                )
        except DefinitionError as exc:  # a pattern that ran out of time, say: this case fails
            actual, passed = f"no value: {exc}", False
        return CaseOutcome(
            suite.file,
            expectation.user,
            expectation.ca,
            expected,
            actual,
            passed,
            expectation.line,
            expectation.column,
            time.perf_counter() - started,
            hint=hint,
        )


def run(suites: Sequence[Suite], definitions: Mapping[str, Mapping[str, Any]]) -> list[SuiteResult]:
    """Every expectation of every suite, evaluated."""
    runner = Runner(definitions)
    return [runner.run(suite) for suite in suites]
