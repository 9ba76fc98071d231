"""`reconciler seed FILE [DIR]`: historical seed values through the Seeding API.

Loads the manifests, runs the seeding pipeline (a progress bar on a TTY, waits announced
on stderr) and renders its report as text or JSON. Exit 0: every valid user landed; 1:
invalid input, an API error, or users refused by the server; 130 / 143: stopped by Ctrl-C
/ SIGTERM.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
import orjson
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from reconciler import workspace
from reconciler.console import Heartbeat, Output, percent
from reconciler.errors import (
    AuthError,
    ReconcilerError,
    SeedFileError,
    SettingsError,
    first_few,
    quoted,
)
from reconciler.files import real_path
from reconciler.seeding import SeedOptions, SeedReport, seed
from reconciler.seeding.batches import DEFAULT_BATCH_SIZE
from reconciler.seeding.catalogue import Catalogue
from reconciler.seeding.pipeline import DEFAULT_SEED_WAIT
from reconciler.settings import Flags, Settings
from reconciler.workspace import seeds

EXIT_SIGNAL = {"SIGINT": 130, "SIGTERM": 143}


@dataclass(frozen=True)
class SeedCommandOptions:
    """The command's flags: the pipeline's own (`seeding.SeedOptions`, which names the
    file), the manifest directory, the summary's format and the settings flags."""

    seed: SeedOptions
    directory: Path = Path("manifests")
    output_format: str = "text"
    flags: Flags = field(default_factory=Flags)


