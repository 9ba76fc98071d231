"""`reconciler test --format markdown|json`: the report for a pull request and for
scripts. JSON parses whole from stdout with every result and problem located; Markdown
renders on GitHub's parser with the failures first and the passes collapsed; `--junit`
works beside either; errors leave stdout empty; the README documents the JSON as it is."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import xmlschema

from tests.support.cli import run_cli
from tests.support.gfm import Page, html
from tests.support.readme import blocks, section

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "manifests"
XSD = ROOT / "tests" / "support" / "junit" / "junit-10.xsd"
HEADING = "### `reconciler test [DIR | FILE...]`"


def _failing(tmp_path: Path) -> Path:
    """The example workspace with bob's Average Order Value expected 31 (it is 30) and an
    invalid test file (wishlist.test.yaml: `expectt:`)."""
    directory = tmp_path / "manifests"
    shutil.copytree(EXAMPLE, directory, ignore=shutil.ignore_patterns(".reconciler"))
    path = directory / "commerce.test.yaml"
    path.write_text(path.read_text().replace("Average Order Value: 30", "Average Order Value: 31"))
    wishlist = directory / "wishlist.test.yaml"
    wishlist.write_text(wishlist.read_text().replace("expect:", "expectt:"))
    return directory


def _line_of(path: Path, text: str) -> int:
    return next(n + 1 for n, line in enumerate(path.read_text().splitlines()) if text in line)


def test_json_holds_every_result_and_problem_and_nothing_else(tmp_path: Path) -> None:
    directory = _failing(tmp_path)
    junit = tmp_path / "report.xml"
    result = run_cli("test", directory, "--format", "json", "--junit", junit)
    assert result.exit_code == 1
    report = json.loads(result.stdout)  # stdout is the report, whole
    commerce, wishlist = directory / "commerce.test.yaml", directory / "wishlist.test.yaml"
    assert (report["format_version"], report["status"], report["environment"]) == (
        1,
        "failed",
        None,
    )
    assert report["summary"] == {
        "passed": 22,
        "failed": 1,
        "skipped": 0,
        "total": 23,
        "files": 3,
        "invalid": 1,
        "not_selected": None,
    }
    assert len(report["results"]) == 23
    [failure] = [r for r in report["results"] if not r["passed"]]
    assert failure == {
        "file": str(commerce),
        "line": _line_of(commerce, "Average Order Value: 31"),
        "column": 5,
        "user": "bob",
        "ca": "Average Order Value",
        "expected": "31",
        "actual": "30",
        "passed": False,
        "skipped": None,
        "hint": None,
    }
    assert report["invalid"] == [str(wishlist)]
    [problem] = report["problems"]
    assert problem["file"] == str(wishlist)
    assert problem["line"] == _line_of(wishlist, "expectt:")
    assert f"{wishlist}:{problem['line']}:" in result.stderr  # and on stderr, as in text
    # --junit beside it: the same results
    xmlschema.XMLSchema(XSD).validate(junit.read_bytes())
    root = ElementTree.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("24", "1", "1")


def test_json_of_a_passing_run_an_environment_skips_and_a_selection(tmp_path: Path) -> None:
    passing = run_cli("test", EXAMPLE, "--format", "json")
    assert passing.exit_code == 0, passing.output
    assert json.loads(passing.stdout)["status"] == "passed"
    (tmp_path / "reconciler.yaml").write_text(
        "default_environment: dev\nenvironments:\n  dev: {workspace_id: 1}\n"
        "  prod: {workspace_id: 2}\n"
    )
    count = (
        "    definition:\n      calculation_type: count\n"
        "      datapoint: {event_type: custom_event, event_name: Search}\n"
        "      time_period: {type: within, within: 7, within_unit: days}\n"
    )
    (tmp_path / "cas.yaml").write_text(
        f"calculated_attributes:\n  - name: Searches\n{count}"
        f"  - name: Beta\n    environments: [dev]\n{count}"
    )
    (tmp_path / "shared.test.yaml").write_text(
        "as_of: 2024-03-10T00:00:00Z\nusers:\n  alice: {}\n"
        "expect:\n  alice: {Searches: 0, Beta: 0}\n"
    )
    prod = run_cli("test", tmp_path, "--env", "prod", "--format", "json", "--only", "*")
    assert prod.exit_code == 0, prod.output
    report = json.loads(prod.stdout)
    assert report["environment"] == "prod"
    assert report["summary"]["skipped"] == 1
    assert report["summary"]["not_selected"] == 0
    [skip] = [r for r in report["results"] if r["skipped"] is not None]
    assert (skip["ca"], skip["skipped"], skip["actual"], skip["passed"]) == (
        "Beta",
        "not in environment prod",
        None,
        False,
    )
    comment = run_cli("test", tmp_path, "--env", "prod", "--format", "markdown").stdout
    assert comment.startswith("### ✅ reconciler test: 1 passed (environment prod)\n")
    assert "<details><summary>⏭️ 1 skipped</summary>" in comment


def test_json_says_why_an_expectation_can_never_pass(tmp_path: Path) -> None:
    directory = tmp_path / "manifests"
    shutil.copytree(EXAMPLE, directory, ignore=shutil.ignore_patterns(".reconciler"))
    (directory / "kinds.test.yaml").write_text(
        'as_of: 2024-06-01T00:00:00Z\nusers:\n  carol: {}\nexpect:\n  carol: {LTV: "0.0"}\n'
    )
    result = run_cli("test", directory, "--format", "json")
    assert result.exit_code == 1
    [failure] = [r for r in json.loads(result.stdout)["results"] if not r["passed"]]
    assert failure["hint"].startswith("A sum's value is a number, and '0.0' in quotes is text")
    comment = run_cli("test", directory, "--format", "markdown").stdout
    assert "| user | CA | expected | actual | where | why |" in comment
    assert "A sum's value is a number, and '0.0' in quotes is text" in Page.of(comment).text


def test_markdown_shows_failures_first_and_passes_collapsed(tmp_path: Path) -> None:
    directory = _failing(tmp_path)
    junit = tmp_path / "report.xml"
    result = run_cli("test", directory, "--format", "markdown", "--junit", junit)
    assert result.exit_code == 1
    comment = result.stdout
    commerce = directory / "commerce.test.yaml"
    line = _line_of(commerce, "Average Order Value: 31")
    assert comment.startswith(
        "### ❌ reconciler test: 1 failed, 1 invalid file\n\n"
        "**Tests: 22 passed, 1 failed, 23 total (3 files, 1 invalid).**\n\n"
        "**Failed** (1):\n\n"
        "| user | CA | expected | actual | where |\n|---|---|---|---|---|\n"
        f"| `bob` | `Average Order Value` | `31` | `30` | `{commerce}:{line}` |\n\n"
        "**Invalid files** (1): they did not run.\n\n"
        f"- `{directory / 'wishlist.test.yaml'}`: 1 problem\n"
    )
    page = Page.of(comment)
    assert page.problems == []
    assert page.live() == []
    rendered = html(comment)
    passes = rendered.split("<details><summary>✅ 22 passed</summary>")[1]
    assert "<td><code>alice</code></td>\n<td><code>LTV</code></td>\n<td><code>129.99</code>" in (
        passes
    )
    assert passes.count("<tr>") == 23  # the header and every pass
    assert "Failed" not in passes
    assert junit.is_file()
    passing = run_cli("test", EXAMPLE, "--format", "markdown")
    assert passing.exit_code == 0
    assert passing.stdout.startswith("### ✅ reconciler test: 24 passed\n")


def test_an_error_before_the_run_leaves_stdout_empty(tmp_path: Path) -> None:
    directory = tmp_path / "manifests"
    shutil.copytree(EXAMPLE, directory, ignore=shutil.ignore_patterns(".reconciler"))
    (directory / "broken.yaml").write_text("calculated_attributes: [{name: X}]\n")
    for fmt in ("json", "markdown"):
        result = run_cli("test", directory, "--format", fmt)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert "error in manifests" in result.stderr
    refused = run_cli("test", EXAMPLE, "--format", "xml")
    assert refused.exit_code == 1
    assert "use text, markdown or json" in refused.stderr


def _keys(value: Any) -> Any:
    """The shape of a JSON document: its keys, nested, the first item of each list."""
    if isinstance(value, dict):
        return {key: _keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_keys(value[0])] if value else []
    return None


def test_the_readme_documents_the_json_report_as_it_is() -> None:
    """README `reconciler test`: the example has every member the report has, in its order,
    and the field table names each top-level member."""
    text = section(HEADING)
    block = re.search(r"```json\n(.*?)```", text, re.DOTALL)
    assert block is not None
    documented = json.loads(block[1])
    report = json.loads(run_cli("test", EXAMPLE, "--format", "json").stdout)
    documented["problems"] = report["problems"] = []
    assert _keys(documented) == _keys(report)
    assert list(documented) == list(report)
    for member in report:
        assert f"| `{member}` |" in text, member


def test_the_readme_shows_what_the_markdown_report_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README `reconciler test`: bob's Average Order Value expected 31, as the comment
    shows it (the `...` stands for the passes)."""
    [shown] = [text for language, text in blocks(HEADING) if language == "markdown"]
    directory = tmp_path / "manifests"
    shutil.copytree(EXAMPLE, directory, ignore=shutil.ignore_patterns(".reconciler"))
    path = directory / "commerce.test.yaml"
    path.write_text(path.read_text().replace("Average Order Value: 30", "Average Order Value: 31"))
    monkeypatch.chdir(tmp_path)
    printed = run_cli("test", "manifests", "--format", "markdown").stdout
    head = shown.split("...")[0]
    assert printed.startswith(head), printed
