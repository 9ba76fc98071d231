"""Seeding end to end: pass 1 validates every user and spools the valid ones (nothing is
sent while any is invalid, unless skip_invalid); a preflight checks that the CAs exist;
pass 2 (`delivery`) cuts the spool into batches and sends them at the governed rate,
keeping the checkpoint and the rejects file. Signals stop it between batches."""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import orjson

from reconciler.api.retrying import RetryPolicy
from reconciler.errors import DataPath, Issue, ReconcilerError, SeedFileError, format_path
from reconciler.seeding import delivery, preflight
from reconciler.seeding.batches import DEFAULT_BATCH_SIZE, MAX_BODY_BYTES, Spool, fits_alone
from reconciler.seeding.catalogue import Catalogue
from reconciler.seeding.checkpoint import Batching, Checkpoint, InputId
from reconciler.seeding.columns import CsvLayout, in_column
from reconciler.seeding.observer import Observer, Quiet
from reconciler.seeding.reader import Record, SeedFile
from reconciler.seeding.report import RejectsFile, SeedReport
from reconciler.seeding.shapes import oversized_integer
from reconciler.seeding.validate import UserValidator
from reconciler.settings import Settings

DEFAULT_CONCURRENCY = 8
#: How long seeds refused only because the Seeding API does not know a CA yet are retried.
DEFAULT_SEED_WAIT = 600.0
#: Issues kept for the error message; the rest are only counted (memory stays flat).
SHOWN_ISSUES = 50
_PROGRESS_EVERY = 2000

__all__ = ["Observer", "Quiet", "SeedOptions", "seed"]


@dataclass(frozen=True)
class SeedOptions:
    """The command's flags (the rate and its ceiling are settings: `Settings.seed_rate`)."""

    file: Path
    environment: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    concurrency: int = DEFAULT_CONCURRENCY
    skip_invalid: bool = False
    rejects: Path | None = None
    checkpoint: Path | None = None
    dry_run: bool = False
    max_bytes: int = MAX_BODY_BYTES
    seed_wait: float = DEFAULT_SEED_WAIT

    @property
    def rejects_path(self) -> Path:
        return self.rejects or self.file.with_name(self.file.name + ".rejects.jsonl")


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
    """Validate the file, then (unless a dry run) check the CAs exist and send it; the
    report of what happened.

    Raises SeedFileError (invalid users, nothing sent), ReconcilerError (CAs missing from
    the workspace, nothing sent) or CheckpointError; an API error that stops sending is
    `report.failure`, after the batches in flight were recorded.
    """
    watch = observer or Quiet()
    started = time.monotonic()
    rejects = RejectsFile(options.rejects_path)  # a path it may not write is refused first
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
    with ExitStack() as stack:
        spool = stack.enter_context(Spool(options.batch_size, options.max_bytes))
        try:
            validator = UserValidator(catalogue, options.environment)
            invalid = _validate(seed_file, validator, options, spool, rejects, report, watch)
            if invalid.users and not options.skip_invalid:
                raise SeedFileError(invalid.shown, invalid.users, problems=invalid.problems)
            _warn(catalogue, validator, report, watch)
            known = preflight.Workspace()
            if not options.dry_run:
                known = _preflight(settings, validator.used, catalogue, options, watch, transport)
            if known.refused:
                spool = stack.enter_context(
                    preflight.exclude(spool, known.refused, rejects, report)
                )
                report.users_missing_ca = report.users_valid - spool.users
            _second_pass(spool, seed_file, input_id, catalogue, options, settings, known, report,
                         rejects, watch, transport)  # fmt: skip
        finally:
            report.rejects = rejects.finish()
    if rejects.stale and not options.dry_run:
        report.warnings.append(rejects.stale)
        watch.warn(rejects.stale)
    report.elapsed = time.monotonic() - started
    return report


