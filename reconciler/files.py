"""Files a user names on the command line (`plan --out`, `export --out`, `test --junit`):
checked before anything is written, written whole or not at all, and every refusal of the
operating system is a user error that names the flag and the path (exit 1, never "a bug").
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from reconciler.errors import ReconcilerError


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


def write_atomically(path: Path, data: bytes, flag: str) -> None:
    """Write `data` to `path` whole: through a temporary file beside it, renamed over it,
    so that a failure leaves the old file (or none) and no temporary file behind."""
    check_writable_file(path, flag)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with temporary.open("wb") as file:
                file.write(data)
            temporary.replace(path)
        finally:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
    except OSError as exc:
        raise refusal(flag, path, exc) from None
