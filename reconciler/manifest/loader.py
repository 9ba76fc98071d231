"""Loading a manifest directory: YAML files -> settings and desired CAs, every problem located.

The first step of the flow. `reconciler.yaml` holds settings; every other `*.yaml`/`*.yml`
below the directory (hidden folders excepted, linked ones followed, sorted by path) holds
CAs under `calculated_attributes:`; top-level `x-...` keys are ignored (a place for YAML anchors).
All problems of all files are collected and raised together as one ManifestError.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import Issue, ManifestError, printable
from reconciler.files import reading_folder
from reconciler.manifest import cache, ignore, parallel, placement, retention, tree
from reconciler.manifest.crossfile import Declared, cross_file_issues
from reconciler.manifest.desired import DesiredCA
from reconciler.manifest.document import SourceError, read_bytes
from reconciler.manifest.files import FileResult, Source, cache_entry, cached, from_entry, parsed
from reconciler.manifest.settings_file import SETTINGS_FILE, load_settings
from reconciler.settings import SettingsFile, Tuning

__all__ = ["TEST_SUFFIXES", "DesiredCA", "Manifests", "discover", "load"]

#: Test files live beside manifests but are not manifests (SPEC §10).
TEST_SUFFIXES = (".test.yaml", ".test.yml")


@dataclass(frozen=True)
class Manifests:
    """A checked manifest directory: its settings, its CAs, and the warnings found."""

    directory: Path
    settings: SettingsFile
    cas: tuple[DesiredCA, ...] = field(repr=False)
    files: tuple[str, ...]
    warnings: tuple[Issue, ...] = ()

    def by_name(self) -> dict[str, DesiredCA]:
        return {desired.name: desired for desired in self.cas}

    def for_environment(self, environment: str | None) -> list[DesiredCA]:
        """The CAs of one environment, each as that environment's override makes it."""
        found = (desired.in_environment(environment) for desired in self.cas)
        return [desired for desired in found if desired is not None]

    def absent_from(self, environment: str | None) -> dict[str, str]:
        """The CAs the manifests declare that `environment` does not have (their
        `environments:` leave it out), each with why (`not in environment prod`): a test
        of one is skipped there, not an error."""
        return {
            desired.name: f"not in environment {environment}"
            for desired in self.cas
            if desired.in_environment(environment) is None
        }


def _candidates(
    directory: Path, ignored: ignore.Ignored
) -> tuple[list[tuple[Path, str]], list[Issue]]:
    """Every YAML file below `directory` that may be a manifest, `.reconcilerignore` aside:
    (path, its path relative to the directory); and the folders that cannot be walked
    (`tree.walk`: hidden ones are skipped, linked ones followed)."""
    found = tree.walk(directory, ignored)
    files = [
        (path, relative)
        for path, relative in found.files
        if relative != SETTINGS_FILE and not path.name.endswith(TEST_SUFFIXES)
    ]
    return files, found.issues


def _discovered(directory: Path) -> tuple[list[Path], list[Issue]]:
    """`discover`, and the folders that cannot be walked (each an error), and each
    `reconciler.yaml` below the directory's own (an error: see `_nested_settings`)."""
    ignored = ignore.read(directory)
    files, issues = _candidates(directory, ignored)
    found = sorted((relative, path) for path, relative in files if not ignored(relative))
    issues += [_nested_settings(directory, path) for _, path in found if _settings(path)]
    return [path for _, path in found if not _settings(path)], issues


def _settings(path: Path) -> bool:
    return path.name == SETTINGS_FILE


def _nested_settings(directory: Path, path: Path) -> Issue:
    """A `reconciler.yaml` in a sub-folder, such as an export's placed there: read as a
    manifest, it was an error for every setting it holds (and its CAs another of each
    name). One error says what it is instead."""
    folder = printable(str(directory / path.parent.relative_to(directory)))
    message = (
        f"a settings file below the manifest directory: {folder} looks like a manifest "
        "directory of its own (an export?); plan it on its own, move it out, or name it "
        f"in {ignore.IGNORE_FILE}"
    )
    return Issue(str(directory / path.relative_to(directory)), None, None, "", message)


def discover(directory: Path) -> Iterator[Path]:
    """CA manifest files below `directory`, sorted by path; hidden folders are skipped, and
    so are test files (`*.test.yaml`, `*.test.yml`: read by `reconciler test`) and the files
    `.reconcilerignore` names; a symbolic link to a folder is followed (`tree.walk`). Raises
    ManifestError if the ignore file is invalid, for what the walk cannot read or would
    loop through, and for a `reconciler.yaml` in a sub-folder. A broken symbolic link named
    as a YAML file is listed: reading it is the error."""
    files, issues = _discovered(directory)
    if issues:
        raise ManifestError(issues)
    yield from files


def _hidden_by_ignore_file(directory: Path) -> Issue | None:
    """A warning when `.reconcilerignore` hides every manifest file there is: the plan would
    then call every live CA unmanaged (and prune delete them all)."""
    every = _candidates(directory, ignore.nothing)[0]
    hidden = sorted(relative for path, relative in every if not _settings(path))
    if not hidden:
        return None
    return Issue(
        str(directory / ignore.IGNORE_FILE),
        None,
        None,
        "",
        f"hides every manifest file ({len(hidden)} of them, such as {hidden[0]}): no CA is "
        "declared, so every live CA is unmanaged, and with prune the plan deletes them all",
        severity="warning",
    )


