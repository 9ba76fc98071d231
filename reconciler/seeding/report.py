"""Seeding, the record of a run: counts for the summary, and the rejects file.

`SeedReport` is a value the command renders (text or JSON); `RejectsFile` writes refused
users as JSON lines `{"line", "errors", "record", "stage"}` and is only created when needed.
A rejects file never replaces or removes anything else: a directory, or an existing file
that is not a rejects file, is refused before the run starts, and nothing is ever deleted.
A run holds its rejects file (locked, from its start) so that a second run writing the same
one, such as the same seed file sent to two environments at once (both default to
`FILE.rejects.jsonl`), is refused before it reads or sends anything, instead of both
writing over each other's lines.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from reconciler.errors import ApiError, SettingsError
from reconciler.files import check_writable_file, hold, open_private, refusal

JSON_FORMAT_VERSION = 1


@dataclass
class SeedReport:
    """What a seed run read, sent and refused."""

    file: str
    format: str
    dry_run: bool
    target: str = ""
    #: The hash of the whole file, once pass 1 has read it.
    input_sha256: str = ""
    users_read: int = 0
    users_valid: int = 0
    users_invalid: int = 0
    users_sent: int = 0
    users_rejected_server: int = 0
    users_already_sent: int = 0
    batches_total: int = 0
    batches_sent: int = 0
    batches_skipped: int = 0
    requests: int = 0
    retries: int = 0
    bytes: int = 0
    elapsed: float = 0.0
    interrupted: str | None = None
    forced: bool = False
    rejects: str | None = None
    checkpoint: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: The API error that stopped sending, if one did.
    failure: ApiError | None = None
    #: Users not sent because a CA they seed does not exist (with --skip-invalid).
    users_missing_ca: int = 0
    #: Valid users with nothing to send (a CSV row whose cells are all empty).
    users_empty: int = 0
    #: The rate governor: configured rate and ceiling, the highest rate reached, the 429s.
    rate_configured: float = 0.0
    rate_ceiling: float = 0.0
    rate_peak: float = 0.0
    rate_limited: int = 0
    acceleration_limited: int = 0
    #: Tries sent again because the Seeding API did not know a CA yet, and those CAs.
    propagation_retries: int = 0
    propagation_waited: list[str] = field(default_factory=list)
    #: Seconds spent sending (pass 2), at least the span of the rate slots the requests
    #: held: the average rate never exceeds the peak.
    send_seconds: float = 0.0
    #: CA name -> valid users seeding it, and users seeding it that were refused (by the
    #: preflight or the server): on a complete run, the difference landed.
    users_by_ca: dict[str, int] = field(default_factory=dict)
    refused_by_ca: dict[str, int] = field(default_factory=dict)

    def count_cas(self, user: Any) -> None:
        """Count a valid user under each CA it seeds."""
        _count(self.users_by_ca, user)

    def count_refused(self, user: Any) -> None:
        """Count a refused user (as sent) under each CA it seeds."""
        _count(self.refused_by_ca, user)

    def landed_by_ca(self) -> dict[str, int]:
        """CA name -> users whose seeds for it landed, once the run is complete."""
        return {
            name: users - self.refused_by_ca.get(name, 0)
            for name, users in sorted(self.users_by_ca.items())
        }

    @property
    def users_rejected(self) -> int:
        return self.users_invalid + self.users_rejected_server + self.users_missing_ca

    @property
    def users_per_second(self) -> float:
        """Users sent per second while sending."""
        return self.users_sent / self.send_seconds if self.send_seconds > 0 else 0.0

    @property
    def complete(self) -> bool:
        """Every batch was confirmed, in this run or an earlier one."""
        return self.batches_sent + self.batches_skipped == self.batches_total

    def as_json(self) -> dict[str, Any]:
        return {
            "format_version": JSON_FORMAT_VERSION,
            "file": self.file,
            "format": self.format,
            "dry_run": self.dry_run,
            "target": self.target,
            "users": {
                "read": self.users_read,
                "valid": self.users_valid,
                "sent": self.users_sent,
                "already_sent": self.users_already_sent,
                "nothing_to_send": self.users_empty,
                "rejected": {
                    "invalid": self.users_invalid,
                    "server": self.users_rejected_server,
                    "missing_ca": self.users_missing_ca,
                },
            },
            "rate": {
                "configured": self.rate_configured,
                "ceiling": self.rate_ceiling,
                "peak": round(self.rate_peak, 1),
                "users_per_second": round(self.users_per_second, 1),
                "rate_limited": self.rate_limited,
                "acceleration_limited": self.acceleration_limited,
            },
            "propagation": {
                "retries": self.propagation_retries,
                "waited_for": self.propagation_waited,
            },
            "cas": {
                name: {"users": users, "refused": self.refused_by_ca.get(name, 0)}
                for name, users in sorted(self.users_by_ca.items())
            },
            "batches": {
                "total": self.batches_total,
                "sent": self.batches_sent,
                "skipped": self.batches_skipped,
            },
            "requests": {"sent": self.requests, "retried": self.retries},
            "bytes": self.bytes,
            "elapsed_seconds": round(self.elapsed, 3),
            "complete": self.complete,
            "interrupted": self.interrupted,
            "error": self.failure.message if self.failure is not None else None,
            "rejects": self.rejects,
            "checkpoint": self.checkpoint,
            "warnings": self.warnings,
        }


#: How every line of a rejects file starts (orjson keeps the keys in the order written).
_REJECTS_START = b'{"line":'


def check_rejects_path(path: Path) -> None:
    """Refuse, before anything is read or sent, a rejects path this run may not write:
    a directory, or a file that is not a rejects file (it would be overwritten)."""
    if path.is_dir():
        raise SettingsError(f"--rejects {path} is a directory: name a file for refused users")
    if not path.exists():
        check_writable_file(path, "--rejects")  # not below a file
        if not path.parent.is_dir():
            raise SettingsError(f"--rejects {path}: no such directory {path.parent}")
        return
    try:
        with path.open("rb") as file:
            start = file.read(len(_REJECTS_START))
    except OSError as exc:
        raise SettingsError(f"--rejects {path} cannot be read: {exc.strerror}") from None
    if start and start != _REJECTS_START:
        raise SettingsError(
            f"--rejects {path} exists and is not a rejects file: refused users would replace "
            "it. Name a new file (or remove that one yourself)"
        )


def _count(counts: dict[str, int], user: Any) -> None:
    seeds = user.get("calculated_attributes", {}).get("workspace", ()) if user else ()
    for entry in seeds:
        name = entry.get("attribute_name") if isinstance(entry, dict) else None
        if isinstance(name, str):
            counts[name] = counts.get(name, 0) + 1


class RejectsFile:
    """Refused users, one JSON object a line. The file is held (locked) from the start, so
    that two runs never write one file at once; made then if missing, and removed at the
    end if no one was refused. Its lines are replaced by the first refusal (or, to
    `append`, added to)."""

    def __init__(self, path: Path, *, append: bool = False, hold: bool = True) -> None:
        """`hold`: take the file now (a run that may refuse users); else (a dry run, which
        writes none) only when a first user is refused."""
        check_rejects_path(path)
        self.path = path
        self.count = 0
        self.append = append
        #: A rejects file of an earlier run: replaced if this run refuses anyone, else kept.
        self.earlier = path.is_file() and path.stat().st_size > 0
        self._made = False
        self._file: IO[bytes] | None = None
        if hold:
            self._hold()

    def _hold(self) -> None:
        """Open the file (made if missing, its lines kept for now) and lock it."""
        try:
            self._file = open_private(self.path, "ab")
        except OSError as exc:  # a folder this user may not write to
            raise refusal("--rejects", self.path, exc) from None
        self._lock()
        # Empty, it holds no one's rejects: one made now, or left by a run killed before
        # its first refusal (each run makes it at its start), which no run removed.
        self._made = os.fstat(self._file.fileno()).st_size == 0

    def _lock(self) -> None:
        if self._file is not None and not hold(self._file.fileno(), self.path):
            self._file.close()
            self._file = None
            raise SettingsError(
                f"the rejects file {self.path} is in use by another seeding run (`seed` or "
                "`apply --seeds` of the same seed file, or one with the same --rejects): wait "
                "for it to finish, or, with `reconciler seed`, name another file with --rejects"
            ) from None

    def write(self, line: int, errors: list[str], record: Any, stage: str) -> None:
        self.write_entry({"line": line, "errors": errors, "record": record, "stage": stage})

    def write_entry(self, entry: dict[str, Any]) -> None:
        if self._file is None:
            self._hold()
        assert self._file is not None
        try:
            if not self.count and not self.append:
                self._file.truncate(0)  # the earlier run's rejects go
            self._file.write(orjson.dumps(entry) + b"\n")
        except OSError as exc:  # a full disk
            raise refusal("--rejects", self.path, exc) from None
        self.count += 1

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def finish(self) -> str | None:
        """Close; the path, if this run wrote to it. Nothing is ever deleted but an empty
        file this run held: a file with lines it did not write is not its to remove (`stale`)."""
        if self._file is not None:
            if not self.count and self._made:
                with contextlib.suppress(OSError):
                    self.path.unlink()  # still held: no other run has written it
            self._file.close()
            self._file = None
        return str(self.path) if self.count else None

    def stale(self, *, finished: bool) -> str | None:
        """What to tell the user when a rejects file of an earlier run stays in place. A
        run that stopped (invalid users without --skip-invalid, a lost connection) may
        have refused users without writing them here: it does not say "refused no one"."""
        if self.count or not self.earlier:
            return None
        if not finished:
            return (
                f"{self.path} holds the rejects of an earlier run, not of this one, which "
                "stopped before writing any; it was left as it was"
            )
        return (
            f"{self.path} holds the rejects of an earlier run; this run refused no one and "
            "left it as it was"
        )