class _Progress:
    """Progress bars on stderr when it is a terminal (`Output.live`); otherwise a line a
    minute at most (`Heartbeat`), so that a log shows how far a seed of hours has come."""

    def __init__(self, output: Output, heartbeat: Heartbeat | None = None) -> None:
        self._output = output
        self._bar: Progress | None = None
        self._reading: TaskID | None = None
        self._sending: TaskID | None = None
        self._heartbeat = heartbeat or Heartbeat()
        self._users = 0
        self._confirmed = 0
        if output.live:
            self._bar = Progress(
                TextColumn("{task.description:<10}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=output.err,
            )

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def warn(self, message: str) -> None:
        self._output.warn(message)

    def announce(self, message: str) -> None:
        if self._bar is not None:
            self._bar.console.print(message)  # above the bars, which keep drawing
        else:
            self._output.info(message)

    def info(self, message: str) -> None:
        """As `Output.info`, above the bars while they draw (`seedstate` says through it):
        as written, paths and CA names may hold `[`, which rich takes for markup."""
        if self._bar is not None:
            self._bar.console.print(Text(message))
        else:
            self._output.info(message)

    def reading(self, done: int, total: int) -> None:
        detail = f"{done / 1e6:,.1f} of {total / 1e6:,.1f} MB"
        if self._bar is None:
            if self._heartbeat.due():
                self._output.info(f"validating: {detail} read ({percent(done, total)})")
            return
        if self._reading is None:
            self._reading = self._bar.add_task("validating", total=total, detail=detail)
        self._bar.update(self._reading, completed=done, detail=detail)

    def sending(self, users: int, already: int) -> None:
        self._users, self._confirmed = users, already
        if self._bar is not None:
            self._sending = self._bar.add_task(
                "sending", total=users, completed=already, detail=f"{already:,} of {users:,} users"
            )

    def confirmed(self, users: int) -> None:
        self._confirmed += users
        if self._bar is None:
            if self._heartbeat.due():
                done, total = self._confirmed, self._users
                self._output.info(
                    f"sending: {done:,} of {total:,} users confirmed ({percent(done, total)})"
                )
            return
        if self._sending is None:
            return
        self._bar.advance(self._sending, users)
        task = self._bar.tasks[self._sending]
        detail = f"{int(task.completed):,} of {int(task.total or 0):,} users"
        self._bar.update(self._sending, detail=detail)


def run(
    command: SeedCommandOptions,
    output: Output,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """Seed the file into the workspace of the directory; the exit code."""
    options, directory, flags = command.seed, command.directory, command.flags
    _distinct_files(options)
    loaded = workspace.load(directory, flags, output)
    settings = loaded.settings
    if not options.dry_run:
        settings.require_seeding_credentials()
    catalogue = Catalogue.from_manifests(loaded.manifests, settings.environment)
    with _Progress(output) as progress:
        try:
            report = seed(
                options,
                catalogue,
                settings,
                progress,
                transport,
                before_sending=lambda cas, sha256: seeds.overwritten(
                    settings, options.file, sha256, cas, progress
                ),
            )
        except SeedFileError as exc:
            raise exc.advised("use --skip-invalid --rejects FILE") from None
    problem = refused(report, options)
    if command.output_format == "json":
        output.write_raw(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for line in summary(report, done=problem is None):
            output.print(line)
    resume = _how_to_resume(report, options, _resume_command(options, directory, flags))
    if report.failure is not None:
        raise _failure(report, resume, settings)
    if report.interrupted is not None:
        output.error(f"stopped by {report.interrupted}. {resume}")
        return EXIT_SIGNAL.get(report.interrupted, 130)
    if problem is not None:
        output.error(problem)
        return 1
    return 0


def _distinct_files(options: SeedOptions) -> None:
    """The rejects file or the checkpoint must not overwrite the input, or each other."""
    named = [("FILE", options.file), ("--rejects", options.rejects_path)]
    if options.checkpoint is not None:
        named.append(("--checkpoint", options.checkpoint))
    seen: dict[Path, str] = {}
    for flag, path in named:
        other = seen.setdefault(real_path(path), flag)
        if other != flag:
            raise SettingsError(f"{flag} and {other} name the same file ({path}): use another")


def summary(report: SeedReport, done: bool = True) -> list[str]:
    """The text summary of a run; `done`: it ends well (no error follows), so it may
    say "Done"."""
    missing = (
        f", {report.users_missing_ca:,} seeding a CA the workspace lacks"
        if report.users_missing_ca
        else ""
    )
    rejected = (
        f"{report.users_rejected:,} rejected ({report.users_invalid:,} invalid, "
        f"{report.users_rejected_server:,} by the server{missing})"
    )
    users = [f"{report.users_read:,} read", f"{report.users_valid:,} valid"]
    if not report.dry_run:
        users.append(f"{report.users_sent:,} sent")
    if report.users_already_sent:
        users.append(f"{report.users_already_sent:,} sent by an earlier run")
    if report.users_empty:
        users.append(f"{report.users_empty:,} with nothing to send (no value in the row)")
    users.append(rejected)
    batches = f"{report.batches_total:,} total"
    if not report.dry_run:
        batches += f", {report.batches_sent:,} sent"
    if report.checkpoint is not None:
        # Without one nothing is ever skipped: "0 skipped (confirmed in the checkpoint)"
        # spoke of a checkpoint the run did not have.
        batches += f", {report.batches_skipped:,} skipped (confirmed in the checkpoint)"
    lines = [
        f"Seed {report.file} ({report.format}) -> {report.target}",
        f"  users:    {', '.join(users)}",
        f"  batches:  {batches}",
    ]
    if not report.dry_run:
        lines.append(
            f"  requests: {report.requests:,} ({report.retries:,} retried), "
            f"{size(report.bytes)} in {report.elapsed:,.1f}s"
        )
        if report.rate_configured:
            lines.append(_rate_line(report))
        if report.propagation_retries:
            waited = first_few([quoted(n) for n in report.propagation_waited], ", ", " ")
            lines.append(
                f"  waited:   {report.propagation_retries:,} tries sent again while the "
                f"Seeding API did not know {waited}"
            )
    if report.rejects:
        lines.append(f"  rejects:  {report.rejects}")
    if report.dry_run:
        pending = report.batches_total - report.batches_skipped
        lines.append(
            f"Dry run: would send {report.users_valid:,} user(s) in {pending:,} request(s) "
            f"({size(report.bytes)}); nothing was sent."
        )
    elif done and report.complete and report.failure is None and report.interrupted is None:
        landed = report.users_sent + report.users_already_sent
        lines.append(f"Done: {landed:,} user(s) seeded.")
    return lines


def refused(report: SeedReport, options: SeedOptions) -> str | None:
    """Why a run that went to its end is still an error (exit 1), if it is: users the
    server refused, unless --skip-invalid accepts refusals; with it, a run in which users
    were refused and none landed (a dry run: one in which every user is invalid)."""
    if options.dry_run:
        if report.users_rejected and not report.users_valid:
            return (
                f"no user would be seeded: all {report.users_rejected:,} user(s) are invalid "
                "(listed above)"
            )
        return None
    if report.users_rejected_server and not options.skip_invalid:
        return (
            f"{report.users_rejected_server:,} user(s) were refused by the server and not "
            f"seeded; each is in {report.rejects} with the server's message"
        )
    landed = report.users_sent + report.users_already_sent
    if report.users_rejected and not landed and report.complete:
        return (
            f"no user was seeded: {report.users_rejected:,} user(s) were refused and none "
            f"landed; each is in {report.rejects} with the reason"
        )
    return None


def size(count: int) -> str:
    """`431 bytes`, `12.3 KB`, `4.2 MB`: a small file's requests are not `0.0 MB`."""
    if count < 1_000:
        return f"{count:,} bytes"
    if count < 1_000_000:
        return f"{count / 1e3:,.1f} KB"
    return f"{count / 1e6:,.1f} MB"


def _rate_line(report: SeedReport) -> str:
    throttled = report.rate_limited + report.acceleration_limited
    answered = (
        f"{throttled:,} throttled answer(s) (429: {report.rate_limited:,} rate, "
        f"{report.acceleration_limited:,} acceleration)"
        if throttled
        else "no throttled answer (429)"
    )
    settings = f"--rate {report.rate_configured:g}, under {report.rate_ceiling:g}% used"
    if report.requests == 0:  # no average, and no peak ever reached
        return f"  rate:     nothing was sent ({settings})"
    return (
        f"  rate:     {report.users_per_second:,.1f} users/s on average, governed to at "
        f"most {report.rate_peak:,.1f} ({settings}); {answered}"
    )


def _resume_command(options: SeedOptions, directory: Path, flags: Flags) -> str:
    words = ["reconciler", "seed", str(options.file), str(directory)]
    if flags.workspace_id is not None:
        words += ["--workspace-id", str(flags.workspace_id)]
    if flags.target is not None:
        words += ["--target", flags.target]
    if flags.environment is not None:
        words += ["--env", flags.environment]
    if options.checkpoint is not None:
        words += ["--checkpoint", str(options.checkpoint)]
    if options.environment:
        words += ["--environment", options.environment]
    if options.batch_size != DEFAULT_BATCH_SIZE:
        words += ["--batch-size", str(options.batch_size)]
    if options.skip_invalid:
        words.append("--skip-invalid")
    if options.rejects is not None:
        words += ["--rejects", str(options.rejects)]
    if flags.seed_rate is not None:
        words += ["--rate", f"{flags.seed_rate:g}"]
    if flags.seed_rate_ceiling is not None:
        words += ["--rate-ceiling", f"{flags.seed_rate_ceiling:g}"]
    if options.seed_wait != DEFAULT_SEED_WAIT:
        words += ["--seed-wait", f"{options.seed_wait:g}"]
    return shlex.join(words)


def _how_to_resume(report: SeedReport, options: SeedOptions, command: str) -> str:
    done = f"{report.batches_sent + report.batches_skipped:,} of {report.batches_total:,}"
    abandoned = (
        " The batches in flight were abandoned unconfirmed: they will be sent again."
        if report.forced
        else ""
    )
    if options.checkpoint is None:
        return (
            f"{done} batches were confirmed.{abandoned} Without --checkpoint a re-run sends "
            "everything again (seeds overwrite, so that is safe but slow); pass "
            "--checkpoint FILE next time to resume instead."
        )
    return (
        f"{done} batches are confirmed in {options.checkpoint}.{abandoned} Resume with: " + command
    )


def _failure(report: SeedReport, resume: str, settings: Settings) -> ReconcilerError:
    exc = report.failure
    assert exc is not None
    if isinstance(exc, AuthError):
        said = f": {'; '.join(exc.messages)}" if exc.messages else ""
        return ReconcilerError(
            f"the Seeding API refused the credentials (HTTP {exc.status}{said}): set "
            f"{settings.variables_read('API_KEY', 'API_SECRET')} to the key and secret of the "
            "workspace (Workspace Settings; not the Platform API's client id and secret) and "
            f"MPARTICLE_S2S_URL to its pod (us1, us2, eu1, au1). {resume}"
        )
    return ReconcilerError(f"seeding stopped: {exc.message}. {resume}")
