"""Writing files whole, and the lock on a folder of manifests. Every file the reconciler
writes for later (a saved plan, the manifest cache, the seeding record) goes through
`replace_whole`: a temporary file renamed over the target, never half a file. Files a
user names on the command line (`plan --out`, `export --out`, `test --junit`) are also
checked before anything is written, and every refusal of the operating system is a user
error that names the flag and the path (exit 1, never "a bug"). An export holds its
`--out` folder alone while it writes, and a command that loads manifests holds their
folder, shared, while it reads them (`reading_folder`): a load never sees a folder
half-written. `make_folders` makes the manifest folder's `.reconciler/` (this machine's
state) with a `.gitignore` that keeps it out of Git.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from reconciler.errors import ReconcilerError, duration, printable, until

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locks; one run at a time is on the user
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("reconciler.files")

#: Windows opens files as text unless told otherwise.
_BINARY = getattr(os, "O_BINARY", 0)


#: The folder beside reconciler.yaml that holds this machine's state: the embedded
#: workspace's database, the seeding record and checkpoints of `apply --seeds`.
STATE_FOLDER = ".reconciler"
#: What a state folder the reconciler makes holds from the start, as pytest, ruff and mypy
#: do for their caches: Git leaves the folder out without a line in the repository.
STATE_GITIGNORE = "# Made by reconciler: this machine's state, never committed.\n*\n"


def make_folders(folder: Path) -> None:
    """`folder` and its missing parents, as `mkdir -p`. A `.reconciler` folder this makes
    gets a `.gitignore` holding `*`; one that was there is left as it is (its .gitignore,
    or the lack of one, included)."""
    state = next((path for path in (folder, *folder.parents) if path.name == STATE_FOLDER), None)
    made = state is not None and not state.exists()
    folder.mkdir(parents=True, exist_ok=True)
    if state is not None and made:
        # Exclusive: another command that made the folder at the same moment wrote it.
        with (
            contextlib.suppress(FileExistsError),
            (state / ".gitignore").open("x", encoding="utf-8") as file,
        ):
            file.write(STATE_GITIGNORE)


_OPEN_FLAGS = {
    "wb": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    "ab": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    "a+b": os.O_RDWR | os.O_CREAT | os.O_APPEND,
}


def open_private(path: Path, mode: Literal["wb", "ab", "a+b"]) -> BinaryIO:
    """`path.open(mode)` ("wb", "ab" or "a+b"), but a file it creates is readable by this
    user only: seeding's checkpoints and rejects hold the seed file's people (identities,
    e-mail addresses), which a shared machine's other users need not read. A file that
    exists keeps its permissions."""
    descriptor = os.open(path, _OPEN_FLAGS[mode] | _BINARY, 0o600)
    stream: BinaryIO = os.fdopen(descriptor, mode)
    return stream


#: Whether this system has the locks `hold` takes (POSIX): without them, nothing is held
#: and a folder is not even opened to be (Windows opens no folder as a file).
LOCKS = fcntl is not None


#: What `flock` says when another process holds the lock (the others: no lock to be had).
_BUSY = frozenset({errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES})


def hold(descriptor: int, name: object) -> bool:
    """Lock an open file (or folder, `name`) for this process, without waiting: False when
    another process holds it. The lock goes with the descriptor's close, or the process's
    end (a killed run leaves none behind). Where the system has no such locks, True;
    likewise, with a warning, on a file system that gives none (some network ones answer
    ENOLCK): refusing there named another run where there was none, and no run could go
    on."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in _BUSY:
            return False
        log.warning(
            "%s: its file system gives no lock (%s), so nothing stops another reconciler run "
            "from using it meanwhile: run one at a time",
            printable(str(name)),
            os.strerror(exc.errno) if exc.errno else exc,
        )
    return True


