"""Test results as JUnit XML for CI test reporters: one `<testsuite>` per test file, one
`<testcase>` per (user, CA), a `<failure>` saying expected vs actual, a `<skipped>` saying
why a case was not evaluated. The document follows the Jenkins xUnit plugin's
junit-10.xsd, which GitHub's and GitLab's reporters read.

A renderer of `reconciler test` results (the only writer of this file format).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree

from reconciler.errors import Issue, ReconcilerError
from reconciler.files import check_creatable, write_atomically
from reconciler.testfiles.runner import CaseOutcome, SuiteResult, legible

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
        time=_seconds(outcome.seconds),
    )
    if outcome.skipped is not None:
        ElementTree.SubElement(case, "skipped", message=_xml(outcome.skipped))
    elif not outcome.passed:
        expected, actual = legible(outcome.expected), legible(outcome.actual)
        message = _xml(f"expected {expected}, got {actual}")
        failure = ElementTree.SubElement(case, "failure", message=message, type="ValueMismatch")
        hint = "" if outcome.hint is None else f"\n{outcome.hint}"
        failure.text = _xml(
            f"{outcome.where}: user {outcome.user}, CA {outcome.ca}: expected "
            f"{expected}, actual {actual}{hint}"
        )


def _suite(
    root: ElementTree.Element,
    file: str,
    tests: int,
    failures: int,
    errors: int,
    seconds: float,
    *,
    skipped: int = 0,
    is_file: bool = True,
) -> ElementTree.Element:
    suite = ElementTree.SubElement(
        root,
        "testsuite",
        name=_xml(file),
        tests=str(tests),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=_seconds(seconds),
        timestamp=datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds"),
        hostname=socket.gethostname() or "localhost",
        file=_xml(file),
    )
    if not is_file:  # a reporter links a suite's `file`: only a file's
        del suite.attrib["file"]
    return suite


def _root(tests: int, failures: int, errors: int, seconds: float) -> ElementTree.Element:
    return ElementTree.Element(
        "testsuites",
        name="reconciler test",
        tests=str(tests),
        failures=str(failures),
        errors=str(errors),
        time=_seconds(seconds),
    )


def _bytes(root: ElementTree.Element) -> bytes:
    ElementTree.indent(root)
    body: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def _by_file(issues: Sequence[Issue]) -> dict[str, tuple[str, str]]:
    """file -> (message, the problems' text, as the terminal lists them)."""
    by_file: dict[str, list[Issue]] = {}
    for issue in issues:
        by_file.setdefault(issue.file, []).append(issue)
    return {
        file: (
            f"{file}: {len(found)} problem{'s' if len(found) != 1 else ''}",
            "\n".join(str(issue) for issue in found),
        )
        for file, found in by_file.items()
    }


def _errors(
    root: ElementTree.Element, by_source: dict[str, tuple[str, str]], kind: str, *, files: bool
) -> None:
    """Suites of one case in error each: source -> (message, the problems' text)."""
    for source, (message, text) in by_source.items():
        suite = _suite(root, source, 1, 0, 1, 0.0, is_file=files)
        case = ElementTree.SubElement(suite, "testcase", name="load", classname=_xml(source))
        error = ElementTree.SubElement(case, "error", message=_xml(message), type=kind)
        error.text = _xml(text)


def document(results: Sequence[SuiteResult], issues: Sequence[Issue] = ()) -> bytes:
    """The JUnit XML of a run: a suite per test file that ran, and one per invalid file
    (test file or events file, `issues`) whose one case is in error, listing its problems:
    a CI reporter shows both the results and why a file did not run."""
    broken = _by_file(issues)
    root = _root(
        sum(len(r.outcomes) for r in results) + len(broken),
        sum(r.failures for r in results),
        len(broken),
        sum(r.seconds for r in results),
    )
    for result in results:
        suite = _suite(
            root,
            result.file,
            len(result.outcomes),
            result.failures,
            0,
            result.seconds,
            skipped=result.skips,
        )
        for outcome in result.outcomes:
            _case(suite, outcome)
    _errors(root, broken, "InvalidFile", files=True)
    return _bytes(root)


def problems_document(issues: Sequence[Issue]) -> bytes:
    """The JUnit XML of a run that could not start (invalid manifests): the files that
    could not be read, each a suite whose one case is in error, listing its problems as
    the terminal does. A CI reporter then shows why, not a missing file."""
    return document((), issues)


def error_document(message: str) -> bytes:
    """The JUnit XML of a run stopped by an error in no file (a bad `--env` or
    RECONCILER_ENV): one suite whose one case is in error, saying why. Without it, a CI
    reporter found no report, or the report an earlier run left in its place."""
    first = message.split("\n", 1)[0]
    root = _root(1, 0, 1, 0.0)
    _errors(root, {"reconciler test": (first, message)}, "Error", files=False)
    return _bytes(root)


def check(path: Path) -> None:
    """Refuse, before any test runs, a `--junit` path `write` can only fail on: a folder
    that does not exist, a place the system refuses. Found after the run, it came below a
    screen of results that had all been computed for nothing."""
    check_creatable(path, "--junit")
    if not path.parent.is_dir():
        raise ReconcilerError(
            f"--junit {path}: cannot write it: no folder {path.parent} (it is not made)"
        )


def write(path: Path, body: bytes) -> None:
    """Write a JUnit XML document to `path` whole or not at all (a full disk leaves the
    report before it, never half of one for the CI reporter to choke on); its folder must
    exist. A refusal is a ReconcilerError naming --junit and the path."""
    write_atomically(path, body, "--junit", make_folders=False)
