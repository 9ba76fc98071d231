"""Seeding end to end: pass 1 validates every user and spools the valid ones (nothing is
sent while any is invalid, unless skip_invalid); pass 2 cuts the spool into batches and
sends them, keeping the checkpoint and the rejects file. Signals stop it between batches."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import httpx
import orjson

from reconciler.api.transports import http_for
from reconciler.errors import ApiError, DataPath, Issue, SeedFileError, format_path
from reconciler.seeding.batches import (
    DEFAULT_BATCH_SIZE,
    MAX_BODY_BYTES,
    Batch,
    Spool,
    body_size,
    cut,
    fits_alone,
)
from reconciler.seeding.catalogue import Catalogue
from reconciler.seeding.checkpoint import Batching, Checkpoint, InputId
from reconciler.seeding.columns import CsvLayout, in_column
from reconciler.seeding.reader import Record, SeedFile
from reconciler.seeding.report import RejectsFile, SeedReport
from reconciler.seeding.sender import BatchOutcome, Sender, poster
from reconciler.seeding.shapes import oversized_integer
from reconciler.seeding.validate import UserValidator
from reconciler.settings import Settings

#: The Events API's default limit (NOTES.md): seeding shares it with live event traffic.
DEFAULT_RATE_LIMIT = 270.0
DEFAULT_CONCURRENCY = 8
#: Issues kept for the error message; the rest are only counted (memory stays flat).
SHOWN_ISSUES = 50
_PROGRESS_EVERY = 2000


@dataclass(frozen=True)
class SeedOptions:
    """The command's flags."""

    file: Path
    environment: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    concurrency: int = DEFAULT_CONCURRENCY
    skip_invalid: bool = False
    rejects: Path | None = None
    checkpoint: Path | None = None
    dry_run: bool = False
    max_bytes: int = MAX_BODY_BYTES

    @property
    def rejects_path(self) -> Path:
        return self.rejects or self.file.with_name(self.file.name + ".rejects.jsonl")


class Observer(Protocol):
    """What the terminal shows while a run goes (progress, warnings)."""

    def warn(self, message: str) -> None: ...

    def reading(self, done: int, total: int) -> None: ...

    def sending(self, users: int, already: int) -> None: ...

    def confirmed(self, users: int) -> None: ...


class Quiet:
    """An observer that shows nothing."""

    def warn(self, message: str) -> None:
        pass

    def reading(self, done: int, total: int) -> None:
        pass

    def sending(self, users: int, already: int) -> None:
        pass

    def confirmed(self, users: int) -> None:
        pass


@dataclass
class _Invalid:
    """Invalid users found in pass 1: counted, and the first few kept for the message."""

    users: int = 0
    problems: int = 0
    shown: tuple[Issue, ...] = ()


