"""`reconciler emulator`: runs the local mParticle CA API emulator as an HTTP server and
prints `listening on http://HOST:PORT` once it accepts connections."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.console import Output
from reconciler.emulator import EmulatorConfig, create_app
from reconciler.emulator.server import bind, serve, url_of
from reconciler.errors import ReconcilerError


@dataclass(frozen=True)
class EmulatorOptions:
    """The command's flags: where to listen and store, and the emulator's behaviour."""

    config: EmulatorConfig = field(default_factory=EmulatorConfig)
    host: str = "127.0.0.1"
    port: int = 8080
    db: Path | None = None


def _missing_folder(db: Path | None) -> str | None:
    """A --db in a folder that does not exist: refused, as sqlite3 refuses it, rather than
    making every folder of a mistyped path (`/typo/dir/x.db`) and serving from there. A
    file where a folder should be is left to the opening, which names it."""
    if db is None or db.parent.is_dir():
        return None
    nearest = next((folder for folder in db.parents if folder.exists()), None)
    if nearest is not None and not nearest.is_dir():
        return None
    return (
        f"--db {db}: no such directory {db.parent}; the emulator makes a new database file, "
        "not the folders above it: make the folder first, or name a file in one that exists"
    )


def _why(db: Path | None, exc: sqlite3.DatabaseError | OSError) -> str:
    """Why the database did not open, in the system's or SQLite's words; a file where a
    folder of its path should be is named (making the folders said only "File exists")."""
    if not isinstance(exc, OSError):
        return str(exc)
    nearest = next((folder for folder in db.parents if folder.exists()), None) if db else None
    if nearest is not None and not nearest.is_dir():
        return f"{nearest} is a file, not a directory"
    return exc.strerror or str(exc)


def run(options: EmulatorOptions, output: Output) -> int:
    """Serve until SIGINT/SIGTERM; 0 on a clean stop. A port that cannot be bound and a
    database that does not open are user errors (exit 1), found before serving; each flag's
    own value (a range, an empty host or credential) is its parser's to refuse (cli/emulator.py)."""
    missing = _missing_folder(options.db)
    if missing is not None:
        raise ReconcilerError(missing)
    try:
        sock = bind(options.host, options.port)
    except (OSError, OverflowError, ValueError, UnicodeError) as exc:
        said = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ReconcilerError(f"cannot listen on {options.host}:{options.port}: {said}") from None

    try:
        app = create_app(options.config, options.db)
    except (sqlite3.DatabaseError, OSError) as exc:
        sock.close()
        raise ReconcilerError(
            f"--db {options.db}: cannot use it as the emulator's database "
            f"({_why(options.db, exc)}); name a "
            "new file, or an emulator database that is not damaged"
        ) from None

    def ready(port: int) -> None:
        output.write_raw(f"listening on {url_of(options.host, port)}\n")

    serve(options.config, sock, on_ready=ready, app=app)
    return 0
