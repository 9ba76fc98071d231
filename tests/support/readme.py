"""The README's transcripts: what a section shows a command printing, so that a test can
hold it to what the command prints today."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def transcript(heading: str) -> tuple[str, list[str]]:
    """The first `$ ` command of the section under `heading` and the lines shown after it
    (blank lines and `...` elisions left out)."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    block = re.compile(r"^```(?:sh|console)\n\$ (.*?)\n(.*?)^```", re.M | re.DOTALL).search(
        text, start
    )
    assert block is not None, f"no transcript under {heading}"
    assert not re.search(r"^##", text[start : block.start()], re.M), f"none under {heading}"
    shown = [line for line in block[2].splitlines() if line.strip() not in ("", "...")]
    return block[1], shown
