"""Loading test files: `*.test.yaml` below a manifest directory -> Suites, every problem of
every file located (`file:line:column: path: message`) and reported at once.

The test-file twin of `manifest.loader`: the same YAML reader (positions), the same
messages (did-you-mean), then the cross-checks only the manifests can answer: the CAs an
expectation or a seed names exist, and each seed suits its CA's calculation type.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from reconciler.errors import CaTestFileError, Issue, format_path, quoted
from reconciler.evaluator import as_of_millis
from reconciler.evaluator.events import MAX_NAME_LENGTH, long_names, truncated
from reconciler.evaluator.values import iso_millis, render_timestamp, text_of
from reconciler.files import real_path
from reconciler.manifest import ignore, tree
from reconciler.manifest.diagnostics import explain, suggest
from reconciler.manifest.document import Document, SourceError, read_yaml
from reconciler.manifest.loader import TEST_SUFFIXES
from reconciler.models import Problem
from reconciler.seeding.shapes import check_seed
from reconciler.testfiles import batches, model
from reconciler.testfiles.events import Event
from reconciler.testfiles.model import SuiteFile

SUFFIXES = TEST_SUFFIXES
Json = dict[str, Any]
Definitions = Mapping[str, Mapping[str, Any]]


def is_test_file(path: Path) -> bool:
    """`*.test.yaml` / `*.test.yml`: a test file, not a manifest."""
    return path.name.endswith(SUFFIXES)


def discover(directory: Path) -> list[Path]:
    """Test files below `directory`, sorted by path, found as manifests are (`tree.walk`:
    hidden folders skipped, linked ones followed, a link to nothing listed for reading it to
    report it); the files `.reconcilerignore` names are skipped. (A folder that cannot be
    walked is the manifests' error, reported first.)"""
    ignored = ignore.read(directory)
    found = [
        (relative, path)
        for path, relative in tree.walk(directory, ignored).files
        if path.name.endswith(SUFFIXES) and not ignored(relative)
    ]
    return [path for _, path in sorted(found)]


@dataclass(frozen=True)
class User:
    """A test user: its events (Events API JSON, inline and from events files) and seeds."""

    name: str
    mpid: int | None
    events: tuple[Json, ...]
    seeds: Mapping[str, Json]


@dataclass(frozen=True)
class Expectation:
    """One (user, CA) pair to check, and where it is written."""

    user: str
    ca: str
    expected: object
    line: int | None
    column: int | None
    #: Why it is not evaluated (`not in environment prod`: a CA the manifests declare that
    #: the chosen environment leaves out), else None.
    skipped: str | None = None


@dataclass(frozen=True)
class Suite:
    """A loaded test file."""

    file: str
    as_of: int
    users: Mapping[str, User]
    expectations: tuple[Expectation, ...]
    #: What the run should know of the file's events (`_LongNames`): at most one.
    warnings: tuple[Issue, ...] = ()


def _as_json(value: Any, key: str = "") -> Any:
    """Event data as JSON would carry it: YAML dates become ISO text, and a timestamp
    (YAML's, or ISO 8601 text) in `timestamp_unixtime_ms` becomes epoch milliseconds."""
    if isinstance(value, dict):
        return {k: _as_json(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if key == "timestamp_unixtime_ms" and isinstance(value, str):
        millis = iso_millis(value)
        return value if millis is None else millis
    if isinstance(value, datetime | date):
        if key == "timestamp_unixtime_ms":
            return as_of_millis(value)
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
            return value.isoformat() + "Z"
        return value.isoformat()
    return value


def _inline_time(path: tuple[str | int, ...], message: str) -> str:
    """An inline event's time may also be ISO 8601 text (`_as_json`), which the message
    of the events' model, shared with events files, does not say."""
    if path[-1:] == ("timestamp_unixtime_ms",) and path[:1] == ("users",):
        return message.replace(
            "expected a whole number",
            "expected epoch ms or an ISO 8601 date-time such as 2024-03-01T00:00:00Z",
        )
    return message


def _time(event: object) -> object:
    """An event's `data.timestamp_unixtime_ms` as loaded, or None."""
    data = event.get("data") if isinstance(event, dict) else None
    return data.get("timestamp_unixtime_ms") if isinstance(data, dict) else None


def _event(raw: object) -> Event | None:
    """An inline event of a file that did not load whole, when it is valid on its own."""
    try:
        return Event.model_validate(raw)
    except ValidationError:
        return None  # its problems are the file's validation's


@dataclass(frozen=True)
class _Where:
    """An events file's batch: the file and its line."""

    display: str
    line: int


class _LongNames:
    """The event and attribute names of a test file's events longer than mParticle keeps
    (cut to 256 characters in S2S data): one warning for the file, at the first."""

    def __init__(self) -> None:
        self.first: Issue | None = None
        self.count = 0

    def add(self, where: Issue) -> None:
        self.count += 1
        if self.first is None:
            self.first = where

    def warning(self) -> tuple[Issue, ...]:
        if self.first is None:
            return ()
        others = self.count - 1
        more = f" ({others} more in this test file's events)" if others else ""
        message = (
            f"a name longer than {MAX_NAME_LENGTH} characters{more}: mParticle cuts event "
            f"and attribute names to {MAX_NAME_LENGTH} in server-to-server data, and the "
            "tests evaluate the events so (a CA naming the whole name would match nothing)"
        )
        first = self.first
        return (Issue(first.file, first.line, first.column, first.path, message, "warning"),)


#: A year in epoch ms (365.25 days), to tell an event time given in seconds.
_YEAR_MS = 31_557_600_000


def _in_seconds(millis: object, as_of: int) -> bool:
    """Whether an event time read as epoch ms is decades before `as_of` while, read as
    seconds, it falls within a year after `as_of` or ten years before: `date +%s` pasted
    where milliseconds go (1709251200 is 1970-01-20 as ms, 2024-03-01 as seconds). Toy
    times (`1`, `1000`) are neither, and stay silent."""
    value = int(millis) if isinstance(millis, str) and millis.isdigit() else millis
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    as_seconds = value * 1000
    return value < as_of - 20 * _YEAR_MS and as_of - 10 * _YEAR_MS <= as_seconds <= as_of + _YEAR_MS


class _Seconds:
    """Event times that look like epoch seconds (`_in_seconds`): one warning for the file,
    at the first, since such an event falls out of every window without a word."""

    def __init__(self) -> None:
        self.first: tuple[Issue, int] | None = None
        self.count = 0

    def add(self, where: Issue, value: int) -> None:
        self.count += 1
        if self.first is None:
            self.first = (where, value)

    def warning(self) -> tuple[Issue, ...]:
        if self.first is None:
            return ()
        where, value = self.first
        others = self.count - 1
        more = f" ({others} more in this test file's events)" if others else ""
        message = (
            f"{value} is {render_timestamp(value)} in epoch ms, decades before as_of; as "
            f"seconds it is {render_timestamp(value * 1000)}: timestamp_unixtime_ms takes "
            f"milliseconds (write {value * 1000}){more}"
        )
        return (Issue(where.file, where.line, where.column, where.path, message, "warning"),)


class _FileLoader:
    """Checks one test file; collects its issues."""

    def __init__(
        self, path: Path, display: str, definitions: Definitions, absent: Mapping[str, str]
    ) -> None:
        self.path = path
        self.display = display
        self.definitions = definitions
        self.absent = absent
        self.issues: list[Issue] = []
        self.document: Document | None = None
        self.long_names = _LongNames()
        self.seconds = _Seconds()
        self.as_of = 0

    def issue(self, path: tuple[str | int, ...], message: str, *, key: bool = False) -> None:
        assert self.document is not None
        self.issues.append(self.document.issue(path, message, key=key))

    def load(self, events_files: dict[Path, batches.EventsFile]) -> Suite | None:
        try:
            self.document = read_yaml(self.path, self.display)
        except SourceError as exc:
            self.issues += exc.issues
            return None
        data = self.document.data
        if not isinstance(data, dict):
            self.issue((), "expected a mapping with `as_of`, `users` and `expect`")
            return None
        data = {k: v for k, v in data.items() if not str(k).startswith("x-")}
        users = data.get("users")
        if isinstance(users, dict):
            for name, user in users.items():
                if user is None:  # `bob:` alone: a user without events or seeds
                    users[name] = {}
                elif isinstance(user, dict) and "events" in user:
                    user["events"] = _as_json(user["events"])
        try:
            parsed = SuiteFile.model_validate(data)
        except ValidationError as exc:
            for path, message, is_key in explain(exc, SuiteFile, data):
                self.issue(path, _inline_time(path, message), key=is_key)
            parsed = None
        self._check_references(data, events_files)
        self._check_events(data, parsed)
        if parsed is None:
            return None
        self.as_of = parsed.as_of
        loaded = {
            name: self._user(name, user, data["users"][name], events_files)
            for name, user in parsed.users.items()
        }
        expectations = tuple(self._expectations(parsed))
        warnings = self.long_names.warning() + self.seconds.warning()
        return Suite(self.display, parsed.as_of, loaded, expectations, warnings)

    def _expectations(self, parsed: SuiteFile) -> Iterator[Expectation]:
        assert self.document is not None
        for user, values in parsed.expect.items():
            for ca, expected in values.items():
                where = self.document.position(("expect", user, ca), key=True)
                line, column = (where.line, where.column) if where else (None, None)
                yield Expectation(user, ca, expected, line, column, self.absent.get(ca))

    def _check_events(self, data: Json, parsed: SuiteFile | None) -> None:
        """Each inline event's own rules (by event type) and the spelling of its custom
        attributes, also when another part of the file is invalid: every problem is
        reported at once, not one round of fixes revealing the next."""
        users = data.get("users")
        for name, user in users.items() if isinstance(users, dict) else ():
            events = user.get("events") if isinstance(user, dict) else None
            for index, raw in enumerate(events if isinstance(events, list) else ()):
                at: tuple[str | int, ...] = ("users", name, "events", index)
                self._retyped_attributes(at, raw)
                event = parsed.users[name].events[index] if parsed else _event(raw)
                for path, message in event.problems() if event else ():
                    self.issue((*at, *path), message)

    def _user(
        self, name: str, user: model.User, raw: Json, events_files: dict[Path, batches.EventsFile]
    ) -> User:
        """The user's events as mParticle stores S2S data: names cut to 256 characters
        (`truncated`), each cut counted for the file's warning."""
        assert self.document is not None
        events: list[Json] = []
        for index, event in enumerate(raw.get("events") or []):
            for path in long_names(event):
                at: tuple[str | int, ...] = ("users", name, "events", index, *path)
                attribute = len(path) == 3  # a custom attribute's name: its key
                self.long_names.add(self.document.issue(at, "", key=attribute))
            when = _time(event)
            if _in_seconds(when, self.as_of):
                at = ("users", name, "events", index, "data", "timestamp_unixtime_ms")
                self.seconds.add(self._at(at), int(str(when)))
            events.append(truncated(event))
        if user.events_file is not None:
            for batch, index, event in self._file_events(
                name, user, user.events_file, events_files
            ):
                for path in long_names(event):
                    where = format_path(("events", index, *path))
                    self.long_names.add(Issue(batch.display, batch.line, None, where, ""))
                when = _time(event)
                if _in_seconds(when, self.as_of):
                    shown = format_path(("events", index, "data", "timestamp_unixtime_ms"))
                    self.seconds.add(
                        Issue(batch.display, batch.line, None, shown, ""), int(str(when))
                    )
                events.append(truncated(event))
        return User(name, user.mpid, tuple(events), dict(user.seeds))

    def _at(self, path: tuple[str | int, ...]) -> Issue:
        assert self.document is not None
        return self.document.issue(path, "")

    def _retyped_attributes(self, path: tuple[str | int, ...], value: object) -> None:
        """Custom attribute values are text to mParticle; one YAML reads as something else
        than the text written (`01234` as 1234, `1.10` as 1.1, `True` as true, a date-time
        in another spelling) would change what first value, unique list or a string
        condition sees: the user is told to quote it, as manifests tell of operands."""
        assert self.document is not None
        items: Iterator[tuple[str | int, object]]
        if isinstance(value, dict):
            items = iter(value.items())
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            return
        for key, item in items:
            at = (*path, key)
            if path and path[-1] == "custom_attributes" and not isinstance(item, dict | list):
                written = self.document.plain_text(at)
                text = text_of(item)
                if written is not None and text is not None and written != text:
                    kind = (
                        "the boolean"
                        if isinstance(item, bool)
                        else "the date and time"
                        if isinstance(item, str)
                        else "the number"
                    )
                    quoted = orjson.dumps(written).decode()
                    message = (
                        f"{written} is read as {kind} {text}; quote it ({quoted}) to keep the text"
                    )
                    self.issue(at, message)
            else:
                self._retyped_attributes(at, item)

    def _file_events(
        self,
        name: str,
        user: model.User,
        events_file: str,
        events_files: dict[Path, batches.EventsFile],
    ) -> list[tuple[_Where, int, Json]]:
        """The user's events of its events file: each with its batch's file and line and
        its place in the batch."""
        found = self._events_file(events_file, events_files)
        if found is None:
            return []  # reported with the references
        at = ("users", name, "events_file")
        if found.issues:  # this file's tests would run on part of the user's events
            self.issue(at, f"{events_file} has errors (listed with it): its events are incomplete")
        chosen = found.of(user.mpid, user.identities)
        if not chosen and (user.mpid is not None or user.identities):
            self.issue(at, f"no batch of {events_file} names this user's mpid or identities")
        return [
            (_Where(found.display, batch.line), index, event)
            for batch in chosen
            for index, event in enumerate(batch.events)
        ]

    def _events_file(
        self, events_file: str, events_files: dict[Path, batches.EventsFile]
    ) -> batches.EventsFile | None:
        """An events file this test file names, read once for all test files; None when
        there is no such file."""
        path = real_path(self.path.parent / events_file)
        if not path.is_file():
            return None
        if path not in events_files:
            display = str(Path(self.display).parent / events_file)
            events_files[path] = batches.read(path, display)
        return events_files[path]

    def _check_references(self, data: Json, events_files: dict[Path, batches.EventsFile]) -> None:
        """Expectations name declared users and known CAs; seeds suit their CA; events files
        exist and are read (their problems are reported with this file's own)."""
        users = data.get("users")
        if not isinstance(users, dict):
            return  # reported by the schema check; naming every user unknown would be noise
        expect = data.get("expect")
        for user, values in expect.items() if isinstance(expect, dict) else ():
            if user not in users:
                hint = suggest(str(user), list(users))
                advice = f"did you mean `{hint}`?" if hint else "declare it under `users:`"
                self.issue(("expect", user), f"unknown user `{user}`; {advice}", key=True)
            for ca in values if isinstance(values, dict) else ():
                self._known_ca(("expect", user, ca), ca)
        for name, user in users.items():
            events_file = user.get("events_file") if isinstance(user, dict) else None
            if (
                isinstance(events_file, str)
                and self._events_file(events_file, events_files) is None
            ):
                self.issue(
                    ("users", name, "events_file"),
                    f"no such file: {events_file} (relative to this test file)",
                )
            seeds = user.get("seeds") if isinstance(user, dict) else None
            for ca, seed in seeds.items() if isinstance(seeds, dict) else ():
                base = ("users", name, "seeds", ca)
                if self._known_ca(base, ca):
                    self._check_seed(base, ca, seed)

    def _known_ca(self, path: tuple[str | int, ...], ca: object) -> bool:
        """Whether `ca` is one of the environment's CAs; a CA of the manifests that the
        environment leaves out is no error (its expectations are skipped, its seeds not
        checked): one test file serves every environment."""
        if isinstance(ca, str) and ca in self.definitions:
            return True
        if isinstance(ca, str) and ca in self.absent:
            return False
        names = [*self.definitions, *self.absent]  # a typo of another environment's CA too
        hint = suggest(str(ca), names) if isinstance(ca, str) else None
        advice = f"; did you mean `{hint}`?" if hint else ""
        self.issue(path, f"no CA named {quoted(ca)} in the manifests{advice}", key=True)
        return False

    def _check_seed(self, base: tuple[str | int, ...], ca: str, seed: object) -> None:
        """A CA is named as every message names it (`quoted`), as `seed` does for the same
        problem in a seed file."""
        definition = self.definitions[ca]
        period = definition.get("time_period") or {}
        shown = quoted(ca)
        if not definition.get("seeding"):
            message = f"{shown} has no seeding.cutoff_date: mParticle takes no seeds for it"
            self.issue(base, message, key=True)
        elif period.get("type") == "within":
            message = f"{shown} has a rolling `within` window, which cannot be seeded"
            self.issue(base, message, key=True)
        problems: list[Problem] = []
        check_seed(shown, str(definition.get("calculation_type")), seed, (), problems)
        for problem in problems:
            self.issue((*base, *problem.path), problem.message)


@dataclass(frozen=True)
class Collected:
    """The test files below a directory: the valid ones loaded, every problem of the
    others (and of their events files) located."""

    #: Every test file's name, valid or not.
    files: tuple[str, ...]
    #: The test files without a problem, and whose events files have none.
    suites: tuple[Suite, ...]
    issues: tuple[Issue, ...]

    @property
    def invalid(self) -> list[str]:
        """The test files with a problem (their events files' aside)."""
        broken = {issue.file for issue in self.issues}
        return [file for file in self.files if file in broken]


def collect(
    directory: Path,
    definitions: Definitions,
    absent: Mapping[str, str] | None = None,
    only: Sequence[Path] | None = None,
) -> Collected:
    """Every test file below `directory` (or the files `only` names, each below it),
    checked against the CAs `definitions` (name -> API-shaped definition): one file's
    problems do not keep the others from running. `absent` names the CAs of the manifests
    the chosen environment does not have, with why (`Manifests.absent_from`): their
    expectations are loaded as skipped, their seeds are not checked."""
    files: list[str] = []
    suites: list[Suite] = []
    issues: list[Issue] = []
    events_files: dict[Path, batches.EventsFile] = {}
    for path in discover(directory) if only is None else only:
        display = str(directory / path.relative_to(directory))
        loader = _FileLoader(path, display, definitions, absent or {})
        suite = loader.load(events_files)
        files.append(display)
        issues += sorted(loader.issues, key=lambda i: (i.line or 0, i.column or 0))
        if suite is not None and not loader.issues:
            suites.append(suite)
    for events_file in events_files.values():
        issues += events_file.issues
    return Collected(tuple(files), tuple(suites), tuple(issues))


def load(
    directory: Path, definitions: Definitions, absent: Mapping[str, str] | None = None
) -> list[Suite]:
    """Every test file below `directory` (`collect`), all of them valid: raises
    CaTestFileError listing every problem of every file otherwise."""
    collected = collect(directory, definitions, absent)
    if collected.issues:
        raise CaTestFileError(collected.issues)
    return list(collected.suites)
