"""Seeds for `plan|apply --seeds FILE` (SPEC §9), between the commands and the pure steps.

`survey` reads the file for a plan: every user validated against the manifests as
`reconciler seed` validates them (an invalid user: nothing is planned, nothing sent),
counted per CA and hashed; the record of earlier runs says which CAs' seeds from this very
file already landed. `SeedGroups` sends, for apply, each group of CAs the applier hands it
(`plan.phases`): one run of the seeding pipeline per group, only those CAs' seeds,
rate-governed, waiting for CAs the Seeding API does not know yet (`--seed-wait`), with a
checkpoint of its own and refused users in the rejects file; it records the CAs whose
seeds all landed.

The state sits beside the embedded emulator's, in `.reconciler/` of the manifest directory
(`.reconciler/<env>/` for a named environment): `seeding/<workspace>-<first 16 hex of the
file's sha256>/` holds `source.json` (the file it is for), `seeded.json` (the record) and
a checkpoint per group of CAs (`group-<hash>.jsonl`, the CAs of each in `groups.json`)
until that group's seeds all landed, or a group of some of its CAs starts under another
cutoff or grouping. A changed
file is another directory: everything is sent again, and the directories of the file's
earlier versions go when it does; other files' directories forget the CAs a group sends
(`seedstate`), as they do the CAs `reconciler seed` sends (`overwritten`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from reconciler.api.retrying import Deadline
from reconciler.applier import SeedResult
from reconciler.console import Heartbeat, Output, percent
from reconciler.errors import ReconcilerError, SeedFileError, first_few, printable, quoted
from reconciler.files import STATE_FOLDER, make_folders, replace_whole
from reconciler.interrupts import Signals
from reconciler.plan.seeds import Seeded, SeedFacts, Shape
from reconciler.plan.value import Plan, SeedSource
from reconciler.seeding import SeedOptions, SeedReport, seed, seed_async
from reconciler.seeding.catalogue import Catalogue
from reconciler.seeding.observer import Quiet
from reconciler.settings import Settings
from reconciler.workspace import seedstate
from reconciler.workspace.loading import Workspace

RECORD_FORMAT = 1
#: After "... and N more" invalid users: plan and apply have no --skip-invalid of their own.
INVALID_SEEDS_ADVICE = (
    "fix them and run again: --seeds takes a file only when every user is valid; "
    "`reconciler seed FILE DIR --skip-invalid --rejects REJECTS` lists every one in REJECTS, "
    "but also sends the valid users"
)


def state_dir(settings: Settings, sha256: str) -> Path:
    """Where the seeding state of one file in one workspace is kept."""
    base = settings.directory / STATE_FOLDER
    if settings.environment is not None:
        base = base / settings.environment
    return base / "seeding" / f"{settings.workspace_id}-{sha256[:16]}"


def overwritten(
    settings: Settings, file: Path, sha256: str, cas: list[str], output: seedstate.Output
) -> None:
    """`reconciler seed` of `file` (content `sha256`) is about to send seeds of `cas`: the
    records of `apply --seeds` of the workspace forget them, as another file's apply makes
    them (`seedstate.overwritten`). The folder of this very file is left: it sends the
    same seeds again."""
    seedstate.overwritten(state_dir(settings, sha256), file.resolve(), cas, output)


def rejects_path(file: Path) -> Path:
    """As `reconciler seed` has it: FILE.rejects.jsonl beside the file."""
    return file.with_name(file.name + ".rejects.jsonl")


def shapes(catalogue: Catalogue) -> dict[str, Shape]:
    """The calculation type and cutoff each CA's seeds carry, as the manifests say."""
    found: dict[str, Shape] = {}
    for name in catalogue.names:
        target = catalogue.get(name)
        if target is not None:
            found[name] = (target.calculation_type, target.cutoff_text)
    return found


