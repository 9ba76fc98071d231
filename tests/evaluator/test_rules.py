"""docs/semantics.md and the tests agree: every rule the document states is checked by a
test that cites it, and every rule a test cites is in the document. The evaluator imports
nothing else of the reconciler (the emulator relies on it)."""

from __future__ import annotations

import re
from pathlib import Path

import reconciler.evaluator
from tests.evaluator import test_conditions, test_documented_examples
from tests.support.imports import imports

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PACKAGE = Path(reconciler.evaluator.__file__).parent


def _documented() -> set[str]:
    text = (ROOT / "docs" / "semantics.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| (R\d+) \|", text, flags=re.MULTILINE))


def test_every_documented_rule_is_tested_and_every_cited_rule_documented() -> None:
    documented = _documented()
    assert len(documented) >= 20
    cited = {row.rule for row in test_documented_examples.ROWS}
    cited |= {row.rule for row in test_conditions.ROWS}
    # The property tests name their rules in their docstrings.
    cited |= set(re.findall(r"\bR\d+\b", (HERE / "test_properties.py").read_text()))
    assert cited - documented == set(), "cited but not in docs/semantics.md"
    assert documented - cited == set(), "documented but no test cites it"


def test_evaluator_imports_nothing_else_of_the_reconciler() -> None:
    offending = [
        f"{path.name}: {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for name in imports(path, package="reconciler.evaluator")
        if name.startswith("reconciler") and not name.startswith("reconciler.evaluator")
    ]
    assert offending == []
