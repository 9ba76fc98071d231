"""The parameters several commands share (the manifest directory, --env, --only/--exclude,
--allow, --target, --workspace-id, ...), declared once, and the settings flags they make."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reconciler.cli.app import MAX_WORKSPACE_ID

if TYPE_CHECKING:
    from reconciler.settings import Flags

DirArg = Annotated[
    Path,
    typer.Argument(help="Manifest directory (holds reconciler.yaml).", show_default=True),
]


EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="NAME",
        help="Environment of reconciler.yaml to work on (default: RECONCILER_ENV, else "
        "default_environment).",
        show_default=False,
    ),
]
AllEnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="NAME|all",
        help="Environment of reconciler.yaml, or all of them (default: RECONCILER_ENV, else "
        "default_environment).",
        show_default=False,
    ),
]
SummaryEnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="NAME|all",
        help="Environment whose CAs the summary counts, or all (default: RECONCILER_ENV, else "
        "all); every environment is checked.",
        show_default=False,
    ),
]
AllowOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow",
        metavar="RULE",
        help="Let one safety rule through: threshold, delete, delete-in-use, activations, "
        "drafts, promotion, active-limit (repeatable).",
        show_default=False,
    ),
]
OnlyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--only",
        metavar="GLOB",
        help="Only the CAs whose names match (a glob, case-sensitive; repeatable).",
        show_default=False,
    ),
]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        metavar="GLOB",
        help="Leave out the CAs whose names match (a glob, case-sensitive; repeatable).",
        show_default=False,
    ),
]
SeedsOption = Annotated[
    Path | None,
    typer.Option(
        "--seeds",
        metavar="FILE",
        help="Seed file (JSONL or CSV, as for seed): each CA it seeds gets its seeds before "
        "it is activated.",
        show_default=False,
    ),
]


TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target",
        metavar="embedded|mparticle",
        help="embedded (local emulator) or mparticle.",
        show_default=False,
    ),
]
PruneOption = Annotated[
    bool | None,
    typer.Option(
        "--prune/--no-prune", help="Delete live CAs no manifest names.", show_default=False
    ),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Allow every safety rule (as --allow for each).")
]


def finite_number(
    minimum: float | None = None, maximum: float | None = None
) -> Callable[[str], float]:
    """The parser of a float flag within [minimum, maximum]: `nan` and `inf` are no numbers
    of seconds or users a second, and said so. Typer's own check of the range let them
    reach it and answered `--rate nan` with "less than or equal to 10000000". A flag with a
    parser takes no `min`/`max` (Typer would not check them, and would print the range in
    --help as `[0.01<=x<=10000000.0]`): its help says the range in words, with `ranged`."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            beyond = "" if math.isnan(value) or "inf" in text.lower() else " (beyond a float)"
            raise typer.BadParameter(f"must be a finite number, not {text}{beyond}")
        low = minimum is not None and value < minimum
        high = maximum is not None and value > maximum
        if low or high:
            raise typer.BadParameter(f"must be {_range(minimum, maximum)}, not {text}")
        return value

    return parse


def whole_number(minimum: int, maximum: int) -> Callable[[str], int]:
    """The parser of an integer flag within [minimum, maximum], for a range too wide to
    print: with Typer's `min`/`max`, --help showed `[1<=x<=9223372036854775807]`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a whole number") from None
        if not minimum <= value <= maximum:
            raise typer.BadParameter(f"must be {_range(minimum, maximum)}, not {text}")
        return value

    return parse


def one_of(*choices: str) -> Callable[[str], str]:
    """The parser of a flag that takes one of `choices`, refused in the words `--format`
    and `--target` use: an Enum's own check answered `Value error, 'xml' is not one of
    'text', 'json'.`, pydantic's prefix included."""

    def parse(text: str) -> str:
        if text not in choices:
            raise typer.BadParameter(f"use {', '.join(choices[:-1])} or {choices[-1]}")
        return text

    return parse


def ranged(minimum: float | None = None, maximum: float | None = None) -> str:
    """The range of a flag with a parser, for its help: `0 or more`, `0.01 to 100`."""
    if minimum is None:
        return f"at most {_shown(maximum)}"
    if maximum is None:
        return f"{_shown(minimum)} or more"
    return f"{_shown(minimum)} to {_shown(maximum)}"


def _range(minimum: float | None, maximum: float | None) -> str:
    """A range as the README writes it: `between 0.01 and 10000000`, not `1e+07`."""
    if minimum is None:
        return f"at most {_shown(maximum)}"
    if maximum is None:
        return f"at least {_shown(minimum)}"
    return f"between {_shown(minimum)} and {_shown(maximum)}"


def _shown(bound: float | None) -> str:
    return str(int(bound)) if bound is not None and float(bound).is_integer() else str(bound)


WorkspaceOption = Annotated[
    int | None,
    typer.Option(
        "--workspace-id",
        metavar="ID",
        parser=whole_number(1, MAX_WORKSPACE_ID),
        help="Workspace id.",
        show_default=False,
    ),
]


def flags_from(
    workspace_id: int | None, target: str | None, prune: bool | None, env: str | None = None
) -> Flags:
    from reconciler.settings import Flags

    if target not in (None, "embedded", "mparticle"):
        raise typer.BadParameter("use embedded or mparticle", param_hint="--target")
    return Flags(
        workspace_id=workspace_id,
        target=target,  # type: ignore[arg-type]
        prune=prune,
        environment=env,
    )
