"""`reconciler show PLANFILE`: render a saved plan (`plan --out`) as `plan` rendered it.

Offline: it reads the plan file and nothing else (no settings, no request). Plans of
format 1 are read as format 2, as `apply --plan` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.console import Output
from reconciler.plan import render
from reconciler.plan.render import Format
from reconciler.plan.value import Plan


@dataclass(frozen=True)
class ShowOptions:
    """The command's arguments: the plan file and the format to render it in."""

    plan_file: Path
    fmt: Format = "text"


def run(options: ShowOptions, output: Output) -> int:
    """Print the saved plan; 0, or a user error naming a file that is not a plan."""
    render.show(Plan.load(options.plan_file), output, options.fmt)
    return 0
