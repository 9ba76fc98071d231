"""The seeding state of `apply --seeds` across versions of one seed file.

Each state folder (`seeds.state_dir`: one per workspace and file content) names the file
it is for in `source.json`. An edited file is another folder; once an apply sends the new
version, the folders of the file's earlier versions go: the new seeds overwrite theirs, so
their record could only pass for landed seeds the workspace no longer holds (were the file
changed back), and their checkpoints hold the file's people. The folder of the version
being applied is never touched: resuming it needs it.

Other files seeding the same CAs overwrite each other's seeds of the users they share: a
group about to send a CA's seeds makes every other folder of the workspace forget that CA
(its record, and the checkpoints of its groups holding it). `reconciler seed` does the
same before it sends, but leaves the folder of the file it seeds (the same seeds again).
Folders that name no file at all (written before `source.json`, with no checkpoint to
tell) go at the next apply.

User attributes are in no record: another file's attributes for shared users overwrite
the first file's without any folder forgetting anything (docs/seeding.md says so).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import orjson

from reconciler.errors import first_few, quoted
from reconciler.files import hold, real_path, replace_whole

SOURCE = "source.json"
RECORD = "seeded.json"
GROUPS = "groups.json"
#: What a state folder holds (`seeds.Record`, `seeds.GroupIndex`, the group checkpoints):
#: nothing else is removed with it.
_STATE = (RECORD, GROUPS, SOURCE)
_CHECKPOINTS = "group-*.jsonl"
_FOLDER = re.compile(r"[0-9]+-[0-9a-f]{16}")


class Output(Protocol):
    """Where the state's changes are said (stderr): `console.Output`, or `reconciler seed`'s
    progress, which says them above its bars."""

    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...


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


def _siblings(folder: Path) -> Iterator[Path]:
    """The other state folders beside `folder`: same environment and workspace."""
    workspace = folder.name.partition("-")[0]
    try:
        siblings = sorted(folder.parent.iterdir())
    except OSError:
        return
    for sibling in siblings:
        if (
            sibling.name != folder.name
            and _FOLDER.fullmatch(sibling.name)
            and sibling.name.partition("-")[0] == workspace
            and sibling.is_dir()
        ):
            yield sibling


def _version(folder: Path) -> Version:
    return Version(folder, len(list(folder.glob(_CHECKPOINTS))))


def earlier(folder: Path, file: Path) -> list[Version]:
    """The state folders beside `folder` (same environment and workspace) of other
    versions of `file`."""
    names = {str(file), str(real_path(file))}
    return [_version(sibling) for sibling in _siblings(folder) if _source(sibling) in names]


def unnamed(folder: Path) -> list[Version]:
    """The state folders beside `folder` that name no file: written before folders did,
    with no checkpoint to tell. Nobody's, so nothing would ever remove them."""
    return [_version(sibling) for sibling in _siblings(folder) if _source(sibling) is None]


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


def _remove_checkpoint(checkpoint: Path) -> bool:
    """Remove one group checkpoint; False while another run holds it, or when it could
    not be removed."""
    try:
        with checkpoint.open("rb") as handle:
            if not hold(handle.fileno(), checkpoint):
                return False
            checkpoint.unlink()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


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
    for version in unnamed(folder):
        if remove(version):
            output.info(
                f"{version.folder}: seeding state written by an earlier reconciler, which "
                "names no seed file, is removed (its record could say seeds landed that other "
                "files have overwritten since); applying that file again sends its seeds again"
            )
        else:
            _in_use(version.folder, "seeding state that names no seed file", output)
    for version in earlier(folder, file):
        stopped = " (its apply had stopped part-way)" if version.unfinished else ""
        if remove(version):
            output.info(
                f"{file} changed since it was applied with --seeds: the seeding state of its "
                f"earlier version{stopped} is removed ({version.folder}), as this version's "
                "seeds overwrite that one's"
            )
        else:
            _in_use(version.folder, f"the seeding state of an earlier version of {file}", output)


def _in_use(folder: Path, what: str, output: Output) -> None:
    output.warn(
        f"{folder}, {what}, is in use by another run or cannot be removed: left as it is; "
        "delete it once no run uses it"
    )


def overwritten(folder: Path, file: Path, cas: Collection[str], output: Output) -> None:
    """Before a group sends `cas` from `file` (state in `folder`): the other seed files'
    state of the workspace stops saying their seeds of those CAs landed, and says so. Their
    users may be this file's, whose seeds overwrite theirs: kept, the record would plan
    "No changes." for a file put back whose seeds the workspace no longer holds."""
    for sibling in _siblings(folder):
        forgot = sorted(_forget_record(sibling, cas) | _forget_groups(sibling, cas, output))
        if not forgot:
            continue
        other = _source(sibling) or "a seed file"
        names = first_few([quoted(name) for name in forgot], ", ", " ")
        output.info(
            f"{other}: its seeds of {names} are no longer taken as landed ({sibling}): {file} "
            "seeds them now, overwriting those of any users the two files share; "
            f"`plan --seeds {other}` sends them again"
        )


def _forget_record(folder: Path, cas: Collection[str]) -> set[str]:
    """Drop `cas` from the folder's record; the names dropped. A record that cannot be read
    is left: its own plan says so, and what to do."""
    path = folder / RECORD
    try:
        record = orjson.loads(path.read_bytes())
        held = record["cas"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return set()
    if not isinstance(held, dict):
        return set()
    gone = {name for name in cas if name in held}
    if gone:
        record["cas"] = {name: entry for name, entry in held.items() if name not in gone}
        replace_whole(path, orjson.dumps(record, option=orjson.OPT_INDENT_2), durable=True)
    return gone


def _forget_groups(folder: Path, cas: Collection[str], output: Output) -> set[str]:
    """Remove the folder's group checkpoints holding any of `cas` (`groups.json` says which
    CAs each holds): resumed, they would pass overwritten batches for landed. The names
    of `cas` they held."""
    path = folder / GROUPS
    try:
        groups = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return set()
    if not isinstance(groups, dict):
        return set()
    gone: set[str] = set()
    for name, held in list(groups.items()):
        shared = set(cas).intersection(held) if isinstance(held, list) else set()
        if not shared:
            continue
        if _remove_checkpoint(folder / name):
            del groups[name]
            gone |= shared
        else:
            _in_use(folder / name, "a checkpoint of another seed file's apply", output)
    if gone:
        replace_whole(path, orjson.dumps(groups, option=orjson.OPT_SORT_KEYS))
    return gone
