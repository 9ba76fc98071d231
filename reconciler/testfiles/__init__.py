"""Test files (`*.test.yaml`, SPEC §10): CA definitions checked offline on sample users.

Flow: `*.test.yaml` (+ events files) -> `loader.load` (located errors, like manifests) ->
Suites; `runner.run(suites, definitions)` evaluates each expected (user, CA) with the
reference evaluator -> SuiteResults; `commands/test.py` prints them, `junit` writes them
for CI.
"""

from reconciler.testfiles.loader import Suite, discover, is_test_file, load
from reconciler.testfiles.runner import CaseOutcome, SuiteResult, run

__all__ = ["CaseOutcome", "Suite", "SuiteResult", "discover", "is_test_file", "load", "run"]
