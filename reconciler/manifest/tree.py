"""The YAML files below a manifest directory, as a team's checkout holds them: hidden
entries (`.git/`, `.github/`, an editor's `.#a.yaml`) are skipped and never entered; a
symbolic link to a folder is a subfolder like any other (followed, as a link to a file
is); a folder that cannot be read, a link to nothing (whatever its name: it may have led to
a folder), or a link that leads back into a folder the walk is inside of (`up -> ..`, or
two links into each other), is a problem named by its path, never a folder silently left
out: its CAs would look deleted to the plan (unmanaged, and with prune deleted).

Shared by manifest loading, `reconciler test` and `export --force` (which must see the
same files), in a loop of its own instead of `Path.rglob`, which skips a linked folder and
swallows a folder it may not read (PermissionError) without a word.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import Issue

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class Tree:
    """What a walk found: each YAML file (or link to nothing) as (path, its path relative
    to the directory in `/` form), and each folder it could not walk (in path order)."""

    files: list[tuple[Path, str]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def _is(entry: os.DirEntry[str], kind: Callable[[], bool]) -> bool:
    """`entry.is_dir` or `entry.is_file` (what scandir read, or a stat of a link's target),
    as `Path.is_dir` answers: no for a link to nothing or a loop of links."""
    try:
        return kind()
    except OSError:
        return False


def _leads_nowhere(entry: os.DirEntry[str]) -> bool:
    """A link to nothing (or a loop of links, or what this user may not reach)."""
    return entry.is_symlink() and not os.path.exists(entry.path)


def _listed(entry: os.DirEntry[str]) -> bool:
    """A regular file, or a link to nothing: listed, so that reading it reports it. A pipe
    or socket is not read (opening a pipe waits for a writer)."""
    return _is(entry, entry.is_file) or _leads_nowhere(entry)


def _excused(ignored: Callable[[str], bool], relative: str) -> bool:
    """Whether `.reconcilerignore` names this path, as a file or as a folder."""
    return ignored(relative) or ignored(f"{relative}/")


def _nowhere(entry: os.DirEntry[str]) -> str:
    """A link to nothing not named as a YAML file: the folder it linked (a moved one, a
    checkout without its sibling) may have held manifests, whose CAs would look deleted."""
    reason = "No such file or directory"
    try:
        os.stat(entry.path)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    return (
        f"cannot read: it is a symbolic link to {os.readlink(entry.path)}, which cannot be "
        f"read ({reason}); if it led to a folder, that folder's CAs would look deleted: "
        "restore it, remove the link, or name it in .reconcilerignore"
    )


def _loops(real: str, inside: str, above: frozenset[str]) -> bool:
    """Whether the folder a link leads to (its real path: `real`) is one the walk is inside
    of: the link's folder (`inside`, its real path) or a folder holding it (`..`, the
    repository's root), or a folder it came through (`a/x -> ../b` beside `b/y -> ../a`):
    walking it would read the same files again and again. `above`: the real paths of the
    folders the walk came through to the link's folder."""
    return real in above or inside == real or inside.startswith(real.rstrip(os.sep) + os.sep)


def _alias(real: str, root: str, ignored: Callable[[str], bool]) -> bool:
    """Whether a link leads to a folder of the tree the walk reads in its own place (not
    hidden, not named in `.reconcilerignore`): its files are read there, and read again
    through the link they would be every CA twice ("duplicate CA name"), as a checkout's
    `current -> v2` would make them."""
    if not real.startswith(root.rstrip(os.sep) + os.sep):
        return False
    parts = Path(os.path.relpath(real, root)).parts
    return not any(part.startswith(".") for part in parts) and not ignored("/".join(parts) + "/")


def walk(directory: Path, ignored: Callable[[str], bool]) -> Tree:
    """Every `*.yaml`/`*.yml` file below `directory`, in no particular order. `ignored`
    (a `.reconcilerignore`) excuses a folder that cannot be read or that loops back, and
    a link to nothing not named as a YAML file (which reading names);
    it does not stop the walk, since a `!negation` may bring back a file below."""
    tree = Tree()
    # Each folder to walk, its path relative to `directory`, its real path, and the real
    # paths of the folders the walk came through to it.
    root = os.path.realpath(directory)
    pending: list[tuple[Path, tuple[str, ...], str, frozenset[str]]] = [
        (directory, (), root, frozenset())
    ]
    while pending:
        folder, parts, real, above = pending.pop()
        relative = "/".join(parts)
        try:
            with os.scandir(folder) as scanned:
                entries = list(scanned)
        except OSError as exc:
            if not parts or not ignored(f"{relative}/"):
                reason = exc.strerror or type(exc).__name__
                tree.issues.append(
                    Issue(str(folder), None, None, "", f"cannot read this folder: {reason}")
                )
            continue
        inside = above | {real}
        for entry in entries:
            if entry.name.startswith("."):
                continue
            inner = (*parts, entry.name)
            # What scandir read is asked, not the system again (a stat per entry), and only
            # a link is resolved: a real subfolder is its folder's real path and its name.
            if _is(entry, entry.is_dir):
                linked = entry.is_symlink()
                target = os.path.realpath(entry.path) if linked else os.path.join(real, entry.name)
                if linked and _alias(target, root, ignored):
                    continue  # read in its own place
                if not linked or not _loops(target, real, above):
                    pending.append((folder / entry.name, inner, target, inside))
                elif not ignored("/".join(inner) + "/"):
                    message = (
                        f"is a symbolic link to {os.readlink(entry.path)}, a folder it is "
                        "already inside: its files would be read again and again; remove the "
                        "link, or name it in .reconcilerignore"
                    )
                    tree.issues.append(Issue(entry.path, None, None, "", message))
            elif entry.name.endswith(YAML_SUFFIXES) and _listed(entry):
                tree.files.append((folder / entry.name, "/".join(inner)))
            elif _leads_nowhere(entry) and not _excused(ignored, "/".join(inner)):
                tree.issues.append(Issue(entry.path, None, None, "", _nowhere(entry)))
    tree.issues.sort(key=lambda issue: issue.file)  # in path order, as the files are read
    return tree
