"""Seeding end to end: pass 1 validates every user and spools the valid ones (nothing is
sent while any is invalid, unless skip_invalid); a preflight checks that the CAs exist;
pass 2 (`delivery`) cuts the spool into batches and sends them at the governed rate,
keeping the checkpoint and the rejects file. Signals stop it between batches.

`seed` runs it with an event loop of its own, `seed_async` on the caller's; `only` seeds a
subset of the CAs (`apply --seeds` sends each group of CAs at its moment)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import orjson

from reconciler import threads
from reconciler.api.retrying import Deadline, RetryPolicy
from reconciler.errors import DataPath, Issue, ReconcilerError, SeedFileError, format_path, quoted
from reconciler.files import real_path
from reconciler.models import Problem
from reconciler.seeding import delivery, dialect, preflight
from reconciler.seeding.batches import DEFAULT_BATCH_SIZE, MAX_BODY_BYTES, Spool, fits_alone
from reconciler.seeding.catalogue import Catalogue
from reconciler.seeding.checkpoint import Batching, Checkpoint, InputId, refusals
from reconciler.seeding.columns import CsvLayout, in_column, known_column
from reconciler.seeding.duplicates import SHOWN as DUPLICATES_SHOWN
from reconciler.seeding.duplicates import Duplicates
from reconciler.seeding.observer import Observer, Quiet
from reconciler.seeding.reader import Record, SeedFile
from reconciler.seeding.report import RejectsFile, SeedReport
from reconciler.seeding.shapes import Json, oversized_integer
from reconciler.seeding.validate import UserValidator
from reconciler.settings import Settings

DEFAULT_CONCURRENCY = 8
#: How long seeds refused only because the Seeding API does not know a CA yet are retried.
DEFAULT_SEED_WAIT = 600.0
#: Issues kept for the error message; the rest are only counted (memory stays flat).
SHOWN_ISSUES = 50
_PROGRESS_EVERY = 2000

__all__ = ["Observer", "Quiet", "SeedOptions", "seed", "seed_async"]


@dataclass(frozen=True)
class SeedOptions:
    """The command's flags (the rate and its ceiling are settings: `Settings.seed_rate`).

    `only` sends just the seeds for those CAs: each user goes with its seeds for them (and
    its user attributes); a user seeding none of them is left out, except, with
    `keep_unseeded`, one that seeds no CA at all (user attributes only). The whole file is
    still validated. `append_rejects` adds to the rejects file instead of replacing it (a
    caller running several such passes). `retry_refused` sends again the batches of the
    checkpoint in which the server refused users (a caller that stops on any refusal, and
    whose re-run is the way to continue).
    """

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
    only: frozenset[str] | None = None
    keep_unseeded: bool = False
    append_rejects: bool = False
    retry_refused: bool = False

    @property
    def rejects_path(self) -> Path:
        if self.rejects is not None:
            return self.rejects
        if not self.file.name:  # `''`, `.`, `/`: a directory, and no name to put beside it
            raise SeedFileError([], heading=f"the seed file {self.file} is not a file")
        return self.file.with_name(self.file.name + ".rejects.jsonl")


@dataclass
class _Unseedable:
    """The users seeding one CA that can take no seeds: counted, the first one's line kept
    (`problem`: what each of them is refused with)."""

    problem: str
    first_line: int
    users: int = 0


@dataclass
class _Invalid:
    """Invalid users found in pass 1: counted, and the first few kept for the message. A CA
    that can take no seeds is one issue, first, however many users seed it."""

    users: int = 0
    problems: int = 0
    shown: tuple[Issue, ...] = ()
    unseedable: dict[str, _Unseedable] = field(default_factory=dict)

    def refused(self, names: dict[str, str], line: int) -> None:
        """Count a user seeding the CAs of `names` (problem -> CA), which take no seeds."""
        for problem, name in names.items():
            self.unseedable.setdefault(name, _Unseedable(problem, line)).users += 1

    def cas(self, file: str, catalogue: Catalogue) -> list[Issue]:
        """One issue per CA that can take no seeds: how many users seed it, from which line."""
        issues = []
        for name, ca in self.unseedable.items():
            target = catalogue.get(name)
            reason = target.unseedable if target is not None else None
            seeded = f"seeded by {ca.users:,} user(s), the first at line {ca.first_line}"
            message = f"CA {quoted(name)} ({seeded}) can take no seeds: {reason}"
            issues.append(Issue(file, None, None, "", message if reason else ca.problem))
        return issues


def seed(
    options: SeedOptions,
    catalogue: Catalogue,
    settings: Settings,
    observer: Observer | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    deadline: Deadline | None = None,
    before_sending: Callable[[list[str], str], None] | None = None,
) -> SeedReport:
    """Validate the file, then (unless a dry run) check the CAs exist and send it; the
    report of what happened. `deadline`: the caller's command deadline to count down (by
    default the run's own, when RECONCILER_DEADLINE sets one; see `command_deadline`).
    `before_sending`: called once the run is to send, before its first batch, with the
    CAs it sends seeds of and the file's sha256 (`reconciler seed`: what it overwrites).

    Raises SeedFileError (invalid users, nothing sent), ReconcilerError (CAs missing from
    the workspace, nothing sent) or CheckpointError; an API error that stops sending is
    `report.failure`, after the batches in flight were recorded.
    """
    with _Run(options, catalogue, settings, observer, transport, deadline) as run:
        run.validate()
        known = threads.run(run.check_workspace()) if run.sends else preflight.Workspace()
        sending = run.second_pass(known)
        if sending is not None:
            if before_sending is not None:
                before_sending(run.sent_cas(known), run.seed_file.sha256)
            delivery.send(run.spool, sending, settings, transport, run.deadline)
    return run.report


async def seed_async(
    options: SeedOptions,
    catalogue: Catalogue,
    settings: Settings,
    observer: Observer | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    deadline: Deadline | None = None,
) -> SeedReport:
    """`seed` for a caller with an event loop of its own (`apply --seeds`): the same run,
    sending on that loop (pass 1 reads the file on it too, in one go)."""
    with _Run(options, catalogue, settings, observer, transport, deadline) as run:
        run.validate()
        known = await run.check_workspace() if run.sends else preflight.Workspace()
        sending = run.second_pass(known)
        if sending is not None:
            await delivery.send_async(run.spool, sending, settings, transport, run.deadline)
    return run.report


def command_deadline(settings: Settings) -> Deadline | None:
    """The deadline RECONCILER_DEADLINE (or the environment's setting) gives a command that
    seeds, started now; None when none is set: a long file takes hours by design."""
    seconds = settings.tuning.deadline
    return Deadline(seconds) if seconds is not None else None


class _Run:
    """One seeding run: the file, its report and rejects, the spool and the checkpoint,
    closed (and the rejects file finished) when the run ends however it ends."""

    def __init__(
        self,
        options: SeedOptions,
        catalogue: Catalogue,
        settings: Settings,
        observer: Observer | None,
        transport: httpx.AsyncBaseTransport | None,
        deadline: Deadline | None = None,
    ) -> None:
        self.options = options
        #: One deadline for the check and the sending (two clients): a RECONCILER_DEADLINE
        #: of 600 s allowed 600 for each. None without one (seed has no default).
        self.deadline = deadline if deadline is not None else command_deadline(settings)
        self.catalogue = catalogue
        self.settings = settings
        self.watch = observer or Quiet()
        self.transport = transport
        self.started = time.monotonic()
        # A seed file that is not there is named as such (its default rejects path, beside
        # it, would be blamed next); then a rejects path this run may not write is refused
        # before anything is validated.
        self.seed_file = SeedFile(options.file)
        self.rejects = RejectsFile(
            options.rejects_path, append=options.append_rejects, hold=not options.dry_run
        )
        # Held from here on (locked): closed, and removed if this run made it empty, should
        # the run stop before it starts.
        try:
            self.input_id = InputId(
                str(real_path(options.file)), self.seed_file.size, self.seed_file.head_sha256()
            )
            if options.checkpoint is not None:
                Checkpoint.check_input(options.checkpoint, self.input_id)
            self.report = SeedReport(
                file=str(options.file),
                format=self.seed_file.format,
                dry_run=options.dry_run,
                target=_target(settings),
                checkpoint=str(options.checkpoint) if options.checkpoint else None,
            )
            self.stack = ExitStack()
            self.spool = self.stack.enter_context(Spool(options.batch_size, options.max_bytes))
            self.used: set[str] = set()
        except BaseException:
            self.rejects.finish()
            raise

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        try:
            self.stack.close()
        finally:
            self.report.rejects = self.rejects.finish()
            stale = self.rejects.stale(finished=kind is None)
            if stale and not self.options.dry_run and not self.options.append_rejects:
                self.report.warnings.append(stale)
                self.watch.warn(stale)
            self.report.elapsed = time.monotonic() - self.started

    @property
    def sends(self) -> bool:
        return not self.options.dry_run

    def validate(self) -> None:
        """Pass 1: every user checked and the valid ones spooled; raises SeedFileError
        unless every user is valid (or --skip-invalid)."""
        options = self.options
        validator = UserValidator(self.catalogue, options.environment)
        duplicates = Duplicates()
        invalid = _validate(
            self.seed_file,
            (validator, duplicates),
            options,
            self.spool,
            self.rejects,
            self.report,
            self.watch,
        )
        self.report.input_sha256 = self.seed_file.sha256
        if invalid.users and not options.skip_invalid:
            raise SeedFileError(invalid.shown, invalid.users, problems=invalid.problems)
        if invalid.users and options.dry_run:
            # Written nowhere by a dry run: shown, or the run would only count them.
            heading = (
                f"{invalid.users:,} invalid user(s) in the seed file, which a run with "
                f"--skip-invalid writes to {options.rejects_path} and does not send:"
            )
            shown = SeedFileError(
                invalid.shown, invalid.users, problems=invalid.problems, heading=heading
            )
            self.watch.warn(shown.message)
        elif invalid.unseedable:  # their users are in the rejects file, each with why
            for issue in invalid.cas(str(options.file), self.catalogue):
                self.report.warnings.append(str(issue))
                self.watch.warn(str(issue))
        repeated = _repeated(str(options.file), duplicates, self.spool)
        _warn(self.catalogue, validator, self.report, self.watch, repeated)
        only = options.only
        self.used = set(validator.used) if only is None else validator.used & only

    async def check_workspace(self) -> preflight.Workspace:
        """Which CAs the file seeds that the workspace lacks; refuses to send unless
        --skip-invalid (then their users go to the rejects file)."""
        settings, options = self.settings, self.options
        if not self.used:
            return preflight.Workspace()
        if not preflight.can_check(settings):
            self.watch.announce(
                "no Platform API credentials "
                f"({settings.variables_to_set('CLIENT_ID', 'CLIENT_SECRET')}): "
                "the CAs the file seeds are not checked before sending; seeds for a CA the "
                f"workspace lacks are retried for --seed-wait ({options.seed_wait:g}s)"
            )
            return preflight.Workspace()
        known = await preflight.check(
            settings, self.used, self.catalogue, self.transport, self.deadline
        )
        if known.refused and not options.skip_invalid:
            reasons = "; ".join(
                f"{quoted(name)}: {why}" for name, why in sorted(known.refused.items())
            )
            raise ReconcilerError(
                f"workspace {settings.workspace_id} will not take the seeds of every CA the "
                f"file seeds, and nothing was sent: {reasons}. Apply the manifests first "
                "(`reconciler apply`), then seed; or pass --skip-invalid to send the other "
                "users and write these to the rejects file"
            )
        return known

    def second_pass(self, known: preflight.Workspace) -> delivery.Delivery | None:
        """Set pass 2 up: the spool without users the preflight refused, the checkpoint of
        this input and batching; a dry run counts at once (None), else the delivery."""
        options, report = self.options, self.report
        if known.refused:
            self.spool = self.stack.enter_context(
                preflight.exclude(self.spool, known.refused, self.rejects, report)
            )
            report.users_missing_ca = report.users_valid - self.spool.users
        checkpoint = self._checkpoint(known)
        plan = delivery.Plan(
            batch_size=options.batch_size,
            max_bytes=options.max_bytes,
            concurrency=options.concurrency,
            seed_wait=options.seed_wait,
            policy=delivery.policy_for(self.settings),
            retry=RetryPolicy.from_tuning(self.settings.tuning, None),
        )
        if options.dry_run:
            delivery.count(self.spool, plan, checkpoint, report)
            return None
        return delivery.Delivery(plan, checkpoint, self.rejects, report, self.watch, known.written)

    def sent_cas(self, known: preflight.Workspace) -> list[str]:
        """The CAs whose seeds the valid users carry, but those the preflight refused."""
        return sorted(name for name in self.report.users_by_ca if name not in known.refused)

    def _checkpoint(self, known: preflight.Workspace) -> Checkpoint | None:
        options = self.options
        if options.checkpoint is None:
            return None
        shape = self.catalogue.fingerprint(options.only)
        if options.only is not None:
            # Another subset is another batching (and so is keeping users without seeds).
            shape += " only " + ",".join(sorted(options.only))
            shape += " with unseeded" if options.keep_unseeded else ""
        # Other users are in the batches once the missing CAs exist: another batching.
        refused = refusals(known.missing)
        batching = Batching(
            batch_size=options.batch_size,
            max_bytes=options.max_bytes,
            skip_invalid=options.skip_invalid,
            environment=options.environment,
            catalogue=shape + refused,
            target=self.report.target,
        )
        checkpoint = Checkpoint.open(
            options.checkpoint,
            replace(self.input_id, sha256=self.seed_file.sha256),
            batching,
            write=not options.dry_run,
            batches=self.spool.batches,
            retry_refused=options.retry_refused,
            refused=refused,
        )
        self.stack.callback(checkpoint.close)
        if checkpoint.retried:
            self.watch.announce(
                f"sending again the {checkpoint.retried} batch(es) in which the server refused "
                "users in an earlier run (the others are confirmed; seeds overwrite)"
            )
        return checkpoint


def _target(settings: Settings) -> str:
    where = "the embedded emulator" if settings.target == "embedded" else settings.s2s_url
    return f"{where} ({settings.where})"


def _validate(
    seed_file: SeedFile,
    checks: tuple[UserValidator, Duplicates],
    options: SeedOptions,
    spool: Spool,
    rejects: RejectsFile,
    report: SeedReport,
    watch: Observer,
) -> _Invalid:
    """Pass 1: every user checked; valid ones spooled as they will be sent."""
    file = str(seed_file.path)
    validator, duplicates = checks
    catalogue = validator.catalogue
    layout, records = _read(seed_file, catalogue, options.environment)
    invalid = _Invalid()
    shown: list[Issue] = []
    for record in records:
        report.users_read += 1
        if report.users_read % _PROGRESS_EVERY == 0:
            watch.reading(seed_file.bytes_read, seed_file.size)
        spooled, located, refused = _spool_user(record, layout, validator, options, spool, report)
        if spooled:
            if spooled is not True:
                duplicates.add(record.line, spooled)
            continue
        if not located and not refused:  # a valid user with nothing to send: not refused
            report.users_empty += 1
            continue
        invalid.users += 1
        invalid.problems += len(located)
        invalid.refused(refused, record.line)
        room = SHOWN_ISSUES - len(shown)
        shown += [Issue(file, record.line, None, p, m) for p, m in located[:room]]
        if options.skip_invalid and not options.dry_run:
            errors = [f"{path}: {message}" if path else message for path, message in located]
            errors += list(refused)
            original = record.data if layout is None else layout.record(record.data)
            rejects.write(record.line, errors, original, "validation")
    watch.reading(seed_file.bytes_read, seed_file.size)
    report.users_valid = spool.users
    report.users_invalid = invalid.users
    cas = invalid.cas(file, catalogue)
    invalid.shown = tuple(cas + shown)
    invalid.problems += len(cas)
    return invalid


def _read(
    seed_file: SeedFile, catalogue: Catalogue, environment: str | None
) -> tuple[CsvLayout | None, Iterator[Record]]:
    """The file's records, and for a CSV what its columns mean; a file that is not UTF-8
    or not comma-separated, or a header that cannot be read as the convention, is refused
    here, once (SeedFileError), not row by row."""
    dialect.check(
        seed_file.path,
        seed_file.format == "csv",
        lambda name: known_column(name, catalogue),
        needs_environment=environment is None,
    )
    header, records = seed_file.read()
    if header is None:
        return None, records
    # A header alone is an empty export, warned of: it needs no environment for no user.
    # The first row is read ahead to know; the header's problems are said before its own.
    unreadable: SeedFileError | None = None
    try:
        first = next(records, None)
    except SeedFileError as exc:
        first, unreadable = None, exc
    layout = CsvLayout.from_header(
        header,
        catalogue,
        str(seed_file.path),
        seed_file.header_line,
        needs_environment=environment is None and (first or unreadable) is not None,
    )
    if unreadable is not None:
        raise unreadable
    return layout, itertools.chain([first] if first is not None else [], records)


def _repeated(file: str, duplicates: Duplicates, spool: Spool) -> str | None:
    """The warning about users the file lists more than once (their lines), if any."""
    found = duplicates.confirm(spool.read())
    if not found:
        return None
    some = "at least " if duplicates.suspected > len(duplicates.suspects) else ""
    lines = ", ".join(f"line {d.line} repeats line {d.first}" for d in found[:DUPLICATES_SHOWN])
    more = ", ..." if len(found) > DUPLICATES_SHOWN or some else ""
    return (
        f"{file}: {some}{len(found):,} user(s) listed more than once (by MPID, else "
        f"identities): {lines}{more}; each is sent every time, and which seed mParticle keeps "
        "is not defined: deduplicate the export"
    )


def _warn(
    catalogue: Catalogue,
    validator: UserValidator,
    report: SeedReport,
    watch: Observer,
    repeated: str | None = None,
) -> None:
    """Warnings about the file and the CAs it seeds: a file with no user in it (a failed
    export, most likely), users it lists twice, seeds mParticle takes but will not use
    well."""
    warnings: list[str] = []
    if report.users_read == 0:
        warnings.append(
            f"{report.file} holds no user (no line, or a CSV header alone): nothing to "
            "send; is the export empty?"
        )
    if repeated is not None:
        warnings.append(repeated)
    for name in sorted(validator.used):
        target = catalogue.get(name)
        warning = target.warning() if target is not None else None
        if warning is not None:
            warnings.append(warning)
    for name, users in sorted(validator.overfull.items()):
        target = catalogue.get(name)
        kind = target.calculation_type if target is not None else ""
        warnings.append(
            f"CA {quoted(name)} ({kind}): {users:,} user(s) seed more than 100 distinct values; "
            "mParticle keeps only the first 100 it receives and drops the rest"
        )
    for warning in warnings:
        report.warnings.append(warning)
        watch.warn(warning)


Located = list[tuple[str, str]]
#: A user's problems that are its CAs' (`UserValidator.refusals`): problem -> CA.
Refused = dict[str, str]


def subset(user: Json, only: frozenset[str], *, keep_unseeded: bool) -> Json | None:
    """The user with its seeds for the CAs of `only`; None when it seeds none of them
    (kept whole when it seeds no CA at all and `keep_unseeded`)."""
    seeds = user["calculated_attributes"]["workspace"]
    if not seeds:
        return user if keep_unseeded else None
    kept = [entry for entry in seeds if entry["attribute_name"] in only]
    if not kept:
        return None
    if len(kept) == len(seeds):
        return user
    return {**user, "calculated_attributes": {"workspace": kept}}


def _spool_user(
    record: Record,
    layout: CsvLayout | None,
    validator: UserValidator,
    options: SeedOptions,
    spool: Spool,
    report: SeedReport,
) -> tuple[Json | bool, Located, Refused]:
    """Spool one record's user if it is valid (and count its CAs): the user spooled (True
    for a valid one this run leaves out); else (False, its problems, located, and those
    that are its CAs'), no problem meaning a valid user with nothing to send."""
    origin: dict[DataPath, str] = {}
    user = None
    problems: list[Problem] = []
    if record.error is not None:
        located = [("", record.error)]
    elif layout is not None:
        body, origin, cells = layout.user(record.data, record.line)
        user, problems = validator.check(body, layout.no_identity) if body else (None, [])
        located = cells
    else:
        user, problems = validator.check(record.data)
        located = []
    refused: Refused = {}
    for problem in problems:
        name = validator.refusals.get(problem.message)
        if name is not None:
            refused[problem.message] = name
        elif layout is not None:
            located.append(in_column(problem.path, problem.message, origin))
        else:
            located.append((format_path(problem.path), problem.message))
    if located or refused or user is None:
        return False, located, refused
    if options.only is not None:
        user = subset(user, options.only, keep_unseeded=options.keep_unseeded)
        if user is None:
            return True, [], {}  # valid, and left out of this run: it seeds only other CAs
    try:
        encoded = orjson.dumps(user)
    except TypeError:
        # orjson carries the API's integer range (64 bits) and refuses the rest; only then
        # is the user walked to say where (walking every user is costly: docs/performance.md).
        oversized = oversized_integer(user) or ()
        message = "an integer beyond the 64-bit range the API carries"
        if layout is not None:
            return False, [in_column(oversized, message, origin)], {}
        return False, [(format_path(oversized), message)], {}
    if fits_alone(encoded, options.max_bytes):
        spool.add(record.line, encoded)
        report.count_cas(user)
        return user, [], {}
    return (
        False,
        [
            (
                "",
                f"this user is {len(encoded):,} bytes as JSON and a request must be under "
                f"{options.max_bytes:,}: split its seeds over several lines",
            )
        ],
        {},
    )
