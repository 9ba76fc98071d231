"""Test results as JUnit XML for CI test reporters: one `<testsuite>` per test file, one
`<testcase>` per (user, CA), a `<failure>` saying expected vs actual. The document follows
the Jenkins xUnit plugin's junit-10.xsd, which GitHub's and GitLab's reporters read.

A renderer of `reconciler test` results (the only writer of this file format).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree

from reconciler.testfiles.runner import CaseOutcome, SuiteResult


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _case(parent: ElementTree.Element, outcome: CaseOutcome) -> None:
    case = ElementTree.SubElement(
        parent,
        "testcase",
        name=f"{outcome.user}: {outcome.ca}",
        classname=outcome.file,
        time="0.000",
    )
    if not outcome.passed:
        message = f"expected {outcome.expected}, got {outcome.actual}"
        failure = ElementTree.SubElement(case, "failure", message=message, type="ValueMismatch")
        failure.text = (
            f"{outcome.where}: user {outcome.user}, CA {outcome.ca}: expected "
            f"{outcome.expected}, actual {outcome.actual}"
        )


def document(results: Sequence[SuiteResult]) -> bytes:
    """The JUnit XML of a run."""
    stamp = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")
    root = ElementTree.Element(
        "testsuites",
        name="reconciler test",
        tests=str(sum(len(r.outcomes) for r in results)),
        failures=str(sum(r.failures for r in results)),
        errors="0",
        time=_seconds(sum(r.seconds for r in results)),
    )
    for result in results:
        suite = ElementTree.SubElement(
            root,
            "testsuite",
            name=result.file,
            tests=str(len(result.outcomes)),
            failures=str(result.failures),
            errors="0",
            skipped="0",
            time=_seconds(result.seconds),
            timestamp=stamp,
            hostname=socket.gethostname() or "localhost",
            file=result.file,
        )
        for outcome in result.outcomes:
            _case(suite, outcome)
    ElementTree.indent(root)
    body: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def write(path: Path, results: Sequence[SuiteResult]) -> None:
    """Write the JUnit XML of a run to `path` (its folder must exist)."""
    path.write_bytes(document(results))
