"""The user docs' transcripts and quoted messages (README.md and docs/*.md): what a section
shows a command printing, so that a test can hold it to what the command prints today."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.DOTALL)


def section(heading: str, document: Path = README) -> str:
    """The text under `heading` (a whole heading line, `### ...`), up to the next heading of
    the same or a higher level; `#` lines inside fenced blocks are no headings."""
    lines = document.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index(heading + "\n") + 1
    level = len(heading) - len(heading.lstrip("#"))
    fenced = False
    for end in range(start, len(lines)):
        line = lines[end]
        fenced ^= line.startswith("```")
        hashes = len(line) - len(line.lstrip("#"))
        if not fenced and 0 < hashes <= level and line[hashes : hashes + 1] == " ":
            return "".join(lines[start:end])
    return "".join(lines[start:])


def blocks(heading: str, document: Path = README) -> list[tuple[str, str]]:
    """(language, text) of each fenced block of the section under `heading`."""
    return [(m[1], m[2]) for m in _FENCE.finditer(section(heading, document))]


def transcript(heading: str, document: Path = README, index: int = 0) -> tuple[str, list[str]]:
    """The `$ ` command of the `index`-th transcript (a ```sh or ```console block that starts
    with one) of the section under `heading`, and the lines shown after it (blank lines and
    `...` elisions left out)."""
    found = [
        text
        for language, text in blocks(heading, document)
        if language in ("sh", "console") and text.startswith("$ ")
    ]
    assert len(found) > index, f"no transcript {index} under {heading}"
    command, _, output = found[index].partition("\n")
    shown = [line for line in output.splitlines() if line.strip() not in ("", "...")]
    return command[2:], shown


def output(heading: str, document: Path = README, index: int = 0) -> list[str]:
    """The lines of the `index`-th block of the section under `heading` that shows output
    alone (no `$ ` command, no language or `console`/`text`), blank lines left out."""
    found = [
        text
        for language, text in blocks(heading, document)
        if language in ("", "console", "text") and not text.startswith("$ ")
    ]
    assert len(found) > index, f"no output block {index} under {heading}"
    return [line for line in found[index].splitlines() if line.strip()]


def quotes(document: Path) -> str:
    """The document's text with its line breaks as spaces: a message quoted in prose may be
    wrapped over lines."""
    return re.sub(r"\s*\n\s*", " ", document.read_text(encoding="utf-8"))