@dataclass
class Record:
    """`seeded.json`: the CAs whose seeds from the file all landed (by id, calculation type
    and cutoff, so a CA since deleted or changed is not taken for seeded), and whether the
    users that seed no CA (user attributes only) were sent."""

    path: Path
    cas: dict[str, dict[str, Any]] = field(default_factory=dict)
    unseeded: bool = False

    @classmethod
    def read(cls, directory: Path) -> Record:
        path = directory / "seeded.json"
        if not path.exists():
            return cls(path)
        try:
            data = orjson.loads(path.read_bytes())
            version = data["format"]
            cas = {str(name): dict(entry) for name, entry in data["cas"].items()}
            unseeded = bool(data["unseeded_users"])
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            raise ReconcilerError(
                f"{path} is not a record of seeded CAs (damaged?): delete it, and the seeds of "
                "the file are sent again"
            ) from None
        if version != RECORD_FORMAT:
            # Another version's record may say "landed" of other things: read as this
            # version's, it could pass seeds for landed that were never sent.
            raise ReconcilerError(
                f"{path} was written in record format {printable(repr(version))}, and this "
                f"reconciler reads format {RECORD_FORMAT}: run the reconciler that wrote it, "
                "or delete the record, and the seeds of the file are sent again"
            )
        return cls(path, cas, unseeded)

    def seeded(self) -> dict[str, Seeded]:
        found: dict[str, Seeded] = {}
        for name, entry in self.cas.items():
            found[name] = Seeded(int(entry["id"]), (entry["calculation_type"], entry["cutoff"]))
        return found

    def add(self, name: str, ca_id: int, shape: Shape, users: int) -> None:
        self.cas[name] = {
            "id": ca_id,
            "calculation_type": shape[0],
            "cutoff": shape[1],
            "users": users,
        }

    def save(self) -> None:
        make_folders(self.path.parent)
        document = {"format": RECORD_FORMAT, "cas": self.cas, "unseeded_users": self.unseeded}
        replace_whole(self.path, orjson.dumps(document, option=orjson.OPT_INDENT_2), durable=True)


def catalogue_of(ws: Workspace) -> Catalogue:
    return Catalogue.from_manifests(ws.manifests, ws.settings.environment)


class _Warnings(Quiet):
    """What a survey shows of the file's reading: its warnings (a file with no user in it,
    seeds mParticle takes but will not use well), which `seed` would show too."""

    def __init__(self, output: Output) -> None:
        self._output = output

    def warn(self, message: str) -> None:
        self._output.warn(message)


