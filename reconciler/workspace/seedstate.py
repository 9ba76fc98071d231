"""The seeding state of `apply --seeds` across versions of one seed file.

Each state folder (`seeds.state_dir`: one per workspace and file content) names the file
it is for in `source.json`. An edited file is another folder; once an apply sends the new
version, the folders of the file's earlier versions go: the new seeds overwrite theirs, so
their record could only pass for landed seeds the workspace no longer holds (were the file
changed back), and their checkpoints hold the file's people. The folder of the version
being applied is never touched: resuming it needs it.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from reconciler.console import Output
from reconciler.files import hold, real_path, replace_whole

SOURCE = "source.json"
#: What a state folder holds (`seeds.Record`, `seeds.GroupIndex`, the group checkpoints):
#: nothing else is removed with it.
_STATE = ("seeded.json", "groups.json", SOURCE)
_CHECKPOINTS = "group-*.jsonl"
_FOLDER = re.compile(r"[0-9]+-[0-9a-f]{16}")


@dataclass(frozen=True)
class Version:
    """The state folder of an earlier version of a seed file."""

    folder: Path
    #: Its group checkpoints: groups whose apply stopped before their seeds all landed.
    unfinished: int


def mark(folder: Path, file: Path, sha256: str) -> None:
    """Note in `folder` which file (path and content) it holds the seeding state of."""
    source = folder / SOURCE
    if not source.exists():
        replace_whole(source, orjson.dumps({"path": str(file), "sha256": sha256}))


def earlier(folder: Path, file: Path) -> list[Version]:
    """The state folders beside `folder` (same environment and workspace) of other
    versions of `file`. A folder that names no file (written before folders did, with no
    checkpoint to tell) is nobody's to remove."""
    workspace = folder.name.partition("-")[0]
    try:
        siblings = sorted(folder.parent.iterdir())
    except OSError:
        return []
    names = {str(file), str(real_path(file))}
    found: list[Version] = []
    for sibling in siblings:
        if (
            sibling.name == folder.name
            or not _FOLDER.fullmatch(sibling.name)
            or sibling.name.partition("-")[0] != workspace
            or not sibling.is_dir()
        ):
            continue
        if _source(sibling) in names:
            found.append(Version(sibling, len(list(sibling.glob(_CHECKPOINTS)))))
    return found


def _source(folder: Path) -> str | None:
    """The seed file `folder` is for: its `source.json`, else (a folder of an earlier
    reconciler) the input its checkpoints' headers name."""
    try:
        path = orjson.loads((folder / SOURCE).read_bytes())["path"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        path = None
    if isinstance(path, str):
        return path
    for checkpoint in sorted(folder.glob(_CHECKPOINTS)):
        try:
            with checkpoint.open("rb") as lines:
                named = orjson.loads(lines.readline())["input"]["path"]
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
            continue
        if isinstance(named, str):
            return named
    return None


def remove(version: Version) -> bool:
    """Remove the folder's state, then the folder if nothing else is in it; False while
    another run holds one of its checkpoints (nothing removed), or when a file of it
    could not be removed."""
    checkpoints = sorted(version.folder.glob(_CHECKPOINTS))
    with contextlib.ExitStack() as opened:
        for checkpoint in checkpoints:
            try:
                handle: IO[bytes] = opened.enter_context(checkpoint.open("rb"))
            except OSError:
                continue
            if not hold(handle.fileno(), checkpoint):
                return False
    removed = True
    for path in [*checkpoints, *(version.folder / name for name in _STATE)]:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            removed = False
    with contextlib.suppress(OSError):  # something of the user's in it: it stays
        version.folder.rmdir()
    return removed


def warn_unfinished(folder: Path, file: Path, output: Output) -> None:
    """For a plan: warn of an earlier version of `file` whose apply stopped part-way.
    Whoever expects a resume finds the file changed (an editor's reformatting will do)."""
    for version in earlier(folder, file):
        if version.unfinished:
            output.warn(
                f"{file} changed since an apply of it stopped part-way ({version.folder} "
                "holds its checkpoints): this version's seeds are all sent, and applying it "
                "removes that state. To resume that apply instead, put the file back as it was"
            )


def remove_earlier(folder: Path, file: Path, output: Output) -> None:
    """Before an apply's first group sends: the state of `file`'s earlier versions goes,
    and the run says so (a folder a run still uses is left, with a warning)."""
    for version in earlier(folder, file):
        stopped = " (its apply had stopped part-way)" if version.unfinished else ""
        if remove(version):
            output.info(
                f"{file} changed since it was applied with --seeds: the seeding state of its "
                f"earlier version{stopped} is removed ({version.folder}), as this version's "
                "seeds overwrite that one's"
            )
        else:
            output.warn(
                f"{version.folder}, the seeding state of an earlier version of {file}, is in "
                "use by another run or cannot be removed: left as it is; delete it once no run "
                "uses it"
            )
