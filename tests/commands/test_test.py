"""`reconciler test [DIR | FILE...] [--env NAME] [--junit FILE] [--quiet] [--only/--exclude
GLOB]`: the example workspace's test files pass; a broken condition fails naming the user,
the CA, expected and actual; --junit writes JUnit XML the CI reporters' schema accepts; bad
input is one located paragraph, and an invalid test file does not stop the others."""

from __future__ import annotations

import io
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema
from rich.console import Console

from reconciler import manifest, testfiles
from reconciler.commands import test as command
from reconciler.console import Output
from tests.support.cli import run_cli
from tests.support.readme import transcript

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "manifests"
XSD = ROOT / "tests" / "support" / "junit" / "junit-10.xsd"


def _copy(tmp_path: Path) -> Path:
    directory = tmp_path / "manifests"
    shutil.copytree(EXAMPLE, directory, ignore=shutil.ignore_patterns(".reconciler"))
    return directory


def test_the_example_workspace_passes(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    result = run_cli("test", EXAMPLE, "--junit", junit)
    assert result.exit_code == 0, result.output
    assert "PASS alice: LTV = 129.99" in result.stdout
    assert "Tests: 24 passed, 0 failed, 24 total (3 files)." in result.stdout
    xmlschema.XMLSchema(XSD).validate(junit.read_bytes())


def test_the_example_test_files_cover_every_ca() -> None:
    definitions = {d.name: d.ca.canonical for d in manifest.load(EXAMPLE).cas}
    suites = testfiles.load(EXAMPLE, definitions)
    tested = {e.ca for suite in suites for e in suite.expectations}
    assert tested == set(definitions)


def test_a_broken_condition_fails_naming_user_ca_expected_and_actual(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    commerce = directory / "commerce.yaml"
    text = commerce.read_text()
    broken = text.replace(
        'attribute_name: Checkout Step, value: "22"', 'attribute_name: Checkout Step, value: "21"'
    )
    assert broken != text
    commerce.write_text(broken)
    junit = tmp_path / "report.xml"
    result = run_cli("--no-color", "test", directory, "--junit", junit)
    assert result.exit_code == 1
    where = f"{directory / 'commerce.test.yaml'}:"
    assert f"FAIL alice: LTV: expected 129.99, got 120  ({where}" in result.stdout
    assert "FAIL bob: LTV: expected 30, got -" in result.stdout
    assert "Tests: 22 passed, 2 failed, 24 total (3 files)." in result.stdout
    xmlschema.XMLSchema(XSD).validate(junit.read_bytes())
    failures = ElementTree.parse(junit).getroot().iter("failure")
    assert sorted(f.get("message") or "" for f in failures) == [
        "expected 129.99, got 120",
        "expected 30, got -",
    ]


def test_a_failure_shows_the_white_space_that_makes_it_fail(tmp_path: Path) -> None:
    """`expected running shoes, got running shoes ` (a trailing space) read like a false
    failure, and an expected `[]` printed `expected , got ...`."""
    directory = _copy(tmp_path)
    path = directory / "engagement.test.yaml"
    text = path.read_text()
    spaced = text.replace("{Term: running shoes,", '{Term: "running shoes ",', 1)
    assert spaced != text
    path.write_text(spaced)
    (directory / "empty.test.yaml").write_text(
        "as_of: 2024-06-01T00:00:00Z\nusers:\n  carol: {}\n"
        "expect:\n  carol: {Sessions Last 30 Days: []}\n"
    )
    result = run_cli("--no-color", "test", directory)
    assert result.exit_code == 1
    assert 'FAIL alice: Last Search Term: expected running shoes, got "running shoes "' in (
        result.stdout
    )
    assert "FAIL carol: Sessions Last 30 Days: expected -, got 0" in result.stdout


def test_an_expectation_that_can_never_pass_says_why_under_its_failure(tmp_path: Path) -> None:
    """`expected hat, got "hat"` and `expected 160.50, got 160.5` read like false failures:
    the expectation is of a kind the CA's value never is (a single value for a unique list,
    quoted text for a sum), and the report says so, in the terminal and in JUnit."""
    directory = _copy(tmp_path)
    (directory / "kinds.test.yaml").write_text(
        "as_of: 2024-06-01T00:00:00Z\nusers:\n  carol:\n    events:\n"
        "      - {event_type: screen_view, data: {screen_name: Screen View,\n"
        '          timestamp_unixtime_ms: "2024-05-20T09:00:00Z",'
        " custom_attributes: {Screen Name: Home}}}\n"
        'expect:\n  carol: {Screens Visited: Home, LTV: "0.0", Sessions Last 30 Days: null}\n'
    )
    junit = tmp_path / "report.xml"
    result = run_cli("--no-color", "test", directory, "--quiet", "--junit", junit)
    assert result.exit_code == 1
    where = directory / "kinds.test.yaml"
    lines = result.stdout.splitlines()
    under = {line: lines[n + 1] for n, line in enumerate(lines[:-1])}
    assert under[f'  FAIL carol: Screens Visited: expected Home, got "Home"  ({where}:8)'] == (
        "       A unique_list's value is a list of values or null (no value), not the text "
        "'Home'; write [Home] for a list of one value."
    )
    assert under[f"  FAIL carol: LTV: expected 0.0, got -  ({where}:8)"] == (
        "       A sum's value is a number, and '0.0' in quotes is text, compared as written "
        "(the number is written 0): write it without quotes to compare numbers."
    )
    assert under[f"  FAIL carol: Sessions Last 30 Days: expected -, got 0  ({where}:8)"] == (
        "       A count's value is a number (0 when no event counts), never null."
    )
    texts = [f.text or "" for f in ElementTree.parse(junit).getroot().iter("failure")]
    assert any(t.endswith("write [Home] for a list of one value.") for t in texts), texts


def test_a_failed_list_says_which_values_differ(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    path = directory / "engagement.test.yaml"
    text = path.read_text()
    changed = text.replace("Screens Visited: [Cart, Home]", "Screens Visited: [Cart, Checkout]")
    assert changed != text
    path.write_text(changed)
    result = run_cli("--no-color", "test", directory, "--quiet")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    failure = (
        f'  FAIL alice: Screens Visited: expected "Cart","Checkout", got "Cart","Home"  ({path}:49)'
    )
    assert lines[lines.index(failure) + 1] == '       Missing: "Checkout"; not expected: "Home".'


def _failing(tmp_path: Path) -> Path:
    """The example workspace with bob's Average Order Value expected 31 (it is 30) and an
    invalid test file."""
    directory = _copy(tmp_path)
    path = directory / "commerce.test.yaml"
    path.write_text(path.read_text().replace("Average Order Value: 30", "Average Order Value: 31"))
    wishlist = directory / "wishlist.test.yaml"
    wishlist.write_text(wishlist.read_text().replace("expect:", "expectt:"))
    return directory


def test_the_failures_are_repeated_just_above_the_summary(tmp_path: Path) -> None:
    """In a CI log of thousands of PASS lines, the failures were buried mid-log: they are
    recapped, with the invalid files, where the log ends (pytest's short test summary)."""
    directory = _failing(tmp_path)
    result = run_cli("--no-color", "test", directory)
    assert result.exit_code == 1
    fail = (
        "  FAIL bob: Average Order Value: expected 31, got 30  "
        f"({directory / 'commerce.test.yaml'}:78)"
    )
    lines = result.stdout.splitlines()
    assert lines.count(fail) == 2
    assert lines[-5:] == [
        "",
        "Failed:",
        fail,
        f"  INVALID {directory / 'wishlist.test.yaml'}: 1 problem (listed on stderr)",
        "Tests: 22 passed, 1 failed, 23 total (3 files, 1 invalid).",
    ]
    passing = run_cli("--no-color", "test", EXAMPLE)
    assert "Failed:" not in passing.stdout


def test_quiet_prints_only_failures_skips_invalid_files_and_the_summary(tmp_path: Path) -> None:
    directory = _failing(tmp_path)
    result = run_cli("--no-color", "test", directory, "-q")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        str(directory / "commerce.test.yaml"),
        "  FAIL bob: Average Order Value: expected 31, got 30  "
        f"({directory / 'commerce.test.yaml'}:78)",
        "Failed:",  # the invalid file, on stdout too: the failure is all there is above
        f"  INVALID {directory / 'wishlist.test.yaml'}: 1 problem (listed on stderr)",
        "Tests: 22 passed, 1 failed, 23 total (3 files, 1 invalid).",
    ]
    assert f"{directory / 'wishlist.test.yaml'}:" in result.stderr
    passing = run_cli("--no-color", "test", EXAMPLE, "--quiet")
    assert passing.exit_code == 0
    assert passing.stdout == "Tests: 24 passed, 0 failed, 24 total (3 files).\n"
    shared = tmp_path / "environments"
    shared.mkdir()
    _environments(shared)
    skipping = run_cli("--no-color", "test", shared, "--env", "prod", "-q")
    assert skipping.exit_code == 0
    assert skipping.stdout.splitlines() == [
        str(shared / "shared.test.yaml"),
        "  SKIP alice: Beta (not in environment prod)",
        "Tests: 1 passed, 0 failed, 1 skipped, 2 total (1 file).",
    ]


def test_only_and_exclude_select_expectations_by_ca_name(tmp_path: Path) -> None:
    """As plan's and apply's: CA-name globs, repeatable, case-sensitive; the rest is
    counted as not selected, and a glob that matches no CA gets plan's warning."""
    directory = _failing(tmp_path)
    wishlist = directory / "wishlist.test.yaml"
    wishlist.write_text(wishlist.read_text().replace("expectt:", "expect:"))
    result = run_cli(
        "--no-color",
        "test",
        directory,
        *("--only", "LTV", "--only", "First*", "--exclude", "First Seen"),
        *("--exclude", "ltv"),
    )
    assert result.exit_code == 0, result.output  # bob's failing expectation is not selected
    assert result.stdout.splitlines() == [
        str(directory / "commerce.test.yaml"),
        "  PASS alice: LTV = 129.99",
        "  PASS bob: LTV = 30",
        str(directory / "engagement.test.yaml"),
        "  PASS alice: First Search Term = boots",
        "  PASS bob: First Search Term = -",
        "Tests: 4 passed, 0 failed, 4 total (3 files). 20 not selected.",
    ]
    assert result.stderr == (
        "Warning: --exclude ltv matches no CA in the manifests (globs are case-sensitive): "
        "check the pattern\n"
    )
    failing = run_cli("--no-color", "test", directory, "--only", "Average*", "-q")
    assert failing.exit_code == 1
    assert "FAIL bob: Average Order Value: expected 31, got 30" in failing.stdout


def test_a_test_file_path_runs_that_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`reconciler test manifests/x.test.yaml` said "a file, not a directory": it runs that
    file with the manifests of the folder holding the reconciler.yaml above it; another
    file's problems are not this run's."""
    directory = _failing(tmp_path)
    commerce = directory / "commerce.test.yaml"
    monkeypatch.chdir(tmp_path)
    result = run_cli("--no-color", "test", "manifests/engagement.test.yaml", "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Tests: 11 passed, 0 failed, 11 total (1 file).\n"
    both = run_cli("--no-color", "test", "manifests/engagement.test.yaml", commerce, "-q")
    assert both.exit_code == 1
    assert "(2 files)." in both.stdout
    (directory / "growth").mkdir()
    shutil.move(commerce, directory / "growth" / "commerce.test.yaml")
    (directory / "growth" / "commerce.events.jsonl").symlink_to(directory / "commerce.events.jsonl")
    monkeypatch.chdir(directory / "growth")  # below the manifest directory
    nested = run_cli("--no-color", "test", "commerce.test.yaml")
    assert nested.exit_code == 1
    assert f"  FAIL bob: Average Order Value: expected 31, got 30  ({directory}/growth/" in (
        nested.stdout
    )
    assert "(1 file)." in nested.stdout


def test_test_file_paths_that_name_no_one_manifest_directory_are_refused(
    tmp_path: Path,
) -> None:
    directory = _copy(tmp_path)
    alone = tmp_path / "alone.test.yaml"
    alone.write_text("as_of: 2024-03-01\nusers: {}\nexpect: {}\n")
    lost = run_cli("test", alone)
    assert lost.exit_code == 1
    assert (
        f"{alone}: no reconciler.yaml in its folder or any folder above it; a test file runs "
        "with the manifests of the folder holding the reconciler.yaml"
    ) in lost.stderr
    missing = run_cli("test", directory / "nope.test.yaml")
    assert missing.exit_code == 1
    assert f"{directory / 'nope.test.yaml'}: no such test file" in missing.stderr
    other = _copy(tmp_path / "other")
    two = run_cli("test", directory / "commerce.test.yaml", other / "commerce.test.yaml")
    assert two.exit_code == 1
    assert f"belong to different manifest directories ({directory}, {other})" in two.stderr
    mixed = run_cli("test", directory, directory / "commerce.test.yaml")
    assert mixed.exit_code == 1
    assert "give one manifest directory, or test files (*.test.yaml)" in mixed.stderr
    # A test file misnamed (or a manifest) is not taken for a manifest directory: "a file,
    # not a directory: commands read a whole manifest directory" did not say why.
    misnamed = directory / "search_test.yaml"
    misnamed.write_text((directory / "engagement.test.yaml").read_text())
    refused = run_cli("test", misnamed)
    assert refused.exit_code == 1
    assert (
        f"{misnamed} is a file but no test file: test files are named *.test.yaml (or "
        "*.test.yml); give one manifest directory, or test files"
    ) in " ".join(refused.stderr.split())


def test_the_readme_shows_what_a_failing_expectation_prints(tmp_path: Path) -> None:
    """README `reconciler test`: bob's Average Order Value expected 31, as printed."""
    command, shown = transcript("### `reconciler test [DIR | FILE...]`")
    assert command == "reconciler test manifests/"
    directory = _copy(tmp_path)
    path = directory / "commerce.test.yaml"
    lines = path.read_text().splitlines(keepends=True)
    at = lines.index("  bob:\n", lines.index("expect:\n")) + 2
    assert lines[at] == "    Average Order Value: 30\n"
    lines[at] = "    Average Order Value: 31\n"
    path.write_text("".join(lines))
    result = run_cli("--no-color", "test", directory)
    assert result.exit_code == 1
    printed = result.stdout.replace(f"{directory}/", "manifests/").splitlines()
    assert [line for line in shown if line not in printed] == []


def test_an_invalid_test_file_is_located_and_the_other_files_run(tmp_path: Path) -> None:
    """One typo in one test file hid every other file's results (pytest reports the
    collection error and runs the rest): the other files run and report, the invalid one
    is located and counted, and the exit code is 1."""
    directory = _copy(tmp_path)
    path = directory / "engagement.test.yaml"
    path.write_text(path.read_text().replace("Sessions Last 30 Days: 2", "Sessions Last 30: 2"))
    result = run_cli("--no-color", "test", directory)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert (
        f'{path}:44:5: expect.alice["Sessions Last 30"]: no CA named "Sessions Last 30" in the '
        "manifests; did you mean `Sessions Last 30 Days`?" in result.stderr
    )
    assert "PASS alice: LTV = 129.99" in result.stdout
    assert str(path) not in result.stdout.splitlines()  # no results of the invalid file
    assert "Tests: 13 passed, 0 failed, 13 total (3 files, 1 invalid)." in result.stdout


def test_an_invalid_events_file_keeps_the_test_files_using_it_from_running(
    tmp_path: Path,
) -> None:
    """Run on part of a user's events, a test would pass or fail for the wrong reason."""
    directory = _copy(tmp_path)
    events = directory / "commerce.events.jsonl"
    events.write_text(events.read_text() + "{not json\n")
    result = run_cli("--no-color", "test", directory)
    assert result.exit_code == 1
    assert f"{events}:" in result.stderr
    users = [line for line in result.stderr.splitlines() if "has errors (listed with it)" in line]
    assert users != []
    using = users[0].strip().split(":", 1)[0]
    assert using not in result.stdout.splitlines()
    assert "(3 files, 1 invalid)." in result.stdout


def test_junit_reports_the_results_and_each_invalid_file(tmp_path: Path) -> None:
    """The report holds the files that ran and, for each invalid file, one suite whose case
    is in error with its problems; when the manifests are invalid (nothing can run), one
    suite per broken manifest, instead of a missing (or an earlier run's) report."""
    directory = _copy(tmp_path)
    path = directory / "engagement.test.yaml"
    path.write_text(path.read_text().replace("Sessions Last 30 Days: 2", "Sessions Last 30: 2"))
    junit = tmp_path / "report.xml"
    junit.write_text("<testsuites/>")  # an earlier run's
    result = run_cli("test", directory, "--junit", junit)
    assert result.exit_code == 1
    xmlschema.XMLSchema(XSD).validate(junit.read_bytes())
    root = ElementTree.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("14", "0", "1")
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert list(suites) == [
        str(directory / name)
        for name in ("commerce.test.yaml", "wishlist.test.yaml", "engagement.test.yaml")
    ]
    [error] = suites[str(path)].iter("error")
    assert error.get("message") == f"{path}: 1 problem"
    assert 'no CA named "Sessions Last 30"' in (error.text or "")
    (directory / "broken.yaml").write_text("calculated_attributes: [{name: X}]\n")
    manifests = run_cli("test", directory, "--junit", junit)
    assert manifests.exit_code == 1
    assert "PASS" not in manifests.stdout
    [suite] = ElementTree.parse(junit).getroot().iter("testsuite")
    assert suite.get("name") == str(directory / "broken.yaml")


def test_env_needs_environments_in_settings() -> None:
    result = run_cli("test", EXAMPLE, "--env", "prod")
    assert result.exit_code == 1
    assert "--env prod: reconciler.yaml defines no environments" in result.stderr


def test_a_bad_environment_still_writes_a_junit_report_saying_why(tmp_path: Path) -> None:
    """A wrong --env (or RECONCILER_ENV in a CI job) stopped the run before the report was
    written: the reporter found none, or showed an earlier run's results as this one's."""
    junit = tmp_path / "report.xml"
    junit.write_text(
        '<testsuites tests="1"><testsuite name="old" tests="1"><testcase name="passed"/>'
        "</testsuite></testsuites>"
    )
    result = run_cli("test", EXAMPLE, "--env", "prod", "--junit", junit)
    assert result.exit_code == 1
    xmlschema.XMLSchema(XSD).validate(junit.read_bytes())
    root = ElementTree.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("1", "0", "1")
    [suite] = root.iter("testsuite")
    assert (suite.get("name"), suite.get("file")) == ("reconciler test", None)
    [error] = suite.iter("error")
    assert (error.get("message") or "").startswith("--env prod: reconciler.yaml defines no")


def test_no_test_files_is_said(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    for path in directory.glob("*.test.yaml"):
        path.unlink()
    result = run_cli("test", directory)
    assert result.exit_code == 0
    assert "Tests: 0 passed, 0 failed, 0 total (0 files)." in result.stdout
    assert "no test files (*.test.yaml)" in result.stderr


def test_a_file_that_expects_nothing_is_said(tmp_path: Path) -> None:
    """It would pass whatever the CAs compute: a forgotten `expect:` looks like success."""
    directory = _copy(tmp_path)
    (directory / "empty.test.yaml").write_text(
        "as_of: 2024-03-01T00:00:00Z\nusers: {alice: {}}\nexpect: {alice: {}}\n"
    )
    result = run_cli("test", directory)
    assert result.exit_code == 0
    empty = directory / "empty.test.yaml"
    assert f"Warning: {empty}: `expect:` names no value, so it tests nothing" in result.stderr
    assert result.stderr.count("tests nothing") == 1  # the example files expect values


def test_names_longer_than_256_characters_are_cut_as_mparticle_cuts_them(
    tmp_path: Path,
) -> None:
    """mParticle's S2S ingestion cuts event names and event attribute names to 256
    characters (default service limits, "Incoming Event Batches"), and so does the
    emulator; `reconciler test` evaluated the names as written, so a CA naming the first
    256 characters counted nothing here that it counts in mParticle. The events are
    evaluated as stored, and each test file with such a name says so once, where."""
    directory = _copy(tmp_path)
    event, attribute = "E" * 256, "A" * 256
    (directory / "long.yaml").write_text(
        "calculated_attributes:\n"
        "  - name: Long Events\n"
        "    definition:\n"
        "      calculation_type: count\n"
        f"      datapoint: {{event_name: {event}, event_type: custom_event, "
        "custom_event_type: other}\n"
        "      conditions:\n"
        f"        - {{type: boolean, operator: equals, attribute_name: {attribute}, "
        "value: true}\n"
        "      time_period: {type: since, date: 2020-01-01}\n"
    )
    written = (
        f"{{event_type: custom_event, data: {{event_name: {event}xyz, custom_event_type: other, "
        f'timestamp_unixtime_ms: "2024-05-01T00:00:00Z", custom_attributes: '
        f'{{{attribute}-and-more: "true"}}}}}}'
    )
    (directory / "long.test.yaml").write_text(
        "as_of: 2024-06-01T00:00:00Z\n"
        "users:\n"
        "  carol:\n"
        "    events:\n"
        f"      - {written}\n"
        f"      - {written}\n"
        "expect:\n"
        "  carol: {Long Events: 2}\n"
    )
    events = directory / "long.events.jsonl"
    long_event = {
        "event_type": "custom_event",
        "data": {
            "event_name": event + "!",
            "custom_event_type": "other",
            "timestamp_unixtime_ms": 1714521600000,
            "custom_attributes": {attribute: "true"},
        },
    }
    events.write_text(
        '{"mpid": 7, "events": []}\n' + json.dumps({"mpid": 7, "events": [long_event]}) + "\n"
    )
    (directory / "filed.test.yaml").write_text(
        "as_of: 2024-06-01T00:00:00Z\n"
        "users:\n"
        "  dave: {mpid: 7, events_file: long.events.jsonl}\n"
        "expect:\n"
        "  dave: {Long Events: 1}\n"
    )
    result = run_cli("--no-color", "test", directory)
    assert result.exit_code == 0, result.output
    assert "PASS carol: Long Events = 2" in result.stdout
    assert "PASS dave: Long Events = 1" in result.stdout
    warned = [line for line in result.stderr.splitlines() if "longer than 256" in line]
    assert len(warned) == 2, result.stderr  # one per test file, in their order
    inline = directory / "long.test.yaml"
    assert warned[1].startswith(
        f"Warning: {inline}:5:55: users.carol.events[0].data.event_name: a name longer than "
        "256 characters (3 more in this test file's events): mParticle cuts event and "
        "attribute names to 256"
    ), warned[1]
    assert warned[0].startswith(  # filed.test.yaml: the events file and line
        f"Warning: {events}:2: events[0].data.event_name: a name longer than 256 characters: "
    ), warned[1]


def test_an_event_time_in_seconds_is_warned_of_once_per_file(tmp_path: Path) -> None:
    """`date +%s` pasted where epoch ms go: 1709251200 is 1970-01-20 as ms, so the event
    fell out of every window and the test failed with nothing pointing at it. Toy times
    (`1`) are no seconds of a time near as_of, and stay silent."""
    directory = _copy(tmp_path)
    times = ["1", "1709251200", '"1709164800"']
    sessions = "".join(
        f"      - {{event_type: session_start, data: {{timestamp_unixtime_ms: {time}}}}}\n"
        for time in times
    )
    (directory / "seconds.test.yaml").write_text(
        "as_of: 2024-03-02T00:00:00Z\n"
        "users:\n"
        "  erin:\n"
        "    events:\n"
        f"{sessions}"
        "expect:\n"
        "  erin: {Sessions Last 30 Days: 0}\n"
    )
    event = {"event_type": "session_start", "data": {"timestamp_unixtime_ms": 1709251200}}
    events = directory / "seconds.events.jsonl"
    events.write_text(json.dumps({"mpid": 9, "events": [event]}) + "\n")
    (directory / "filed.test.yaml").write_text(
        "as_of: 2024-03-02T00:00:00Z\n"
        "users:\n"
        "  fay: {mpid: 9, events_file: seconds.events.jsonl}\n"
        "expect:\n"
        "  fay: {Sessions Last 30 Days: 0}\n"
    )
    result = run_cli("--no-color", "test", directory)
    assert result.exit_code == 0, result.output
    warned = [" ".join(line.split()) for line in result.stderr.split("Warning: ")[1:]]
    inline = directory / "seconds.test.yaml"
    assert warned == [
        f"{events}:1: events[0].data.timestamp_unixtime_ms: 1709251200 is "
        "1970-01-20T18:47:31.200Z in epoch ms, decades before as_of; as seconds it is "
        "2024-03-01T00:00:00.000Z: timestamp_unixtime_ms takes milliseconds (write "
        "1709251200000)",
        f"{inline}:6:67: users.erin.events[1].data.timestamp_unixtime_ms: 1709251200 is "
        "1970-01-20T18:47:31.200Z in epoch ms, decades before as_of; as seconds it is "
        "2024-03-01T00:00:00.000Z: timestamp_unixtime_ms takes milliseconds (write "
        "1709251200000) (1 more in this test file's events)",
    ], result.stderr


def test_an_unwritable_junit_file_is_an_error_before_any_test_runs(tmp_path: Path) -> None:
    """Found after the run, it came below every result, all computed for nothing."""
    junit = tmp_path / "missing" / "report.xml"
    result = run_cli("test", EXAMPLE, "--junit", junit)
    assert result.exit_code == 1
    assert f"--junit {junit}: cannot write it: no folder {junit.parent}" in result.stderr
    assert "PASS" not in result.stdout
    assert not junit.parent.exists()


def _small_files() -> None:
    """In the child: files may not grow past 200 bytes (a full disk, as the OS says it:
    the write fails with EFBIG, the signal that would end the process is ignored)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))


def test_a_full_disk_leaves_the_earlier_junit_report_whole(tmp_path: Path) -> None:
    """A CI reporter reads whatever --junit holds: a write that fails half-way (the disk
    full) leaves the report before it, not half an XML document, and no temporary file."""
    reports = tmp_path / "reports"
    reports.mkdir()
    junit = reports / "report.xml"
    junit.write_text("<testsuites/>")  # an earlier run's
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "test", str(EXAMPLE), "--junit", str(junit)],
        env={**os.environ, "RECONCILER_CACHE_DIR": "", "NO_COLOR": "1"},
        preexec_fn=_small_files,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert junit.read_text() == "<testsuites/>"
    assert f"--junit {junit}: cannot write it: File too large" in done.stderr
    assert [path.name for path in reports.iterdir()] == ["report.xml"]


def test_manifest_errors_come_first(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    (directory / "broken.yaml").write_text("calculated_attributes: [{name: X}]\n")
    result = run_cli("test", directory)
    assert result.exit_code == 1
    assert "error in manifests" in result.stderr


def test_a_terminal_gets_the_same_lines_in_colour() -> None:
    plain, coloured = io.StringIO(), io.StringIO()
    assert (
        command.run(command.TestOptions(EXAMPLE), Output(stdout=plain, stderr=io.StringIO())) == 0
    )
    terminal = Output(stdout=coloured, stderr=io.StringIO())
    terminal.out = Console(file=coloured, force_terminal=True, color_system="standard")
    assert command.run(command.TestOptions(EXAMPLE), terminal) == 0
    assert "\x1b[" in coloured.getvalue()
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured.getvalue()) == plain.getvalue()


def test_env_applies_that_environments_overrides(tmp_path: Path) -> None:
    """`--env prod` tests the CA as prod's override makes it; `--env dev` as written; the
    default_environment is used without --env."""
    (tmp_path / "reconciler.yaml").write_text(
        "default_environment: dev\n"
        "environments:\n  dev: {workspace_id: 1}\n  prod: {workspace_id: 2}\n"
    )
    (tmp_path / "searches.yaml").write_text(
        "calculated_attributes:\n"
        "  - name: Searches\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: custom_event, event_name: Search}\n"
        "      time_period: {type: within, within: 7, within_unit: days}\n"
        "    overrides:\n"
        "      prod:\n"
        "        definition:\n"
        "          time_period: {type: within, within: 1, within_unit: days}\n"
    )
    search = (
        "{event_type: custom_event, data: {event_name: Search, custom_event_type: search, "
        'timestamp_unixtime_ms: "%s"}}'
    )
    (tmp_path / "searches.test.yaml").write_text(
        "as_of: 2024-03-10T00:00:00Z\n"
        "users:\n  alice:\n    events:\n"
        f"      - {search % '2024-03-09T12:00:00Z'}\n"
        f"      - {search % '2024-03-05T12:00:00Z'}\n"
        "expect:\n  alice: {Searches: 2}\n"
    )
    assert run_cli("test", tmp_path).exit_code == 0
    assert run_cli("test", tmp_path, "--env", "dev").exit_code == 0
    prod = run_cli("--no-color", "test", tmp_path, "--env", "prod")
    assert prod.exit_code == 1
    assert "FAIL alice: Searches: expected 2, got 1" in prod.stdout
    wrong = run_cli("test", tmp_path, "--env", "prd")
    assert wrong.exit_code == 1
    assert "did you mean `prod`" in wrong.stderr


def _environments(directory: Path) -> None:
    """dev and prod; `Beta` is dev's only, `Searches` both's; a test file expects both."""
    (directory / "reconciler.yaml").write_text(
        "default_environment: dev\n"
        "environments:\n  dev: {workspace_id: 1}\n  prod: {workspace_id: 2}\n"
    )
    count = (
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint: {event_type: custom_event, event_name: Search}\n"
        "      time_period: {type: within, within: 7, within_unit: days}\n"
    )
    (directory / "cas.yaml").write_text(
        "calculated_attributes:\n"
        f"  - name: Searches\n{count}"
        f"  - name: Beta\n    environments: [dev]\n{count}"
    )
    (directory / "shared.test.yaml").write_text(
        "as_of: 2024-03-10T00:00:00Z\nusers:\n  alice: {}\n"
        "expect:\n  alice: {Searches: 0, Beta: 0}\n"
    )


def test_a_ca_another_environment_leaves_out_is_skipped_there(tmp_path: Path) -> None:
    """One test file serves dev and prod: `--env prod` skips the expectations of a dev-only
    CA (it said they named an unknown CA, so prod's CI could never pass), prints them as
    SKIP, counts them, and writes them to JUnit as skipped; the exit code holds."""
    _environments(tmp_path)
    dev = run_cli("--no-color", "test", tmp_path, "--env", "dev")
    assert dev.exit_code == 0, dev.output
    assert "Tests: 2 passed, 0 failed, 2 total (1 file)." in dev.stdout
    junit = tmp_path / "report.xml"
    prod = run_cli("--no-color", "test", tmp_path, "--env", "prod", "--junit", junit)
    assert prod.exit_code == 0, prod.output
    assert "  SKIP alice: Beta (not in environment prod)" in prod.stdout.splitlines()
    assert "  PASS alice: Searches = 0" in prod.stdout.splitlines()
    assert "Tests: 1 passed, 0 failed, 1 skipped, 2 total (1 file)." in prod.stdout
    assert prod.stderr == ""
    xmlschema.XMLSchema(XSD).validate(junit.read_bytes())
    [suite] = ElementTree.parse(junit).getroot().iter("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "0", "1")
    [skipped] = suite.iter("skipped")
    assert skipped.get("message") == "not in environment prod"


def test_a_file_of_skipped_expectations_only_is_no_error(tmp_path: Path) -> None:
    _environments(tmp_path)
    (tmp_path / "beta.test.yaml").write_text(
        "as_of: 2024-03-10T00:00:00Z\nusers:\n  bob: {}\nexpect:\n  bob: {Beta: 1}\n"
    )
    prod = run_cli("--no-color", "test", tmp_path, "--env", "prod")
    assert prod.exit_code == 0, prod.output
    assert "Tests: 1 passed, 0 failed, 2 skipped, 3 total (2 files)." in prod.stdout
    dev = run_cli("--no-color", "test", tmp_path, "--env", "dev")
    assert dev.exit_code == 1
    assert "FAIL bob: Beta: expected 1, got 0" in dev.stdout


def test_a_ca_in_no_manifest_stays_an_error_in_every_environment(tmp_path: Path) -> None:
    _environments(tmp_path)
    shared = tmp_path / "shared.test.yaml"
    shared.write_text(shared.read_text().replace("Beta: 0", "Betta: 0"))
    prod = run_cli("test", tmp_path, "--env", "prod")
    assert prod.exit_code == 1
    assert (
        f'{shared}:5:24: expect.alice.Betta: no CA named "Betta" in the manifests; did you '
        "mean `Beta`?"
    ) in prod.stderr


def test_a_pattern_that_backtracks_without_end_fails_its_case_not_the_run(
    tmp_path: Path,
) -> None:
    """A manifest's pattern and a test file's value, both from a pull request, hung the run
    (and CI's plan) for hours: the search is bounded, and the case fails saying why."""
    directory = _copy(tmp_path)
    (directory / "evil.yaml").write_text(
        "calculated_attributes:\n"
        "  - name: Evil\n"
        "    definition:\n"
        "      calculation_type: count\n"
        "      datapoint:\n"
        "        {event_type: custom_event, event_name: Search, custom_event_type: search}\n"
        "      conditions:\n"
        '        - {attribute_name: term, type: string, operator: pattern, value: "(a|aa)+$"}\n'
        "      time_period: {type: within, within: 30, within_unit: days}\n"
    )
    (directory / "evil.test.yaml").write_text(
        "as_of: 2024-06-01T00:00:00Z\n"
        "users:\n"
        "  mallory:\n"
        "    events:\n"
        "      - event_type: custom_event\n"
        "        data: {event_name: Search, custom_event_type: search,\n"
        "               timestamp_unixtime_ms: 1717000000000,\n"
        f'               custom_attributes: {{term: "{"a" * 60}b"}}}}\n'
        "expect:\n"
        "  mallory: {Evil: 0}\n"
    )
    junit = tmp_path / "report.xml"
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "test", str(directory), "--junit", str(junit)],
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    said = " ".join(done.stdout.split())
    assert (
        "FAIL mallory: Evil: expected 0, got no value: pattern '(a|aa)+$' searched one value "
        "for over 1 s"
    ) in said
    assert "Tests: 24 passed, 1 failed, 25 total (4 files)." in said
    # The report shows which case took the time (every case once said 0.000).
    times = {
        case.get("name"): float(case.get("time") or "nan")
        for case in ElementTree.parse(junit).getroot().iter("testcase")
    }
    assert times["mallory: Evil"] >= 1.0
    assert max(time for name, time in times.items() if name != "mallory: Evil") < 1.0
