"""`reconciler test --junit` output is valid against the JUnit schema CI reporters read
(the Jenkins xUnit plugin's junit-10.xsd, vendored in tests/support/junit/)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema

from reconciler.testfiles import junit
from reconciler.testfiles.runner import CaseOutcome, SuiteResult

XSD = Path(__file__).resolve().parents[1] / "support" / "junit" / "junit-10.xsd"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(XSD)


def _outcome(user: str, ca: str, expected: str, actual: str) -> CaseOutcome:
    return CaseOutcome(
        "manifests/a.test.yaml", user, ca, expected, actual, expected == actual, 7, 5
    )


RESULTS = [
    SuiteResult(
        "manifests/a.test.yaml",
        (
            _outcome("alice", "LTV", "130", "130"),
            _outcome("bob", 'Odd <"&> name', "1", "-"),
        ),
        0.0123,
    ),
    SuiteResult("manifests/empty.test.yaml", (), 0.0),
]


def test_document_validates_against_the_junit_schema(schema: xmlschema.XMLSchema) -> None:
    schema.validate(junit.document(RESULTS))


def test_one_suite_per_file_one_case_per_user_and_ca_and_the_failure_says_why() -> None:
    root = ElementTree.fromstring(junit.document(RESULTS))
    assert (root.get("tests"), root.get("failures")) == ("2", "1")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["manifests/a.test.yaml", "manifests/empty.test.yaml"]
    cases = suites[0].findall("testcase")
    assert [c.get("name") for c in cases] == ["alice: LTV", 'bob: Odd <"&> name']
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "expected 1, got -"
    assert failure.text is not None
    assert "manifests/a.test.yaml:7" in failure.text
    assert "user bob" in failure.text


def test_the_schema_check_catches_a_broken_document(schema: xmlschema.XMLSchema) -> None:
    """The vendored schema really constrains the document (a testcase needs a name)."""
    broken = junit.document(RESULTS).replace(b'name="alice: LTV" ', b"")
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        schema.validate(broken)


def test_characters_xml_cannot_hold_are_written_as_escapes(schema: xmlschema.XMLSchema) -> None:
    """User data with control characters, U+FFFE or a lone surrogate (JSON can carry one)
    still gives a document every reporter parses; tabs, line breaks and text stay as they
    are."""
    odd = SuiteResult(
        "manifests/odd\x07.test.yaml",
        (_outcome("u\x01", "Zip\ufffe", "ab", "a\x02b\ud800"), _outcome("t\tab", "é", "ü", "ü")),
        0.0,
    )
    document = junit.document([odd])
    schema.validate(document)
    suite = ElementTree.fromstring(document).find("testsuite")
    assert suite is not None
    assert suite.get("name") == "manifests/odd\\x07.test.yaml"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["u\\x01: Zip\\ufffe", "t\tab: é"]
    failure = cases[0].find("failure")
    assert failure is not None
    assert failure.get("message") == "expected ab, got a\\x02b\\ud800"


def test_a_failure_shows_a_trailing_space_of_a_value() -> None:
    """A reporter showed `expected shoes, got shoes `: two values that look the same."""
    spaced = SuiteResult("manifests/a.test.yaml", (_outcome("u", "Term", "shoes", "shoes "),))
    case = ElementTree.fromstring(junit.document([spaced])).find("testsuite/testcase")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == 'expected shoes, got "shoes "'
    assert failure.text is not None
    assert failure.text.endswith('expected shoes, actual "shoes "')


def test_each_case_carries_its_own_time() -> None:
    """A reporter lists the slow cases (a pattern near its 1 s bound): every case once said
    `time="0.000"` whatever it took."""
    slow = replace(_outcome("u", "Evil", "0", "0"), seconds=1.25)
    suite = SuiteResult("manifests/a.test.yaml", (slow, _outcome("u", "LTV", "1", "1")), 1.3)
    cases = ElementTree.fromstring(junit.document([suite])).iter("testcase")
    assert [case.get("time") for case in cases] == ["1.250", "0.000"]
