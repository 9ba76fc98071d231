"""The terminal edge: the only place that writes to stdout/stderr.

Colour only on a TTY (or with FORCE_COLOR) and never with NO_COLOR or --no-color; live
progress bars only on a real terminal (`Output.live`); rich markup is off so that CA
names like `[bold]` print as written. What is written is never rewritten here: plans,
reports and exports are data and reach the terminal exactly; secrets are hidden where text
about a request is made (`api.secrets`), and outside text is escaped where it enters a
message or a rendering (`errors.printable`). Log records reach stderr through
`log_handling`: announcements of waits always, every trace with --debug (secrets hidden).
"""

from __future__ import annotations

import codecs
import io
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import IO, Any

from rich.console import Console
from rich.text import Text

from reconciler.errors import printable

#: Lines `Output.print_lines` hands to rich (or writes) at once.
CHUNK_LINES = 1000

#: Seconds between two progress lines where no bar is drawn (a pipe, a CI log, TERM=dumb):
#: a long seed or wait is seen to move, and a runner that stops a job silent for ten
#: minutes (CircleCI, Travis) does not stop it, in a log of one line a minute.
PROGRESS_EVERY = 60.0


def _utf(stream: IO[str]) -> bool:
    """Whether `stream` encodes every character (UTF-8, or one it cannot tell)."""
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name.startswith("utf")
    except LookupError:
        return False


def tolerant(stream: IO[str]) -> IO[str]:
    """`stream`, which writes a character its encoding lacks as an escape (`\\u2713`) rather
    than raising UnicodeEncodeError: a console or a redirected stdout in a legacy code page
    (Windows' cp1252, `LANG=C`) cannot show `✓` or a CA named in Japanese, and a plan that
    reads `\\u4f1a` is better than a plan that stops half-way. Python's stderr does so
    already; stdout is strict by default."""
    if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict" and not _utf(stream):
        stream.reconfigure(errors="backslashreplace")
    return stream