def survey(ws: Workspace, path: Path, output: Output) -> SeedFacts:
    """Read, validate and count the seed file for a plan (no request is made), warning as
    `seed` does: a plan of a file that holds no user said only "No changes."."""
    catalogue = catalogue_of(ws)
    try:
        report = seed(
            SeedOptions(file=path, dry_run=True), catalogue, ws.settings, _Warnings(output)
        )
    except SeedFileError as exc:
        raise exc.advised(INVALID_SEEDS_ADVICE) from None
    sha256 = report.input_sha256
    folder = state_dir(ws.settings, sha256)
    record = Record.read(folder)
    seedstate.warn_unfinished(folder, path.resolve(), output)
    rolling = {name for name in report.users_by_ca if (t := catalogue.get(name)) and t.rolling}
    source = {"path": str(path.resolve()), "sha256": sha256, "format": report.format}
    return SeedFacts(
        source=SeedSource.model_validate({**source, "users": report.users_valid}),
        users=dict(report.users_by_ca),
        shapes=shapes(catalogue),
        seeded=record.seeded(),
        rolling=frozenset(rolling),
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def unchanged_source(plan: Plan, catalogue: Catalogue) -> None:
    """A saved plan's seed file and seed shapes are still those it was made with: raises
    ReconcilerError (nothing sent) when the file is gone or differs, or when the manifests
    now shape a CA's seeds otherwise."""
    source = plan.seeds
    if source is None:
        return
    path = Path(source.path)
    try:
        now = file_sha256(path)
    except OSError as exc:
        raise ReconcilerError(
            f"the plan seeds from {path}, which cannot be read ({exc.strerror}); nothing was "
            "sent. Make a new plan with the seed file there (plan --seeds FILE --out PLAN)"
        ) from None
    if now != source.sha256:
        raise ReconcilerError(
            f"the seed file {path} changed since the plan was made (sha256 {now[:12]}…, the "
            f"plan has {source.sha256[:12]}…); nothing was sent. Make a new plan with it"
        )
    known = shapes(catalogue)
    for action in plan.actions:
        planned = (action.body.get("calculation_type"), action.body.get("cutoff_date"))
        if action.action == "seed" and known.get(action.name) != planned:
            raise ReconcilerError(
                f"the manifests now give {quoted(action.name)} other seeds "
                f"({known.get(action.name)}) than the plan ({planned}); nothing was sent. Make a "
                "new plan"
            )


class _Notes:
    """What a group of seeds shows while it goes: its waits and warnings, and a line a
    minute at most of how many users landed (`Heartbeat`), on stderr."""

    def __init__(self, output: Output, names: str, heartbeat: Heartbeat | None = None) -> None:
        self.output = output
        self.names = names
        self.heartbeat = heartbeat or Heartbeat()
        self.users = 0
        self.landed = 0

    def warn(self, message: str) -> None:
        self.output.warn(message)

    def announce(self, message: str) -> None:
        self.output.info(message)

    def reading(self, done: int, total: int) -> None:
        pass

    def sending(self, users: int, already: int) -> None:
        earlier = f" ({already:,} confirmed by an earlier run)" if already else ""
        self.output.info(f"Seeding {self.names}: {users:,} users{earlier}.")
        self.users, self.landed = users, already

    def confirmed(self, users: int) -> None:
        self.landed += users
        if self.heartbeat.due():
            done, total = self.landed, self.users
            self.output.info(
                f"seeding: {done:,} of {total:,} users confirmed ({percent(done, total)})"
            )


class GroupIndex:
    """Which CAs each group checkpoint of a seed file holds (`groups.json` beside them).
    A checkpoint is good for resuming its own group only: once a group of some of its CAs
    starts under another shape (a cutoff changed) or another grouping, it is removed, or
    it would pass seeds for landed that the change in between dropped (a cutoff changed
    and changed back). Removing one only costs a resend: seeds overwrite. An unreadable
    index is an empty one."""

    FILE = "groups.json"

    def __init__(self, directory: Path) -> None:
        self.path = directory / self.FILE

    def _read(self) -> dict[str, list[str]]:
        try:
            found = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        if not isinstance(found, dict):
            return {}
        return {
            name: [ca for ca in cas if isinstance(ca, str)]
            for name, cas in found.items()
            if isinstance(cas, list)
        }

    def _remove(self, groups: dict[str, list[str]], names: set[str], folder: Path) -> None:
        for name in names:
            (folder / name).unlink(missing_ok=True)
            groups.pop(name, None)
        replace_whole(self.path, orjson.dumps(groups, option=orjson.OPT_SORT_KEYS))

    def starting(self, checkpoint: Path, cas: Mapping[str, int]) -> None:
        """`checkpoint`'s group starts: every other checkpoint holding one of `cas` goes."""
        groups = self._read()
        stale = {
            name
            for name, held in groups.items()
            if name != checkpoint.name and not set(held).isdisjoint(cas)
        }
        groups[checkpoint.name] = sorted(cas)
        self._remove(groups, stale, checkpoint.parent)

    def finished(self, checkpoint: Path) -> None:
        """Every seed of `checkpoint`'s group landed: the record says so from now on."""
        self._remove(self._read(), {checkpoint.name}, checkpoint.parent)


class SeedGroups:
    """The applier's seeder (`applier.Seeder`): one seeding run per group of CAs."""

    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        source: SeedSource,
        output: Output,
        seed_wait: float,
        deadline: Deadline | None = None,
    ) -> None:
        self.settings = settings
        #: The apply's deadline when RECONCILER_DEADLINE set one: its groups count it down
        #: too (a fresh one each, they outlasted it by far).
        self.deadline = deadline
        self.catalogue = catalogue
        self.source = source
        self.output = output
        self.seed_wait = seed_wait
        self.directory = state_dir(settings, source.sha256)
        self.file = Path(source.path)
        self.rejects = rejects_path(self.file)
        self.shapes = shapes(catalogue)
        self.groups = GroupIndex(self.directory)
        #: Whether a group of this run has written the rejects file yet: the first one
        #: replaces a rejects file of an earlier run, the others add to it.
        self._rejects_started = False
        #: Whether the state of the file's earlier versions is gone (before the first
        #: group sends: from then on this version's seeds overwrite theirs).
        self._earlier_removed = False

    def checkpoint(self, cas: Mapping[str, int], unseeded: bool) -> Path:
        """The checkpoint of one group: the same CAs (ids, shapes) find it again."""
        key = [[name, cas[name], *self.shapes.get(name, ("", None))] for name in sorted(cas)]
        digest = hashlib.sha256(orjson.dumps([key, unseeded])).hexdigest()[:16]
        return self.directory / f"group-{digest}.jsonl"

    async def __call__(self, cas: Mapping[str, int], first: bool) -> dict[str, SeedResult]:
        record = Record.read(self.directory)
        # Users with user attributes only go with the first group an apply sends.
        unseeded = first and not record.unseeded
        make_folders(self.directory)
        seedstate.mark(self.directory, self.file, self.source.sha256)
        if not self._earlier_removed:
            self._earlier_removed = True
            seedstate.remove_earlier(self.directory, self.file, self.output)
        seedstate.overwritten(self.directory, self.file, cas, self.output)
        # The first few and how many more: a group of 4,000 CAs was a line of 70 KB.
        names = first_few([quoted(name) for name in sorted(cas)], ", ", " ")
        checkpoint = self.checkpoint(cas, unseeded)
        self.groups.starting(checkpoint, cas)
        options = SeedOptions(
            file=self.file,
            checkpoint=checkpoint,
            rejects=self.rejects,
            # One file a run, as `seed` keeps it: the first group to refuse anyone starts it
            # (a group resumed from its checkpoint writes its earlier refusals again).
            append_rejects=self._rejects_started,
            seed_wait=self.seed_wait,
            only=frozenset(cas),
            keep_unseeded=unseeded,
            # A refusal stops the apply, and re-running is how it goes on: the refused
            # users' batches are sent again (the cause may be gone), the others not.
            retry_refused=True,
        )
        report = await seed_async(
            options, self.catalogue, self.settings, _Notes(self.output, names), None, self.deadline
        )
        if report.interrupted == "SIGTERM":
            # The seeding watched SIGTERM itself: the apply ends as one SIGTERM stopped
            # (143, said so), as `seed` does, not as Ctrl-C (130).
            Signals.terminated = True
        self._rejects_started = self._rejects_started or report.rejects is not None
        results = self._results(report, cas)
        self._remember(record, report, cas, results, unseeded)
        if all(r.error is None and not r.refused for r in results.values()):
            # Done: the record now says these seeds landed. The checkpoint served the
            # resume of this run only; kept, it would pass the same group's seeds for
            # landed in a later apply, after a change in between dropped them (a cutoff
            # changed and changed back).
            self.groups.finished(checkpoint)
        return results

    def _results(self, report: SeedReport, cas: Mapping[str, int]) -> dict[str, SeedResult]:
        stopped = _stopped(report)
        results: dict[str, SeedResult] = {}
        for name in cas:
            users = report.users_by_ca.get(name, 0)
            refused = report.refused_by_ca.get(name, 0)
            if stopped is None:
                results[name] = SeedResult(landed=users - refused, refused=refused)
            else:
                results[name] = SeedResult(error=stopped, interrupted=bool(report.interrupted))
        return results

    def _remember(
        self,
        record: Record,
        report: SeedReport,
        cas: Mapping[str, int],
        results: Mapping[str, SeedResult],
        unseeded: bool,
    ) -> None:
        done = [name for name, r in results.items() if r.error is None and not r.refused]
        for name in done:
            record.add(name, cas[name], self.shapes[name], results[name].landed)
        # The users without seeds ride with this group until it went through whole: a re-run
        # of it must cut the same batches, or it could not resume from its checkpoint.
        if unseeded and _stopped(report) is None and not report.users_rejected:
            record.unseeded = True
        if done or record.unseeded:
            record.save()


def _stopped(report: SeedReport) -> str | None:
    """Why a group's run did not confirm every batch, or None."""
    done = f"{report.batches_sent + report.batches_skipped:,} of {report.batches_total:,}"
    if report.failure is not None:
        return f"seeding stopped ({done} batches confirmed): {report.failure.message}"
    if report.interrupted is not None:
        return f"interrupted by {report.interrupted} ({done} batches confirmed)"
    if not report.complete:
        return f"seeding stopped ({done} batches confirmed)"
    return None