#: Every manifest file's bytes (and cache key), and the files that cannot be read.
Read = tuple[list[Source], list[Issue]]


def _sources(directory: Path, cache_root: Path | None) -> Read:
    """Every manifest file's bytes (and cache key), and the files that cannot be read."""
    sources: list[Source] = []
    paths, issues = _discovered(directory)
    for path in paths:
        display = str(directory / path.relative_to(directory))
        try:
            raw = read_bytes(path, display)
        except SourceError as exc:
            issues += exc.issues
            continue
        key = cache.key(path, display, raw) if cache_root is not None else ""
        sources.append(Source(path, display, raw, key))
    return sources, issues


def _results(sources: list[Source], cache_root: Path | None) -> list[FileResult]:
    """Each file's CAs and problems, in order: from the cache where it has the file, else
    from its YAML; many files at once in worker processes (`parallel`), whose results
    are read as cached ones are. Entries nothing reads any more go once files were parsed."""
    found = [cached(source, cache_root) if cache_root is not None else None for source in sources]
    missed = [index for index, result in enumerate(found) if result is None]
    size = sum(len(sources[index].raw) for index in missed)
    workers = parallel.worth(size, len(missed), Tuning.from_env().workers)
    if workers:
        jobs = [
            (sources[index].raw, sources[index].display, sources[index].key, cache_root)
            for index in missed
        ]
        entries = parallel.mapped(cache_entry, jobs, workers)
        for index, entry in zip(missed, entries, strict=True):
            found[index] = from_entry(sources[index], entry, cache_root)
    results = [
        result or parsed(source, cache_root) for result, source in zip(found, sources, strict=True)
    ]
    if cache_root is not None and missed:
        cache.prune(cache_root)  # what the edit (or upgrade) made unused may go
    return results


#: Written by `export` before it changes a file of its folder and removed once all are
#: written: while it is there the folder mixes two exports (or one and the files of CAs
#: gone since), and a plan of it could undo changes made in mParticle.
UNFINISHED_EXPORT = ".reconciler-export-unfinished"


def _unfinished_export(directory: Path) -> Issue | None:
    marker = directory / UNFINISHED_EXPORT
    if not (marker.exists() or marker.is_symlink()):
        return None
    return Issue(
        str(marker),
        None,
        None,
        "",
        "an export into this folder stopped before it had written every file (killed, or "
        "a write refused): its files mix two exports, and a plan of them could undo changes "
        "made in mParticle. Run the same `reconciler export --out` into it again to finish "
        "it (from the directory it was exported from), or delete this file if its "
        "reconciler.yaml and manifests are as you want them",
    )


def _read(directory: Path, cache_root: Path | None) -> tuple[SettingsFile, list[Issue], Read]:
    """The directory's settings (or their problems) and its manifest files' bytes, read
    while no export writes into it (`reading_folder` waits for one, bounded): a plan of a
    folder read half-way through an export mixed two exports' files."""
    with reading_folder(directory):
        unfinished = _unfinished_export(directory)
        if unfinished is not None:
            raise ManifestError([unfinished])
        settings_issues: list[Issue] = []
        settings = SettingsFile()
        try:
            settings = load_settings(directory)
        except ManifestError as exc:
            if not directory.is_dir():
                raise
            settings_issues = list(exc.issues)
        sources, issues = _sources(directory, cache_root)
        if not sources and not issues and (directory / ignore.IGNORE_FILE).exists():
            issues += [found for found in [_hidden_by_ignore_file(directory)] if found is not None]
    return settings, settings_issues, (sources, issues)


def load(directory: Path) -> Manifests:
    """Load and check a manifest directory; raises ManifestError listing every problem."""
    cache_root = cache.root()
    settings, settings_issues, (sources, issues) = _read(directory, cache_root)
    files = tuple(source.display for source in sources)
    cas: list[DesiredCA] = []
    declared: list[Declared | DesiredCA] = []
    unbuilt: list[placement.Unbuilt] = []
    for result in _results(sources, cache_root):
        cas += result.cas
        declared += result.declared
        unbuilt += result.unbuilt
        issues += result.issues
    issues += cross_file_issues(declared, cas)
    if not settings_issues:
        # A CA not valid as written is checked too, so that its environment names show in
        # the same run as its other problems.
        issues += placement.environment_issues([*cas, *unbuilt], settings)
        scoped = [placed for placed in unbuilt if placed.scoped]
        issues += placement.scope_issues([*cas, *scoped], settings)
        issues += retention.retention_issues(cas, settings)
    errors = settings_issues + [issue for issue in issues if issue.severity == "error"]
    if errors:
        raise ManifestError(errors)
    warnings = tuple(issue for issue in issues if issue.severity == "warning")
    return Manifests(directory, settings, tuple(cas), files, warnings)