class Output:
    """stdout for results (plans, reports), stderr for errors, warnings and progress."""

    def __init__(
        self,
        *,
        no_color: bool = False,
        debug: bool = False,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.debug = debug
        # no-color.org: NO_COLOR set and not empty (an empty variable is no variable).
        color = not no_color and not os.environ.get("NO_COLOR")
        self._common: dict[str, Any] = {
            "markup": False,
            "highlight": False,
            "emoji": False,
            "soft_wrap": True,
            "no_color": not color,
        }
        if not color:
            self._common["color_system"] = None
        self.out = Console(file=tolerant(stdout or sys.stdout), **self._common)
        self.err = Console(file=tolerant(stderr or sys.stderr), stderr=True, **self._common)
        #: Whether stdout may end in half a line: a write not ending one, or one a signal
        #: cut short (SIGTERM while the pipe was full). What stderr says next then starts
        #: a line of its own, or a log of both would read `+ definition.time_peError: ...`.
        self._open_line = False

    @property
    def live(self) -> bool:
        """Whether stderr can show live progress bars: a terminal that is one. FORCE_COLOR
        asks for colour, and rich then takes any stream for a terminal: bars redrawn ten
        times a second with carriage returns and cursor codes would fill a CI log."""
        isatty = getattr(self.err.file, "isatty", None)
        return (
            self.err.is_terminal
            and not self.err.is_dumb_terminal
            and isatty is not None
            and bool(isatty())
        )

    @property
    def interactive(self) -> bool:
        """True when both ends are a terminal a person can answer."""
        return self.out.is_terminal and sys.stdin.isatty()

    def write_raw(self, text: str) -> None:
        """Write machine output (JSON, Markdown) to stdout exactly as given: as UTF-8 (what
        JSON and GitHub read) where stdout's encoding could not hold every character, since
        an escape there (`\\xe9`, `\\U0001f600`) would make the JSON invalid."""
        file = self.out.file
        buffer = getattr(file, "buffer", None)
        with self._writing(ends_line=text.endswith("\n")):
            if buffer is not None and not _utf(file):
                file.flush()
                buffer.write(text.encode("utf-8"))
                buffer.flush()
                return
            file.write(text)
            file.flush()

    def print(self, text: str | Text = "") -> None:
        with self._writing():
            self.out.print(text)

    def print_lines(self, lines: Iterable[Text]) -> None:
        """Print lines as one `print` of them joined would, `CHUNK_LINES` at a time: rich
        holds all it is given at once (a plan of 10,000 CAs in one call took 600 MB) and
        spends as long on each call as on a line. Without colour (a pipe, a CI log) the
        plain text is written as is."""
        remaining = iter(lines)
        with self._writing():
            for chunk in iter(lambda: list(islice(remaining, CHUNK_LINES)), []):
                if self.out.color_system is None:
                    self.out.file.write("".join(line.plain + "\n" for line in chunk))
                else:
                    self.out.print(Text("\n").join(chunk))
            self.out.file.flush()

    @contextmanager
    def _writing(self, *, ends_line: bool = True) -> Iterator[None]:
        """A write to stdout: while it goes, and if it is cut short, the line is open."""
        self._open_line = True
        yield
        self._open_line = not ends_line

    def _say(self, text: Text) -> None:
        """A message on stderr, on a line of its own, written in one call. rich clears its
        buffer only after writing it, so a signal landing in between (Ctrl-C just as a wait
        is announced) left the line there, to be written again before the next one: without
        colour (a pipe, a CI log) the plain text is written as is, and with colour it is
        rendered by a console of its own, whose buffer goes with it."""
        if self._open_line:
            self._open_line = False
            self.err.file.write("\n")
        if self.err.color_system is None:
            self.err.file.write(text.plain + "\n")
        else:
            self.err.file.write(self._rendered(text))
        self.err.file.flush()

    def _rendered(self, text: Text) -> str:
        """`text` as stderr's console would print it (its colours, its width)."""
        buffer = io.StringIO()
        common = self._common | {"color_system": self.err.color_system}
        Console(file=buffer, force_terminal=True, width=self.err.width, **common).print(text)
        return buffer.getvalue()

    def error(self, message: str) -> None:
        self._say(Text("Error: ", style="bold red") + Text(message))

    def warn(self, message: str) -> None:
        self._say(Text("Warning: ", style="bold yellow") + Text(message))

    def info(self, message: str) -> None:
        self._say(Text(message))

    def traceback(self) -> None:
        """The exception being handled, as rich renders it, with secrets hidden (--debug)."""
        # Imported here: planning renders through this module and knows nothing of api/.
        from reconciler.api.secrets import Redactor

        buffer = io.StringIO()
        Console(file=buffer, width=self.err.width, **self._common).print_exception()
        self.err.file.write(Redactor.from_env()(buffer.getvalue()))
        self.err.file.flush()


class Heartbeat:
    """When a progress line is due where no bar is drawn (`Output.live` is false): once
    `every` seconds have passed since the start or the last line."""

    def __init__(
        self, every: float = PROGRESS_EVERY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._every = every
        self._clock = clock
        self._last = clock()

    def due(self) -> bool:
        now = self._clock()
        if now - self._last < self._every:
            return False
        self._last = now
        return True


def percent(done: int, total: int) -> str:
    """`done` of `total` as a progress line says it: `24%` (`100%` of nothing)."""
    return f"{100 * done / total:.0f}%" if total else "100%"


class _Notices(logging.Handler):
    """Announcements of the network edge (waits, retries, slow answers) on stderr."""

    def __init__(self, output: Output) -> None:
        super().__init__(logging.INFO)
        self.output = output

    def emit(self, record: logging.LogRecord) -> None:
        try:
            said = printable(record.getMessage())
            if record.levelno >= logging.WARNING:
                self.output.warn(said)
            else:
                self.output.info(said)
        except Exception:  # a log line must never break a command
            self.handleError(record)


class _Tracing(logging.Formatter):
    """--debug traces: secrets hidden and control characters escaped in every line."""

    def __init__(self) -> None:
        from reconciler.api.secrets import Redactor

        super().__init__("%(name)s: %(message)s")
        self._redact = Redactor.from_env()

    def format(self, record: logging.LogRecord) -> str:
        text = self._redact(super().format(record))
        return "\n".join(printable(line) for line in text.split("\n"))


@contextmanager
def log_handling(output: Output) -> Iterator[None]:
    """Route log records to stderr while one command runs: with --debug every record (HTTP
    traces included), otherwise the announcements (INFO and up) of reconciler's loggers."""
    handler: logging.Handler
    if output.debug:
        target, level = logging.getLogger(), logging.DEBUG
        handler = logging.StreamHandler(output.err.file)
        handler.setFormatter(_Tracing())
    else:
        target, level = logging.getLogger("reconciler"), logging.INFO
        handler = _Notices(output)
    previous = target.level
    target.addHandler(handler)
    target.setLevel(level)
    try:
        yield
    finally:
        target.removeHandler(handler)
        target.setLevel(previous)
