"""The test files of a workspace (`*.test.yaml`), loaded for the value diffs of its plans.

Between loading and planning: `plan` and `apply` load them once per environment, checked
against that environment's CAs (its overrides applied), as `reconciler test --env` does,
and `workspace.planning.build` hands them to `plan.values`. A directory without test files
costs one directory walk and nothing else: test-file loading (and the evaluator) is not
even imported. A test file with errors does not block the plan: the plan goes without
value diffs and a warning says why (`reconciler test` is the command that fails on them).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.console import Output
from reconciler.errors import CaTestFileError, ReconcilerError, printable
from reconciler.manifest import ignore, tree
from reconciler.manifest.loader import TEST_SUFFIXES
from reconciler.workspace.loading import Workspace

if TYPE_CHECKING:
    from reconciler.testfiles import Suite

#: How many located test-file errors the warning quotes (`reconciler test` lists all).
SHOWN_ISSUES = 5


def present(directory: Path) -> bool:
    """Whether a test file is below `directory`, hidden folders and ignored files skipped
    (the rule of `testfiles.discover`), without importing test-file loading."""
    ignored = ignore.read(directory)
    return any(
        path.name.endswith(TEST_SUFFIXES) and not ignored(relative)
        for path, relative in tree.walk(directory, ignored).files
    )


def _relative(suite: Suite, directory: Path) -> Suite:
    """The suite named by its path below the manifest directory, as the JSON plan shows
    it: the same on every machine, whatever DIR was given as."""
    return replace(suite, file=Path(suite.file).relative_to(directory).as_posix())


def _problem(exc: ReconcilerError) -> str:
    if not isinstance(exc, CaTestFileError):
        return exc.message
    count = len(exc.issues)
    lines = [f"{count} error{'s' if count != 1 else ''} in test files:"]
    lines += [f"  {issue}" for issue in exc.issues[:SHOWN_ISSUES]]
    if count > SHOWN_ISSUES:
        lines.append(f"  ... and {count - SHOWN_ISSUES} more")
    return "\n".join(lines)


def load(ws: Workspace, output: Output) -> list[Suite] | None:
    """The workspace's test files, or None when it has none or they have errors (then a
    warning says that the plan shows no value diffs, and why)."""
    directory = ws.manifests.directory
    if not present(directory):
        return None
    from reconciler import testfiles

    definitions = {desired.name: desired.ca.canonical for desired in ws.declared}
    try:
        absent = ws.manifests.absent_from(ws.environment)
        suites = testfiles.load(directory, definitions, absent)
    except ReconcilerError as exc:
        env = f" --env {ws.environment}" if ws.environment else ""
        where = f"environment {ws.environment}: " if ws.environment else ""
        output.warn(
            f"{where}the plan shows no value diffs: {_problem(exc)}\n"
            f"`reconciler test {printable(str(directory))}{env}` lists every problem."
        )
        return None
    return [_relative(suite, directory) for suite in suites]