def share(descriptor: int) -> bool:
    """`hold`, shared: any number of processes share it, and none holds it alone meanwhile.
    False only while one holds it alone; True too where the system (or a file system that
    knows no `flock`) gives no lock, so that reading goes on as it did without one."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        return exc.errno not in _BUSY
    return True


def open_folder(folder: Path) -> int | None:
    """`folder` opened to be locked: read-only (locking needs no write access, so a
    read-only checkout is locked as any other), and only a folder (a pipe named as one
    would block the open). None where there are no locks (Windows opens no folder as a
    file), or it cannot be opened: what reads it next says why."""
    if not LOCKS:
        return None
    try:
        return os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None


@dataclass(frozen=True)
class Patience:
    """How long a command waits for a folder another process holds, how often it tries
    the lock again meanwhile, and the clock it waits by (a test's is fake)."""

    seconds: float = 30.0
    poll: float = 0.1
    clock: Callable[[], float] = time.monotonic
    pause: Callable[[float], None] = time.sleep


#: An export holds its folder only while it writes the files (its requests come first),
#: and a load only while it reads them: seconds, even for thousands of CAs.
FOLDER_PATIENCE = Patience()


def held_within(take: Callable[[], bool], waiting: str, gave_up: Callable[[str], str]) -> None:
    """`take()` (a lock tried without waiting) again and again until it succeeds, for
    `FOLDER_PATIENCE.seconds` at most. A wait is announced as it starts (`waiting`, then
    `until 18:03:07 UTC (30 s at most)`); when its time runs out, ReconcilerError of
    `gave_up(how long it waited)` (a function, not a template: the folder's name in it may
    hold braces). `take` may raise to give up at once."""
    if take():
        return
    patience = FOLDER_PATIENCE
    waited = duration(patience.seconds)
    deadline = patience.clock() + patience.seconds
    log.info("%s, until %s (%s at most)", waiting, until(patience.seconds), waited)
    while (left := deadline - patience.clock()) > 0:
        patience.pause(min(patience.poll, left))
        if take():
            return
    raise ReconcilerError(gave_up(waited))


@contextlib.contextmanager
def reading_folder(folder: Path) -> Iterator[None]:
    """`folder` held, shared, while a command reads its manifests: never while an export
    writes into it, for which it waits (announced, bounded); other readers are welcome.
    Nothing is written or left in the folder. Without locks, or a folder to lock, the
    reading goes on as it is (a marker file tells an export that stopped half-way)."""
    descriptor = open_folder(folder)
    if descriptor is None:
        yield
        return
    shown = printable(str(folder))
    try:
        held_within(
            lambda: share(descriptor),
            f"{shown}: a `reconciler export` is writing into it; waiting for it to finish",
            lambda waited: (
                f"{shown}: a `reconciler export` was still writing into it after {waited} of "
                "waiting; nothing was read, since a folder half-written could plan changes "
                "nobody made. Run this again when the export ends"
            ),
        )
        yield
    finally:
        os.close(descriptor)


def real_path(path: Path) -> Path:
    """`path` absolute, its symbolic links followed as far as they go. Unlike Python 3.11's
    `Path.resolve`, a link loop raises nothing here (it is left for the open that follows
    to report, as an OSError naming the path) instead of a RuntimeError."""
    return Path(os.path.realpath(path))


def check_creatable(path: Path, flag: str) -> None:
    """`check_writable_file`, and for a file that does not exist yet, a trial: a file of an
    unguessable name is created and removed in the nearest folder that exists, so that a
    place the system refuses (`/proc/x/y`, a read-only mount) is named before a command
    spends minutes on what it cannot save. (`os.access` cannot tell: root passes it.)"""
    check_writable_file(path, flag)
    if path.exists() or path.is_symlink():
        return
    folder = next(parent for parent in path.parents if parent.exists())
    trial = folder / f".reconciler-trial.{os.getpid()}.{secrets.token_hex(6)}"
    try:
        os.close(os.open(trial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o600))
    except OSError as exc:
        raise refusal(flag, path, exc) from None
    with contextlib.suppress(OSError):
        trial.unlink()


def refusal(flag: str, path: Path, exc: OSError, doing: str = "write") -> ReconcilerError:
    """`--out /proc/x/y: cannot write it: No such file or directory`."""
    reason = exc.strerror or type(exc).__name__
    return ReconcilerError(f"{flag} {path}: cannot {doing} it: {reason}")


def check_writable_file(path: Path, flag: str) -> None:
    """Refuse, before any work, a path that can only fail: a directory, or a path under a
    file (`plan.json/x`)."""
    if path.is_dir():
        raise ReconcilerError(f"{flag} {path}: is a directory; name a file to write")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ReconcilerError(f"{flag} {path}: {parent} is a file, not a directory")
            break


def replace_whole(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Write `data` to `path` whole: through a temporary file beside it, renamed over it,
    so that a failure leaves the old file (or none) and no temporary file behind. With
    `durable`, the bytes reach the disk before the rename (state a re-run relies on).
    OSError as raised."""
    # A new file of an unguessable name, never through a link planted there (`--out` in a
    # shared folder such as /tmp): another user's link at a predictable name had our bytes
    # written over whatever it pointed to. Its mode is what the umask allows, as `open`'s.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        temporary.replace(path)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


#: The temporary files of `replace_whole`: `.<name>.<pid>.<12 hex>.tmp`.
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[0-9a-f]{12}\.tmp")


def _gone(pid: int) -> bool:
    """Whether no process `pid` runs (so a temporary file of its is a leftover). Windows
    cannot be asked without signalling the process: there, every writer counts as alive."""
    if sys.platform == "win32" or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # another user's process, or not ours to ask: alive
    except OverflowError:
        return False  # no process id at all (`.plan.json.99999999999999999999.….tmp`): not ours
    return False


def leftovers(folder: Path, names: Collection[str]) -> list[Path]:
    """The temporary files `replace_whole` left in `folder` for files named `names`, its
    process killed (SIGKILL, the OOM killer, a lost CI runner) before the rename: in a
    folder of manifests that Git commits they are litter nothing else removes. A
    temporary file of a process still running is its, and not listed."""
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            match = _TEMPORARY.fullmatch(entry.name)
            if match and match["name"] in names and _gone(int(match["pid"])):
                found.append(Path(entry.path))
    return found


def write_atomically(
    path: Path, data: bytes, flag: str, *, make_folders: bool = True, tidy: bool = True
) -> None:
    """`replace_whole` for a file the user named with `flag`: checked first, and a refusal
    of the operating system is a user error naming the flag and the path. With `tidy`, the
    temporary files an earlier writer of `path` left when it was killed go first (`export`,
    which writes a folder of files, removes them once for all).

    Only a regular file is replaced. A symbolic link is followed and its target replaced
    (the link stays); a device, a pipe or `/dev/stdout` is written through, as a shell's
    `>` would: renaming a file over one would put a regular file in place of `/dev/stdout`
    (run as root) or of the pipe a reader waits on."""
    check_writable_file(path, flag)
    try:
        if path.exists() and not path.is_file():
            with path.open("wb") as stream:
                stream.write(data)
            return
        target = real_path(path) if path.is_symlink() else path
        if target.is_symlink():  # realpath stops at a link loop
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
        if make_folders:
            target.parent.mkdir(parents=True, exist_ok=True)
        for leftover in leftovers(target.parent, {target.name}) if tidy else ():
            with contextlib.suppress(OSError):
                leftover.unlink()
        replace_whole(target, data)
    except OSError as exc:
        raise refusal(flag, path, exc) from None
