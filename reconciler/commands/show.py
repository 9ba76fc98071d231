"""`reconciler show PLANFILE`: render a saved plan (`plan --out`) as `plan` rendered it.

Offline: it reads the plan file and nothing else (no settings, no request). Plans of
format 1 are read as format 2, as `apply --plan` reads them. A plan whose bodies do not
send what its changes show is refused, as `apply --plan` refuses it; what only the live
CAs can tell (an update's changes against the CA as it is) is left to `apply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.console import Output
from reconciler.plan import integrity, render
from reconciler.plan.render import Format
from reconciler.plan.value import Plan


@dataclass(frozen=True)
class ShowOptions:
    """The command's arguments: the plan file and the format to render it in."""

    plan_file: Path
    fmt: Format = "text"


def run(options: ShowOptions, output: Output) -> int:
    """Print the saved plan; 0, or a user error naming a file that is not a plan."""
    plan = Plan.load(options.plan_file)
    problems = integrity.offline(plan)
    if problems:
        raise integrity.refusal(problems, applying=False)
    render.show(plan, output, options.fmt)
    return 0
