"""Test files (`*.test.yaml`, SPEC §10): CA definitions checked offline on sample users.

Flow: `*.test.yaml` (+ events files) -> `loader.collect` (the valid files as Suites, the
others' errors located like manifests'; `load` when every file must be valid) ->
`runner.run(suites, definitions)` evaluates each expected (user, CA) with the reference
evaluator -> SuiteResults; `commands/test.py` prints them as text, `report` holds a run as
one value and its JSON report, `markdown` makes it a PR comment, `junit` writes JUnit XML
for CI.
"""

from reconciler.testfiles.loader import Collected, Suite, collect, discover, is_test_file, load
from reconciler.testfiles.runner import CaseOutcome, SuiteResult, run

__all__ = [
    "CaseOutcome",
    "Collected",
    "Suite",
    "SuiteResult",
    "collect",
    "discover",
    "is_test_file",
    "load",
    "run",
]