def _second_pass(
    spool: Spool,
    seed_file: SeedFile,
    input_id: InputId,
    catalogue: Catalogue,
    options: SeedOptions,
    settings: Settings,
    known: preflight.Workspace,
    report: SeedReport,
    rejects: RejectsFile,
    watch: Observer,
    transport: httpx.AsyncBaseTransport | None,
) -> None:
    """Count (dry run) or send the spool, with the checkpoint of this input and batching."""
    shape = catalogue.fingerprint()
    if known.missing:
        # Other users are in the batches once the missing CAs exist: another batching.
        shape += " without " + ",".join(known.missing)
    batching = Batching(
        batch_size=options.batch_size,
        max_bytes=options.max_bytes,
        skip_invalid=options.skip_invalid,
        environment=options.environment,
        catalogue=shape,
        target=report.target,
    )
    checkpoint = None
    if options.checkpoint is not None:
        checkpoint = Checkpoint.open(
            options.checkpoint,
            replace(input_id, sha256=seed_file.sha256),
            batching,
            write=not options.dry_run,
            batches=spool.batches,
        )
    plan = delivery.Plan(
        batch_size=options.batch_size,
        max_bytes=options.max_bytes,
        concurrency=options.concurrency,
        seed_wait=options.seed_wait,
        policy=delivery.policy_for(settings),
        retry=RetryPolicy.from_tuning(settings.tuning, None),
    )
    try:
        if options.dry_run:
            delivery.count(spool, plan, checkpoint, report)
        else:
            run = delivery.Delivery(plan, checkpoint, rejects, report, watch, known.written)
            delivery.send(spool, run, settings, transport)
    finally:
        if checkpoint is not None:
            checkpoint.close()


def _preflight(
    settings: Settings,
    used: set[str],
    catalogue: Catalogue,
    options: SeedOptions,
    watch: Observer,
    transport: httpx.AsyncBaseTransport | None,
) -> preflight.Workspace:
    """Which CAs the file seeds that the workspace lacks; refuses to send unless
    --skip-invalid (then their users go to the rejects file)."""
    if not used:
        return preflight.Workspace()
    if not preflight.can_check(settings):
        watch.announce(
            "no Platform API credentials (MPARTICLE_CLIENT_ID and MPARTICLE_CLIENT_SECRET): "
            "the CAs the file seeds are not checked before sending; seeds for a CA the "
            f"workspace lacks are retried for --seed-wait ({options.seed_wait:g}s)"
        )
        return preflight.Workspace()
    known = asyncio.run(preflight.check(settings, used, catalogue, transport))
    if known.refused and not options.skip_invalid:
        reasons = "; ".join(f'"{name}": {why}' for name, why in sorted(known.refused.items()))
        raise ReconcilerError(
            f"workspace {settings.workspace_id} will not take the seeds of every CA the file "
            f"seeds, and nothing was sent: {reasons}. Apply the manifests first "
            "(`reconciler apply`), then seed; or pass --skip-invalid to send the other users "
            "and write these to the rejects file"
        )
    return known


def _target(settings: Settings) -> str:
    where = "the embedded emulator" if settings.target == "embedded" else settings.s2s_url
    return f"{where} ({settings.where})"


def _validate(
    seed_file: SeedFile,
    validator: UserValidator,
    options: SeedOptions,
    spool: Spool,
    rejects: RejectsFile,
    report: SeedReport,
    watch: Observer,
) -> _Invalid:
    """Pass 1: every user checked; valid ones spooled as they will be sent."""
    file = str(seed_file.path)
    catalogue = validator.catalogue
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
        spooled, located = _spool_user(record, layout, validator, options, spool, report)
        if spooled:
            continue
        if not located:  # a valid user with nothing to send: counted, not refused
            report.users_empty += 1
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
    return invalid


def _warn(
    catalogue: Catalogue, validator: UserValidator, report: SeedReport, watch: Observer
) -> None:
    """Warnings about the CAs the file seeds: seeds mParticle takes but will not use well."""
    warnings: list[str] = []
    for name in sorted(validator.used):
        target = catalogue.get(name)
        warning = target.warning() if target is not None else None
        if warning is not None:
            warnings.append(warning)
    for name, users in sorted(validator.overfull.items()):
        target = catalogue.get(name)
        kind = target.calculation_type if target is not None else ""
        warnings.append(
            f'CA "{name}" ({kind}): {users:,} user(s) seed more than 100 distinct values; '
            "mParticle keeps only the first 100 it receives and drops the rest"
        )
    for warning in warnings:
        report.warnings.append(warning)
        watch.warn(warning)


Located = list[tuple[str, str]]


def _spool_user(
    record: Record,
    layout: CsvLayout | None,
    validator: UserValidator,
    options: SeedOptions,
    spool: Spool,
    report: SeedReport,
) -> tuple[bool, Located]:
    """Spool one record's user if it is valid (and count its CAs); else (False, its
    problems, located), no problem meaning a valid user with nothing to send."""
    origin: dict[DataPath, str] = {}
    user = None
    if record.error is not None:
        located = [("", record.error)]
    elif layout is not None:
        body, origin, cells = layout.user(record.data)
        user, problems = validator.check(body) if body else (None, [])
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
        report.count_cas(user)
        return True, []
    return False, [
        (
            "",
            f"this user is {len(encoded):,} bytes as JSON and a request may carry "
            f"{options.max_bytes:,}: split its seeds over several lines",
        )
    ]
