"""`reconciler test [DIR | FILE.test.yaml...] [--env NAME] [--junit FILE] [--format
text|markdown|json] [--quiet] [--only GLOB] [--exclude GLOB]`: evaluate the CA definitions
of the manifests on the users of the test files (`*.test.yaml`) and compare with the
expected values. Offline: no HTTP request. Exit 0 when every expectation holds, else 1.
The text report is printed here; Markdown and JSON are `testfiles.markdown` and
`testfiles.report`'s."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from rich.text import Text

from reconciler import manifest, testfiles
from reconciler.console import Output
from reconciler.environments import chosen_environments
from reconciler.errors import CaTestFileError, ManifestError, ReconcilerError, printable
from reconciler.manifest.loader import Manifests
from reconciler.manifest.settings_file import SETTINGS_FILE
from reconciler.plan.selection import Chooser, unmatched_note
from reconciler.testfiles import Suite, junit, markdown, report
from reconciler.testfiles.report import TestRun
from reconciler.testfiles.runner import CaseOutcome, SuiteResult, legible

#: How the report is printed: the terminal's text, a PR comment, or the JSON report.
Format = Literal["text", "markdown", "json"]
FORMATS: tuple[Format, ...] = ("text", "markdown", "json")


def format_named(name: str) -> Format:
    """The format `--format` names (the command line has checked it is one)."""
    return next(fmt for fmt in FORMATS if fmt == name)


def _environment(manifests: Manifests, env: str | None) -> str | None:
    """The chosen environment (`--env`, RECONCILER_ENV, else default_environment; SPEC
    §7); None without environments, where the CAs are as written."""
    (chosen,) = chosen_environments(manifests.settings, env)
    return chosen


def _line(outcome: CaseOutcome) -> Text:
    who = printable(f"{outcome.user}: {outcome.ca}")
    if outcome.skipped is not None:
        return Text("  SKIP ", style="yellow") + Text(f"{who} ({printable(outcome.skipped)})")
    if outcome.passed:
        return Text("  PASS ", style="green") + Text(
            f"{who} = {printable(legible(outcome.actual))}"
        )
    expected, actual = legible(outcome.expected), legible(outcome.actual)
    detail = printable(f"expected {expected}, got {actual}")
    line = (
        Text("  FAIL ", style="bold red")
        + Text(f"{who}: {detail}")
        + Text(f"  ({printable(outcome.where)})", style="dim")
    )
    if outcome.hint is not None:  # an expectation that can never pass: why, on its own line
        line += Text(f"\n       {printable(outcome.hint)}")
    return line


def _report(results: Sequence[SuiteResult], output: Output, *, quiet: bool) -> None:
    """Print every outcome, each under its file's name; `quiet`: only failures and skips,
    and the names of the files that have one (`Output.print_lines`: without colour, as
    plain text)."""
    lines: list[Text] = []
    for result in results:
        shown = [o for o in result.outcomes if not (quiet and o.passed)]
        if shown or not quiet:
            lines.append(Text(printable(result.file), style="bold"))
        lines += [_line(outcome) for outcome in shown]
    output.print_lines(lines)


def _recap(
    results: Sequence[SuiteResult], collected: testfiles.Collected, *, quiet: bool
) -> list[Text]:
    """The failures and invalid files again, just above the summary (pytest's "short test
    summary"): in a long CI log, they are where a reader looks first. `quiet`: the invalid
    files only, the failures being all there is above."""
    failures = [] if quiet else [_line(o) for r in results for o in r.outcomes if o.failed]
    broken: list[Text] = []
    for file in collected.invalid:
        count = sum(issue.file == file for issue in collected.issues)
        problems = f"{count} problem{'s' if count != 1 else ''} (listed on stderr)"
        broken.append(Text("  INVALID ", style="bold red") + Text(f"{printable(file)}: {problems}"))
    if not failures and not broken:
        return []
    space = [] if quiet else [Text("")]  # quiet, nothing but failures is above
    return [*space, Text("Failed:", style="bold"), *failures, *broken]


@dataclass(frozen=True)
class TestOptions:
    """The command's arguments: the manifest directory (or test files), `--env`, `--junit`,
    `--format`, `--quiet`, `--only`, `--exclude`."""

    __test__ = False  # not a pytest test class, whatever its name says

    directory: Path = Path("manifests")
    environment: str | None = None
    junit: Path | None = None
    fmt: Format = "text"
    #: Print only failures, skips, invalid files and the summary (`--quiet`).
    quiet: bool = False
    #: Run these test files only (the manifests: those of the folder with the
    #: reconciler.yaml above them); `directory` is then not used.
    files: tuple[Path, ...] = ()
    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def _manifest_directory(file: Path) -> tuple[Path, Path]:
    """The manifest directory a test file belongs to, the nearest folder above it that
    holds a reconciler.yaml, and the file below it: as written (`manifests/a.test.yaml`
    -> `manifests`), else (a folder above the working directory) as absolute paths."""
    if not file.is_file():
        raise ReconcilerError(f"{file}: no such test file")
    for written in (file, file.absolute()):
        for folder in written.parents:
            if (folder / SETTINGS_FILE).is_file():
                return folder, written
    raise ReconcilerError(
        f"{file}: no {SETTINGS_FILE} in its folder or any folder above it; a test file runs "
        f"with the manifests of the folder holding the {SETTINGS_FILE}: pass that folder, or "
        "a test file inside it"
    )


def _targets(options: TestOptions) -> tuple[Path, list[Path] | None]:
    """The manifest directory, and the test files to run (None: all of them)."""
    if not options.files:
        return options.directory, None
    found = [_manifest_directory(file) for file in options.files]
    directories = {folder.resolve(): folder for folder, _ in found}
    if len(directories) > 1:
        first, other = list(directories.values())[:2]
        raise ReconcilerError(
            f"the test files belong to different manifest directories ({first}, {other}): "
            "run `reconciler test` once per directory"
        )
    if len({folder for folder, _ in found}) > 1:  # one directory, written two ways
        directory = found[0][0].absolute()
        found = [(directory, directory / f.absolute().relative_to(d.absolute())) for d, f in found]
    return found[0][0], list(dict.fromkeys(file for _, file in found))


def _selected(suites: Sequence[Suite], chooser: Chooser) -> tuple[list[Suite], int]:
    """The suites with the expectations `--only`/`--exclude` select (a file none of
    whose expectations is selected left out), and how many were not selected."""
    if not chooser.active:
        return list(suites), 0
    kept: list[Suite] = []
    left_out = 0
    for suite in suites:
        chosen = tuple(e for e in suite.expectations if chooser.selects(e.ca))
        left_out += len(suite.expectations) - len(chosen)
        if chosen:
            kept.append(replace(suite, expectations=chosen))
    return kept, left_out


def _report_stop(junit_file: Path, exc: ReconcilerError, output: Output) -> None:
    """The JUnit report of a run an error stopped: it says why there are no results."""
    document = (
        junit.problems_document(exc.issues)
        if isinstance(exc, ManifestError)
        else junit.error_document(exc.message)
    )
    try:
        junit.write(junit_file, document)
    except ReconcilerError as error:  # the problems themselves are the error to show
        output.warn(str(error))


def _show(
    tested: TestRun, collected: testfiles.Collected, output: Output, options: TestOptions
) -> None:
    """Print the report on stdout in the format asked, the invalid files' problems on
    stderr: Markdown and JSON are the whole of stdout."""
    text = options.fmt == "text"
    if text:
        _report(tested.results, output, quiet=options.quiet)
    if collected.issues:  # the other files ran: an invalid one is reported, not in the way
        output.error(CaTestFileError(collected.issues).message)
    if options.fmt == "json":
        output.write_raw(report.to_json(tested))
    elif options.fmt == "markdown":
        output.write_raw(markdown.markdown(tested))
    else:
        output.print_lines(_recap(tested.results, collected, quiet=options.quiet))
        output.print(Text(tested.summary(), style="bold green" if tested.ok else "bold red"))


def run(options: TestOptions, output: Output) -> int:
    """Exit 0 when every expectation of every test file holds; 1 otherwise (a failure, an
    invalid file). Invalid manifests stop the run: nothing can be evaluated."""
    junit_file = options.junit
    directory = options.directory
    chooser = Chooser(options.only, options.exclude)
    if junit_file is not None:
        junit.check(junit_file)
    try:
        directory, files = _targets(options)
        manifests = manifest.load(directory)
        environment = _environment(manifests, options.environment)
        definitions = {
            desired.name: desired.ca.canonical for desired in manifests.for_environment(environment)
        }
        absent = manifests.absent_from(environment)
        collected = testfiles.collect(directory, definitions, absent, files)
    except ReconcilerError as exc:
        if junit_file is not None:
            _report_stop(junit_file, exc, output)
        raise
    unused = unmatched_note(chooser, (ca.name for ca in manifests.cas), "in the manifests")
    if unused is not None:
        output.warn(unused)
    for suite in collected.suites:
        for warning in suite.warnings:  # names cut as mParticle cuts them
            output.warn(str(warning))
        if not suite.expectations:  # passes, silently, whatever the CAs compute
            output.warn(f"{printable(suite.file)}: `expect:` names no value, so it tests nothing")
    suites, not_selected = _selected(collected.suites, chooser)
    tested = TestRun(
        tuple(testfiles.run(suites, definitions)),
        collected.files,
        collected.issues,
        tuple(collected.invalid),
        environment,
        not_selected if chooser.active else None,
    )
    _show(tested, collected, output, options)
    if not collected.files:
        output.warn(f"no test files (*.test.yaml) below {printable(str(directory))}")
    if junit_file is not None:
        junit.write(junit_file, junit.document(tested.results, collected.issues))
    return 0 if tested.ok else 1
