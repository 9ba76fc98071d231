"""Test results as JUnit XML for CI test reporters: one `<testsuite>` per test file, one
`<testcase>` per (user, CA), a `<failure>` saying expected vs actual. The document follows
the Jenkins xUnit plugin's junit-10.xsd, which GitHub's and GitLab's reporters read.

A renderer of `reconciler test` results (the only writer of this file format).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree

from reconciler.testfiles.runner import CaseOutcome, SuiteResult

#: What XML 1.0 cannot hold at all, not even as a character reference: control characters
#: but tab and line breaks, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    """`text` with what XML cannot hold written as an escape (`\\x01`), as the terminal
    shows it: a reporter must be able to read the file a user's data went into."""
    return _NOT_XML.sub(lambda found: found[0].encode("unicode_escape").decode("ascii"), text)


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _case(parent: ElementTree.Element, outcome: CaseOutcome) -> None:
    case = ElementTree.SubElement(
        parent,
        "testcase",
        name=_xml(f"{outcome.user}: {outcome.ca}"),
        classname=_xml(outcome.file),
        time="0.000",
    )
    if not outcome.passed:
        message = _xml(f"expected {outcome.expected}, got {outcome.actual}")
        failure = ElementTree.SubElement(case, "failure", message=message, type="ValueMismatch")
        failure.text = _xml(
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
            name=_xml(result.file),
            tests=str(len(result.outcomes)),
            failures=str(result.failures),
            errors="0",
            skipped="0",
            time=_seconds(result.seconds),
            timestamp=stamp,
            hostname=socket.gethostname() or "localhost",
            file=_xml(result.file),
        )
        for outcome in result.outcomes:
            _case(suite, outcome)
    ElementTree.indent(root)
    body: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def write(path: Path, results: Sequence[SuiteResult]) -> None:
    """Write the JUnit XML of a run to `path` (its folder must exist)."""
    path.write_bytes(document(results))
