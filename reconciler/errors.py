"""The one exception tree of the reconciler, translated to messages at the CLI edge.

    ReconcilerError                  every error a user can meet; exit code 1
    ├── ManifestError                manifests or settings are invalid (a list of Issues)
    ├── CaTestFileError              test files (`*.test.yaml`) are invalid (a list of Issues)
    ├── SettingsError                a required setting or credential is missing
    ├── PlanError                    the plan breaks a rule (rename after activation, protect)
    ├── StalePlanError               a saved plan no longer matches the live workspace
    ├── SafetyError                  prune / threshold guard refused the plan
    ├── SeedFileError                the seed file is invalid (a list of Issues)
    ├── CheckpointError              a seeding checkpoint belongs to another input or settings
    ├── ApplyError                   an apply stopped part-way (carries the report)
    └── ApiError                     the mParticle API answered with an error status
        ├── AuthError                401 / 403
        ├── NotFoundError            404
        ├── ValidationFailed         400
        ├── BusinessRuleError        422
        ├── RateLimited              429 (retry_after in seconds)
        ├── ServerError              5xx
        ├── TransportError           no usable answer: connection refused, dropped, timed out
        └── DeadlineExceeded         the command's deadline passed, or a wait would outlast it

The client raises ApiError subclasses; everything else is raised by the step that found it.
An error about input carries `Issue`s, each located by file position and data path (the
one `DataPath` type and its one spelling, `format_path`, that every step uses). A
PlanError's reasons are `Blocker`s naming the CA and the field of its manifest entry to
fix; the caller that knows where the manifests write it turns them into `Issue`s. Text from
outside (a server's messages, input quoted in an Issue) is made `printable` where the error
is built, so no message can drive the reader's terminal. Times in messages have one
spelling too: a moment as `until` writes it, a length of time as `duration` does.
"""

from __future__ import annotations

import json
import math
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

#: Where a value sits in nested data: keys and list indexes from the top,
#: e.g. `("definition", "conditions", 0, "value")`.
DataPath = tuple[str | int, ...]
#: Keys that read unambiguously after a dot; others are quoted: `["ice cream"]`.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class ItemName(str):
    """A list item named by what it holds rather than by its index (a plan names a
    condition by its attribute: `conditions["Checkout Step"]`); written as it is, in
    brackets, by `format_path`."""

    __slots__ = ()


def format_path(path: Sequence[str | int]) -> str:
    """`definition.conditions[0].value`; a key that is not a plain word reads `["a b"]`;
    an `ItemName` reads `conditions["Checkout Step"]`."""
    text = ""
    for part in path:
        if isinstance(part, (int, ItemName)):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text


#: Unicode categories that must not reach a terminal raw: control characters (escape
#: sequences), format characters (bidi overrides) and line/paragraph separators.
UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp"})


#: How many items (CAs, problems) a message names before it says "and N more".
NAMED_AT_MOST = 10


def first_few(
    items: list[str], separator: str, before_more: str, at_most: int = NAMED_AT_MOST
) -> str:
    """`items` joined, the first `at_most` of them and how many more: a message about
    thousands of CAs would otherwise be one line of hundreds of kilobytes."""
    shown = separator.join(items[:at_most])
    if len(items) > at_most:
        shown += f"{before_more}and {len(items) - at_most} more"
    return shown


def printable(text: str) -> str:
    """`text` with control and format characters written as escapes (`\\x1b`, `\\u202e`):
    input quoted in a message must not recolour, retitle or rearrange the reader's terminal."""
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in UNPRINTABLE
        else ch
        for ch in text
    )


def quoted(value: object) -> str:
    """A value as JSON for a reader: a CA name in double quotes with `"` and `\\` escaped,
    as in a plan's change line; control, bidi and other format characters escaped too. Every
    message that names a CA names it so: a name with a `"`, a line break or a U+202E in it
    reads the same in an error, a warning and the plan, and cannot rearrange the line."""
    return printable(json.dumps(value, ensure_ascii=False, default=str))


def place(file: str, line: int | None, column: int | None) -> str:
    """`file:line:column`, as far as known: where an editor opens a file."""
    where = file
    if line is not None:
        where += f":{line}"
        if column is not None:
            where += f":{column}"
    return where


