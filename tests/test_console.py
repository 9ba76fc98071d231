"""The terminal edge (`reconciler.console`): what reaches a log that merges stdout and
stderr when a signal cuts a write short."""

from __future__ import annotations

import io
import re

import pytest
from rich.text import Text

from reconciler.console import Output


class _Log(io.StringIO):
    """stdout and stderr merged into one log (`2>&1`), whose first long write a signal
    cuts off half-way, as SIGTERM does to a write blocked on a full pipe."""

    def __init__(self) -> None:
        super().__init__()
        self.cut = False

    def write(self, text: str) -> int:
        if not self.cut and len(text) > 40:
            self.cut = True
            super().write(text[: len(text) // 2])
            raise KeyboardInterrupt
        return super().write(text)


def test_a_message_after_a_write_cut_short_starts_a_line_of_its_own() -> None:
    # SIGTERM while `plan | ...` waited on a full pipe: the plan stopped mid-line and the
    # last word on stderr was glued to it in the log: `+ definition.time_peError: ...`.
    log = _Log()
    output = Output(no_color=True, stdout=log, stderr=log)
    lines = [Text(f'      + definition.time_period.date: "2020-01-{n:02}"') for n in range(9)]
    with pytest.raises(KeyboardInterrupt):
        output.print_lines(lines)
    output.error("interrupted by SIGTERM")
    written = log.getvalue().splitlines()
    assert written[-1] == "Error: interrupted by SIGTERM"
    assert not written[-2].endswith("Error: interrupted by SIGTERM")


def test_a_message_after_whole_lines_adds_no_blank_line() -> None:
    log = io.StringIO()
    output = Output(no_color=True, stdout=log, stderr=log)
    output.print_lines([Text("one"), Text("two")])
    output.print("three")
    output.write_raw("{}\n")
    output.error("stopped")
    output.write_raw("no end")
    output.warn("after")
    assert log.getvalue() == "one\ntwo\nthree\n{}\nError: stopped\nno end\nWarning: after\n"


class _Signalled(io.StringIO):
    """A terminal whose first flush a signal interrupts, after the text was written."""

    def __init__(self) -> None:
        super().__init__()
        self.signalled = False

    def isatty(self) -> bool:
        return True

    def flush(self) -> None:
        if not self.signalled:
            self.signalled = True
            raise KeyboardInterrupt


@pytest.mark.parametrize("colour", [True, False], ids=["colour", "plain"])
def test_a_message_a_signal_interrupts_is_not_written_again(
    colour: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C just as a retry wait was announced: the announcement was written, and written
    # again before "Error: interrupted", since rich had not yet cleared its buffer.
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    log = _Signalled()
    output = Output(no_color=not colour, stdout=io.StringIO(), stderr=log)
    assert (output.err.color_system is not None) is colour
    with pytest.raises(KeyboardInterrupt):
        output.info("waiting 2 s before retry 2/12")
    output.error("interrupted")
    written = log.getvalue()
    assert ("\x1b[" in written) is colour
    plain = re.sub(r"\x1b\[[0-9;]*m", "", written)
    assert plain == "waiting 2 s before retry 2/12\nError: interrupted\n"