def seed(
    options: SeedOptions,
    catalogue: Catalogue,
    settings: Settings,
    observer: Observer | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SeedReport:
    """Validate the file, then (unless a dry run) send it; the report of what happened.

    Raises SeedFileError (invalid users, nothing sent) or CheckpointError; an API error
    that stops sending is `report.failure`, after the batches in flight were recorded.
    """
    watch = observer or Quiet()
    started = time.monotonic()
    seed_file = SeedFile(options.file)
    input_id = InputId(str(options.file.resolve()), seed_file.size, seed_file.head_sha256())
    if options.checkpoint is not None:
        Checkpoint.check_input(options.checkpoint, input_id)
    report = SeedReport(
        file=str(options.file),
        format=seed_file.format,
        dry_run=options.dry_run,
        target=_target(settings),
        checkpoint=str(options.checkpoint) if options.checkpoint else None,
    )
    rejects = RejectsFile(options.rejects_path)
    with Spool(options.batch_size, options.max_bytes) as spool:
        try:
            invalid = _validate(seed_file, catalogue, options, spool, rejects, report, watch)
            if invalid.users and not options.skip_invalid:
                raise SeedFileError(invalid.shown, invalid.users, problems=invalid.problems)
            checkpoint = _checkpoint(
                options, replace(input_id, sha256=seed_file.sha256), catalogue, report
            )
            try:
                if options.dry_run:
                    _count(spool, options, checkpoint, report)
                else:
                    _send(spool, options, checkpoint, rejects, settings, transport, report, watch)
            finally:
                if checkpoint is not None:
                    checkpoint.close()
        finally:
            report.rejects = rejects.finish(sent=not options.dry_run and report.batches_total > 0)
    report.elapsed = time.monotonic() - started
    return report


def _checkpoint(
    options: SeedOptions, input_id: InputId, catalogue: Catalogue, report: SeedReport
) -> Checkpoint | None:
    """The run's checkpoint, if asked for: bound to the input and to everything that shapes
    the batches, so that a resumed run sends exactly what is missing."""
    if options.checkpoint is None:
        return None
    batching = Batching(
        batch_size=options.batch_size,
        max_bytes=options.max_bytes,
        skip_invalid=options.skip_invalid,
        environment=options.environment,
        catalogue=catalogue.fingerprint(),
        target=report.target,
    )
    return Checkpoint.open(options.checkpoint, input_id, batching, write=not options.dry_run)


def _target(settings: Settings) -> str:
    where = "the embedded emulator" if settings.target == "embedded" else settings.s2s_url
    return f"{where} (workspace {settings.workspace_id})"


def _validate(
    seed_file: SeedFile,
    catalogue: Catalogue,
    options: SeedOptions,
    spool: Spool,
    rejects: RejectsFile,
    report: SeedReport,
    watch: Observer,
) -> _Invalid:
    """Pass 1: every user checked; valid ones spooled as they will be sent."""
    file = str(seed_file.path)
    validator = UserValidator(catalogue, options.environment)
    header, records = seed_file.read()
    layout = None
    if header is not None:
        layout = CsvLayout.from_header(header, catalogue, file, seed_file.header_line)
    invalid = _Invalid()
    shown: list[Issue] = []
    for record in records:
        report.users_read += 1
        if report.users_read % _PROGRESS_EVERY == 0:
            watch.reading(seed_file.bytes_read, seed_file.size)
        spooled, located = _spool_user(record, layout, validator, options, spool)
        if spooled:
            continue
        invalid.users += 1
        invalid.problems += len(located)
        room = SHOWN_ISSUES - len(shown)
        shown += [Issue(file, record.line, None, p, m) for p, m in located[:room]]
        if options.skip_invalid and not options.dry_run:
            errors = [f"{path}: {message}" if path else message for path, message in located]
            original = record.data if layout is None else layout.record(record.data)
            rejects.write(record.line, errors, original, "validation")
    watch.reading(seed_file.bytes_read, seed_file.size)
    report.users_valid = spool.users
    report.users_invalid = invalid.users
    invalid.shown = tuple(shown)
    _warn_unseedable(validator.used, catalogue, report, watch)
    return invalid


Located = list[tuple[str, str]]


def _spool_user(
    record: Record,
    layout: CsvLayout | None,
    validator: UserValidator,
    options: SeedOptions,
    spool: Spool,
) -> tuple[bool, Located]:
    """Spool one record's user if it is valid; else (False, its problems, located)."""
    origin: dict[DataPath, str] = {}
    user = None
    if record.error is not None:
        located = [("", record.error)]
    elif layout is not None:
        body, origin, cells = layout.user(record.data)
        user, problems = validator.check(body, prior=len(cells)) if body else (None, [])
        located = cells + [in_column(p.path, p.message, origin) for p in problems]
    else:
        user, problems = validator.check(record.data)
        located = [(format_path(p.path), p.message) for p in problems]
    if located or user is None:
        return False, located
    try:
        encoded = orjson.dumps(user)
    except TypeError:
        # orjson carries the API's integer range (64 bits) and refuses the rest; only then
        # is the user walked to say where (walking every user is costly: docs/performance.md).
        oversized = oversized_integer(user) or ()
        message = "an integer beyond the 64-bit range the API carries"
        if layout is not None:
            return False, [in_column(oversized, message, origin)]
        return False, [(format_path(oversized), message)]
    if fits_alone(encoded, options.max_bytes):
        spool.add(record.line, encoded)
        return True, []
    return False, [
        (
            "",
            f"this user is {len(encoded):,} bytes as JSON and a request may carry "
            f"{options.max_bytes:,}: split its seeds over several lines",
        )
    ]


def _warn_unseedable(
    used: set[str], catalogue: Catalogue, report: SeedReport, watch: Observer
) -> None:
    """Warn once about each CA the file seeds that will probably not take seeds."""
    for name in sorted(used):
        target = catalogue.get(name)
        warning = target.warning() if target is not None else None
        if warning is not None:
            report.warnings.append(warning)
            watch.warn(warning)


def _batches(
    spool: Spool, options: SeedOptions, checkpoint: Checkpoint | None, report: SeedReport
) -> Iterator[Batch]:
    """The batches still to send; those an earlier run confirmed are counted and skipped."""
    report.batches_total = spool.batches
    for batch in cut(spool.read(), options.batch_size, options.max_bytes):
        if checkpoint is not None and checkpoint.skips(batch):
            report.batches_skipped += 1
            continue
        yield batch


def _count(
    spool: Spool, options: SeedOptions, checkpoint: Checkpoint | None, report: SeedReport
) -> None:
    """A dry run: what would be sent, and how much of it a checkpoint already covers."""
    for batch in _batches(spool, options, checkpoint, report):
        report.bytes += body_size(batch.users)
    if checkpoint is not None:
        report.users_already_sent = checkpoint.landed_before
        report.users_rejected_server = checkpoint.rejected_before


def _send(
    spool: Spool,
    options: SeedOptions,
    checkpoint: Checkpoint | None,
    rejects: RejectsFile,
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None,
    report: SeedReport,
    watch: Observer,
) -> None:
    if checkpoint is not None:
        report.users_already_sent = checkpoint.landed_before
        report.users_rejected_server = checkpoint.rejected_before
        for entry in checkpoint.previous_rejects():
            rejects.write_entry(entry)
    rate = settings.rate_limit or DEFAULT_RATE_LIMIT
    http = http_for(replace(settings, rate_limit=rate), transport)
    post = poster(http, settings.s2s_url, settings.api_key, settings.api_secret)
    sender = Sender(post, options.concurrency)

    async def done(batch: Batch, outcome: BatchOutcome) -> None:
        refused = [
            {"line": line, "errors": messages, "record": orjson.loads(user), "stage": "server"}
            for line, user, messages in outcome.rejected
        ]
        for entry in refused:
            rejects.write_entry(entry)
        rejects.flush()
        if checkpoint is not None:
            await checkpoint.record(batch, outcome.landed, refused)
        report.batches_sent += 1
        report.users_sent += outcome.landed
        report.users_rejected_server += len(refused)
        report.bytes += body_size(batch.users)
        watch.confirmed(len(batch.users))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        watched = _on_signals(loop, sender, report, watch, task)
        already = checkpoint.landed_before + checkpoint.rejected_before if checkpoint else 0
        watch.sending(spool.users, already)
        try:
            await sender.run(_batches(spool, options, checkpoint, report), done)
        except asyncio.CancelledError:
            report.forced = True
        except ApiError as exc:
            # Not about any one user (credentials, retries exhausted): the run stops, and
            # the report still says what landed before.
            report.failure = exc
        finally:
            for signum in watched:
                loop.remove_signal_handler(signum)
            report.requests = http.requests
            report.retries = http.retries
            await http.aclose()

    asyncio.run(main())


def _on_signals(
    loop: asyncio.AbstractEventLoop,
    sender: Sender,
    report: SeedReport,
    watch: Observer,
    task: asyncio.Task[Any] | None,
) -> list[int]:
    """First Ctrl-C / SIGTERM: finish the batches in flight, then stop. Second: stop now."""

    def interrupt(signum: int) -> None:
        if report.interrupted is not None and task is not None:
            task.cancel()
            return
        report.interrupted = signal.Signals(signum).name
        sender.stop()
        watch.warn(
            f"{report.interrupted}: finishing the {sender.in_flight} batch(es) in flight, "
            "then stopping (again to stop at once)"
        )

    watched: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, interrupt, signum)
        except (NotImplementedError, RuntimeError, ValueError):
            continue  # not the main thread, or no signals here: Ctrl-C stays a KeyboardInterrupt
        watched.append(signum)
    return watched