@dataclass(frozen=True)
class Issue:
    """One located problem in an input file: `file:line:column: path: message`."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        field = f" {self.path}:" if self.path else ""
        return printable(f"{place(self.file, self.line, self.column)}:{field} {self.message}")


def printable_lines(text: str) -> str:
    """`printable` line by line: the line breaks a message is made of stay."""
    if text.isprintable():
        return text
    return "\n".join(printable(line) for line in text.split("\n"))


#: The last year `until` names; a later moment is FAR_OFF.
LAST_YEAR = 9999
FAR_OFF = f"after the year {LAST_YEAR}"


def until(seconds: float, now: float | None = None) -> str:
    """The local wall-clock time `seconds` after `now` (epoch seconds; default: now), as
    people read it in a log, with its zone, since a CI runner's log (UTC) is read by
    people elsewhere: `14:03:07 UTC`, `09:33:07 NST`, `03:15:34 UTC-11`; with its day
    when that is not today: `2026-12-01 00:10:00 GMT`."""
    start = time.time() if now is None else now
    try:
        today, moment = time.localtime(start), time.localtime(start + seconds)
    except (OverflowError, OSError, ValueError):  # `--wait-timeout 1e300`
        return FAR_OFF
    if moment.tm_year > LAST_YEAR:
        return FAR_OFF
    zone = moment.tm_zone if moment.tm_zone and moment.tm_zone.isalpha() else _offset(moment)
    day = "%Y-%m-%d " if moment[:3] != today[:3] else ""
    return time.strftime(f"{day}%H:%M:%S", moment) + f" {zone}"


def _offset(moment: time.struct_time) -> str:
    """A zone that has no abbreviation, as its offset from UTC: `UTC+14`, `UTC+5:45`."""
    sign = "-" if moment.tm_gmtoff < 0 else "+"
    hours, seconds = divmod(abs(moment.tm_gmtoff), 3600)
    return f"UTC{sign}{hours}" + (f":{seconds // 60:02d}" if seconds else "")


YEAR = 365 * 24 * 3600.0


def duration(seconds: float) -> str:
    """`0.05 s`, `2.5 s`, `12 s`, `3 min 20 s`, `27 h`: short and readable; `forever` for
    an infinite wait (`Retry-After: 1e400`), not `inf h`, and `over a year` for one as good
    as infinite (`Retry-After: 1e300` was a number of hours 297 digits long)."""
    if math.isinf(seconds):
        return "forever"
    if seconds > YEAR:
        return "over a year"
    if seconds < 1:
        return f"{seconds:.2g} s"
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    return f"{seconds / 3600:,.0f} h"


class ReconcilerError(Exception):
    """Base of every error shown to a user as one paragraph with exit code 1.

    The message is escaped line by line where it is built: names and text from the
    workspace or a server (a live CA named with escape sequences) cannot drive a terminal.
    """

    exit_code = 1

    def __init__(self, message: str) -> None:
        message = printable_lines(message)
        super().__init__(message)
        self.message = message


class ManifestError(ReconcilerError):
    """Manifests or settings failed to load; `issues` lists every problem found."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = tuple(issues)
        count = len(self.issues)
        noun = "error" if count == 1 else "errors"
        lines = [f"{count} {noun} in manifests:"] + [f"  {issue}" for issue in self.issues]
        super().__init__("\n".join(lines))


class CaTestFileError(ReconcilerError):
    """Test files (`*.test.yaml`) or their events files are invalid; `issues` lists every
    problem found. (Not named `Test...`: pytest would take it for a test class.)"""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = tuple(issues)
        count = len(self.issues)
        noun = "error" if count == 1 else "errors"
        lines = [f"{count} {noun} in test files:"] + [f"  {issue}" for issue in self.issues]
        super().__init__("\n".join(lines))


class SettingsError(ReconcilerError):
    """A setting or credential needed for this command is missing or invalid."""


@dataclass(frozen=True)
class Blocker:
    """One reason a plan cannot be made. For a reason a manifest entry can fix: the CA
    (its `name` as the environment has it) and the `field` of its entry to fix, for the
    caller that knows where the manifests write it to place (`PlanError.placed`); the
    planner itself knows nothing of files."""

    message: str
    name: str | None = None
    field: DataPath = ()

    def __str__(self) -> str:
        return self.message


#: What `PlanError.placed` asks of the caller: where a blocker's field is written (an
#: `Issue` holding its message), or None where it cannot say.
Placer = Callable[[Blocker], Issue | None]


class PlanError(ReconcilerError):
    """The desired state cannot be reached by a plan (e.g. renaming an activated CA).
    `problems`: each reason as printed; `blockers`: the same, as found (a `Blocker`, or
    once placed the `Issue` saying where the manifests write the field to fix)."""

    def __init__(self, problems: Sequence[str | Blocker | Issue]) -> None:
        self.blockers = tuple(problems)
        self.problems = tuple(str(p) for p in self.blockers)
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Cannot plan:\n{body}")

    def placed(self, place: Placer) -> PlanError:
        """This error with each blocker about a manifest field at the line that writes it
        (`file:line:column: field: message`, as manifest errors read)."""
        found: list[str | Blocker | Issue] = []
        for blocker in self.blockers:
            issue = place(blocker) if isinstance(blocker, Blocker) and blocker.field else None
            found.append(issue if issue is not None else blocker)
        return PlanError(found)


