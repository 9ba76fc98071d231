"""The YAML files below a manifest directory, as a team's checkout holds them: hidden
entries (`.git/`, `.github/`, an editor's `.#a.yaml`) are skipped and never entered; a
symbolic link to a folder is a subfolder like any other (followed, as a link to a file
is); a folder that cannot be read, or a link that leads back into a folder the walk is
inside of (`up -> ..`, or two links into each other), is a problem named by its path,
never a folder silently left out: its CAs would look deleted to the plan (unmanaged, and
with prune deleted).

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


def _listed(path: Path) -> bool:
    """A regular file, or a link to nothing (or a loop of links): listed, so that reading
    it reports it. A pipe or socket is not read (opening a pipe waits for a writer)."""
    return path.is_file() or (path.is_symlink() and not path.exists())


def _loops(link: Path, folder: Path, above: frozenset[str]) -> bool:
    """Whether the folder `link` leads to is one the walk is inside of: `folder` or a folder
    holding it (`..`, the repository's root), or a folder it came through (`a/x -> ../b`
    beside `b/y -> ../a`): walking it would read the same files again and again. (Only a
    link can: a real subfolder holds nothing above it.) `above`: the real paths of the
    folders the walk came through to `folder`."""
    real, inside = os.path.realpath(link), os.path.realpath(folder)
    return real in above or inside == real or inside.startswith(real.rstrip(os.sep) + os.sep)


def walk(directory: Path, ignored: Callable[[str], bool]) -> Tree:
    """Every `*.yaml`/`*.yml` file below `directory`, in no particular order. `ignored`
    (a `.reconcilerignore`) excuses a folder that cannot be read or that loops back;
    it does not stop the walk, since a `!negation` may bring back a file below."""
    tree = Tree()
    # Each folder to walk, its path relative to `directory`, and the real paths it is in.
    pending: list[tuple[Path, tuple[str, ...], frozenset[str]]] = [(directory, (), frozenset())]
    while pending:
        folder, parts, above = pending.pop()
        relative = "/".join(parts)
        try:
            with os.scandir(folder) as scanned:
                entries = sorted(scanned, key=lambda entry: entry.name)
        except OSError as exc:
            if not parts or not ignored(f"{relative}/"):
                reason = exc.strerror or type(exc).__name__
                tree.issues.append(
                    Issue(str(folder), None, None, "", f"cannot read this folder: {reason}")
                )
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            inner = (*parts, entry.name)
            if path.is_dir():
                if not _loops(path, folder, above):
                    pending.append((path, inner, above | {os.path.realpath(folder)}))
                elif not ignored("/".join(inner) + "/"):
                    message = (
                        f"is a symbolic link to {os.readlink(path)}, a folder it is already "
                        "inside: its files would be read again and again; remove the link, or "
                        "name it in .reconcilerignore"
                    )
                    tree.issues.append(Issue(str(path), None, None, "", message))
            elif entry.name.endswith(YAML_SUFFIXES) and _listed(path):
                tree.files.append((path, "/".join(inner)))
    tree.issues.sort(key=lambda issue: issue.file)  # in path order, as the files are read
    return tree
