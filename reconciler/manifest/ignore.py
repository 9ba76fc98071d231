"""Discovery, before loading: `.reconcilerignore` beside `reconciler.yaml` names, with
gitignore patterns, the YAML files of the tree that are neither manifests nor test files
(CI configs, Helm values, drafts). The patterns are read by `pathspec`, the library that
implements Git's own rules (negation, anchoring, `**`, directory patterns), so a pattern
means here what it means in `.gitignore`.

An invalid pattern is a located error, not a pattern silently dropped: a typo there would
otherwise make a manifest appear (and be created) or vanish (and, with --prune, be
deleted)."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path

from reconciler.errors import Issue, ManifestError

IGNORE_FILE = ".reconcilerignore"

#: A path relative to the manifest directory, in `/` form -> whether it is ignored.
Ignored = Callable[[str], bool]


def nothing(relative: str) -> bool:
    return False


def _lines(path: Path, display: str) -> list[str]:
    """The file's lines, a UTF-8 byte order mark aside (Git skips it in `.gitignore`);
    ManifestError if it cannot be read, naming the first line that is not UTF-8 text."""
    if path.exists() and not path.is_file() and not path.is_dir():
        # A pipe (or a device): reading one waits for a writer, for ever.
        issue = Issue(
            display, None, None, "", "cannot read: not a file (a pipe, a socket or a device)"
        )
        raise ManifestError([issue])
    try:
        raw = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    except OSError as exc:
        issue = Issue(display, None, None, "", f"cannot read: {exc.strerror}")
        raise ManifestError([issue]) from None
    lines = []
    for number, line in enumerate(raw.splitlines(), start=1):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            issue = Issue(display, number, 1, "", "is not UTF-8 text")
            raise ManifestError([issue]) from None
    return lines


def read(directory: Path) -> Ignored:
    """What `directory/.reconcilerignore` ignores (nothing when there is no such file);
    raises ManifestError naming each invalid pattern's line."""
    path = directory / IGNORE_FILE
    if not path.exists():
        return nothing
    display = str(path)
    lines = _lines(path, display)
    import pathspec  # only a workspace with an ignore file pays for the import

    issues = []
    for number, line in enumerate(lines, start=1):
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except ValueError:
            message = f"invalid gitignore pattern {line!r}"
            issues.append(Issue(display, number, 1, "", message))
    if issues:
        raise ManifestError(issues)
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    return spec.match_file