class StalePlanError(ReconcilerError):
    """The live workspace changed since the saved plan was made."""


class SafetyError(ReconcilerError):
    """A safety rule refused the plan; `--force` overrides it."""


class SeedFileError(ReconcilerError):
    """The seed file holds invalid users; nothing was sent.

    `advice` follows the count of problems not shown: what the command that read the file
    offers to see them all (`advised` gives the same error with the command's advice).
    """

    def __init__(
        self,
        issues: Sequence[Issue],
        total: int | None = None,
        *,
        problems: int | None = None,
        heading: str | None = None,
        advice: str | None = None,
    ) -> None:
        # `issues` may be the first few of many: `total` counts invalid users, `problems`
        # every issue found (a user can have several), so a huge file is never held.
        self.issues = tuple(issues)
        self.total = total
        self.problems = problems
        self.heading = heading
        shown = self.issues[:50]
        count = total if total is not None else len(self.issues)
        found = problems if problems is not None else count
        lines = [heading or f"{count} invalid user(s) in the seed file; nothing was sent:"]
        lines += [f"  {issue}" for issue in shown]
        if found > len(shown):
            more = f"  ... and {found - len(shown)} more"
            lines.append(f"{more} ({advice})" if advice else more)
        super().__init__("\n".join(lines))

    def advised(self, advice: str) -> SeedFileError:
        """This error, with `advice` after the count of problems not shown."""
        return SeedFileError(
            self.issues,
            self.total,
            problems=self.problems,
            heading=self.heading,
            advice=advice,
        )


class CheckpointError(ReconcilerError):
    """A seeding checkpoint cannot be used: it belongs to another file or other settings."""


class ApplyError(ReconcilerError):
    """An apply stopped before finishing; the message carries the per-action report."""


class ApiError(ReconcilerError):
    """The API answered with an error; carries the HTTP status and the server's messages,
    and `retry_after`: how long the server asked us to wait (`Retry-After`: a 429, or a
    502/503/504 that says), else None."""

    #: The status of an error of this kind made without one.
    default_status: ClassVar[int | None] = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        messages: Sequence[str] = (),
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.status = status if status is not None else self.default_status
        self.retry_after = retry_after
        #: No attempt of the request left this machine (every one failed to connect): a
        #: write that failed so certainly did not take effect. Set by `Http.request`;
        #: False (it may have reached the server) for an error made anywhere else.
        self.unsent = False
        #: As the server sent them (secrets already hidden by the client); `detail` is
        #: their printable form.
        self.messages = tuple(messages)
        self.method = method
        self.path = path
        detail = self.detail
        request = f"{method} {path}".strip()
        parts = [message]
        if request:
            parts.append(f"({request}{f' -> {status}' if status else ''})")
        if detail:
            parts.append(f": {detail}")
        super().__init__(" ".join(parts[:2]) + (parts[2] if len(parts) > 2 else ""))

    @property
    def detail(self) -> str:
        """The server's messages, joined and escaped for a terminal; a message repeated
        (one for each user of a seeding batch) once, with its count."""
        counts = Counter(self.messages)
        shown = [
            message if counts[message] == 1 else f"{message} ({counts[message]} times)"
            for message in counts
        ]
        return printable("; ".join(shown))

    def saying(self, message: str, kind: type[ApiError] | None = None) -> ApiError:
        """The same answer (status, messages, request) under our own words, as `kind`
        (default: this error's class)."""
        said = (kind or type(self))(
            message,
            status=self.status,
            messages=self.messages,
            method=self.method,
            path=self.path,
            retry_after=self.retry_after,
        )
        said.unsent = self.unsent
        return said


class AuthError(ApiError):
    """401 or 403: the credentials are missing, wrong, or lack access to the workspace."""


class NotFoundError(ApiError):
    """404: the CA (or the workspace) does not exist."""


class ValidationFailed(ApiError):
    """400: the API rejected the request body."""


class BusinessRuleError(ApiError):
    """422: the request breaks a product rule (limits, activation, read-only name)."""


class RateLimited(ApiError):
    """429: too many requests; `retry_after` says how long the server asked us to wait."""

    default_status = 429


class ServerError(ApiError):
    """5xx: the server failed; whether the request took effect is unknown (a 503 may say
    how long to wait: `retry_after`)."""


class TransportError(ApiError):
    """No usable answer (refused, dropped, timed out); whether a write took effect is unknown."""


class DeadlineExceeded(ApiError):
    """The command's deadline passed, or a wait it asks for would outlast it: nothing more
    is sent. Whether the request in flight took effect is unknown."""
