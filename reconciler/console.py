"""The terminal edge: the only place that writes to stdout/stderr.

Colour only on a TTY and never with NO_COLOR or --no-color; rich markup is off so that CA
names like `[bold]` print as written; every write passes through secret redaction.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from typing import IO, Any

from rich.console import Console
from rich.text import Text

REDACTED = "***"

#: Environment variables whose values must never reach any output.
SECRET_ENV_VARS = ("MPARTICLE_CLIENT_SECRET", "MPARTICLE_API_SECRET")


#: Per-environment secrets (SPEC §7): MPARTICLE_<ENV>_CLIENT_SECRET, ..._API_SECRET.
_ENVIRONMENT_SECRET = re.compile(r"MPARTICLE_[A-Z0-9_]+_(CLIENT|API)_SECRET")


def secrets_from_env(environ: os._Environ[str] | dict[str, str] | None = None) -> list[str]:
    """The secret values currently set in the environment (empty ones ignored)."""
    env = os.environ if environ is None else environ
    names = [*SECRET_ENV_VARS, *(n for n in env if _ENVIRONMENT_SECRET.fullmatch(n))]
    return [value for name in names if (value := env.get(name, "")) and len(value) >= 3]


class Redactor:
    """Replaces every known secret value in a string with `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = sorted({s for s in secrets if s}, key=len, reverse=True)

    def add(self, secret: str | None) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


class _RedactingStream:
    """A text stream wrapper that redacts secrets on every write."""

    def __init__(self, stream: IO[str], redact: Redactor) -> None:
        self._stream = stream
        self._redact = redact

    def write(self, text: str) -> int:
        self._stream.write(self._redact(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", "utf-8") or "utf-8"


class Output:
    """stdout for results (plans, reports), stderr for errors, warnings and progress."""

    def __init__(
        self,
        *,
        no_color: bool = False,
        debug: bool = False,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.debug = debug
        self.redact = redactor or Redactor(secrets_from_env())
        color = not no_color and "NO_COLOR" not in os.environ
        out_stream = _RedactingStream(stdout or sys.stdout, self.redact)
        err_stream = _RedactingStream(stderr or sys.stderr, self.redact)
        common: dict[str, Any] = {
            "markup": False,
            "highlight": False,
            "emoji": False,
            "soft_wrap": True,
            "no_color": not color,
        }
        if not color:
            common["color_system"] = None
        self.out = Console(file=out_stream, **common)  # type: ignore[arg-type]
        self.err = Console(file=err_stream, stderr=True, **common)  # type: ignore[arg-type]
        self._raw_out = out_stream

    @property
    def interactive(self) -> bool:
        """True when both ends are a terminal a person can answer."""
        return self.out.is_terminal and sys.stdin.isatty()

    def write_raw(self, text: str) -> None:
        """Write machine output (JSON, Markdown) to stdout exactly as given (redacted)."""
        self._raw_out.write(text)
        self._raw_out.flush()

    def print(self, text: str | Text = "") -> None:
        self.out.print(text)

    def error(self, message: str) -> None:
        self.err.print(Text("Error: ", style="bold red") + Text(message))

    def warn(self, message: str) -> None:
        self.err.print(Text("Warning: ", style="bold yellow") + Text(message))

    def info(self, message: str) -> None:
        self.err.print(Text(message))
