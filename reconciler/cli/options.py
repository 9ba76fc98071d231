"""The parameters several commands share (the manifest directory, --env, --only/--exclude,
--allow, --target, --workspace-id, ...), declared once, and the settings flags they make."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reconciler.cli.app import MAX_WORKSPACE_ID

if TYPE_CHECKING:
    from reconciler.settings import Flags


def path(text: str | Path) -> Path:
    """The parser of every path parameter: an empty one, which is what `"$UNSET_VAR"` gives
    in CI, is refused. Typer read it as `Path('')`, the current folder: `plan --out ''`
    said `--out .: is a directory`, and `apply ''` applied the current folder's manifests.
    A name of spaces is a name (the system takes it, and so does this); a default arrives
    as the Path it is."""
    if text == "":
        raise typer.BadParameter("'' names no file or folder")
    return Path(text)


DirArg = Annotated[
    Path,
    typer.Argument(
        metavar="DIR",
        parser=path,
        help="Manifest directory (holds reconciler.yaml).",
        show_default=True,
    ),
]


def environment(text: str) -> str:
    """The parser of `--env`: an empty name (`--env "$UNSET_VAR"` in CI) is refused. It
    read as no --env at all, so the default environment was planned, or applied, in
    place of the one the job meant."""
    if text == "":
        raise typer.BadParameter(
            "'' names no environment (leave out --env for RECONCILER_ENV, else default_environment)"
        )
    return text


EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="NAME",
        parser=environment,
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
        parser=environment,
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
        parser=environment,
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


def glob(text: str) -> str:
    """The parser of `--only` and `--exclude`: an empty glob (`--only "$UNSET_VAR"` in
    CI) is refused. No CA name is empty, so it selected none: a drift job's plan said no
    changes over drift, an apply applied nothing, and `test` passed having tested nothing."""
    if text == "":
        raise typer.BadParameter("'' matches no CA (a name is never empty)")
    return text


OnlyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--only",
        metavar="GLOB",
        parser=glob,
        help="Only the CAs whose names match (a glob, case-sensitive; repeatable).",
        show_default=False,
    ),
]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        metavar="GLOB",
        parser=glob,
        help="Leave out the CAs whose names match (a glob, case-sensitive; repeatable).",
        show_default=False,
    ),
]
SeedsOption = Annotated[
    Path | None,
    typer.Option(
        "--seeds",
        metavar="FILE",
        parser=path,
        help="Seed file (JSONL or CSV, as for seed): each CA it seeds gets its seeds before "
        "it is activated.",
        show_default=False,
    ),
]


def one_of(*choices: str) -> Callable[[str], str]:
    """The parser of a flag that takes one of `choices`, refused in one wording for every
    such flag (`use text, markdown or json`): an Enum's own check answered `Value error,
    'xml' is not one of 'text', 'json'.`, pydantic's prefix included."""

    def parse(text: str) -> str:
        if text not in choices:
            raise typer.BadParameter(f"use {', '.join(choices[:-1])} or {choices[-1]}")
        return text

    return parse


def format_option(*choices: str, text: str) -> Any:
    """The `--format` flag of a command whose output takes one of `choices`, shown as
    `text|json` and refused in `one_of`'s wording; `text` is its help. One definition for
    every command's `--format`."""
    return typer.Option("--format", metavar="|".join(choices), parser=one_of(*choices), help=text)


TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target",
        metavar="embedded|mparticle",
        parser=one_of("embedded", "mparticle"),
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


@dataclass(frozen=True)
class _Bounds:
    """The range of a number flag: `minimum`/`maximum` included, `above`/`below` not."""

    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None
    below: float | None = None

    def hold(self, value: float) -> bool:
        return not (
            (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
            or (self.above is not None and value <= self.above)
            or (self.below is not None and value >= self.below)
        )

    def said(self) -> str:
        """As an error says it, and the README writes it: `between 0.01 and 10000000` (not
        `1e+07`), `at least 0`, `above 0`, `at least 0 and below 1`."""
        if self.minimum is not None and self.maximum is not None:
            return f"between {_shown(self.minimum)} and {_shown(self.maximum)}"
        return " and ".join(
            f"{words} {_shown(bound)}"
            for words, bound in (
                ("at least", self.minimum),
                ("above", self.above),
                ("at most", self.maximum),
                ("below", self.below),
            )
            if bound is not None
        )

    def helped(self) -> str:
        """As --help says it: `1 to 64`, `0 or more`, else as an error says it."""
        if self.above is None and self.below is None and self.minimum is not None:
            if self.maximum is not None:
                return f"{_shown(self.minimum)} to {_shown(self.maximum)}"
            return f"{_shown(self.minimum)} or more"
        return self.said()


def finite_number(
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    above: float | None = None,
    below: float | None = None,
) -> Callable[[str], float]:
    """The parser of a float flag within [minimum, maximum] (`above` and `below`: bounds
    the value may not reach): `nan` and `inf` are no numbers of seconds or users a second,
    and said so. Typer's own check of the range let them reach it and answered `--rate
    nan` with "less than or equal to 10000000". A flag with a parser takes no `min`/`max`
    (Typer would not check them, and would print the range in --help as
    `[0.01<=x<=10000000.0]`): its help says the range in words, with `ranged`."""
    bounds = _Bounds(minimum, maximum, above, below)

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            beyond = "" if math.isnan(value) or "inf" in text.lower() else " (beyond a float)"
            raise typer.BadParameter(f"must be a finite number, not {text}{beyond}")
        if not bounds.hold(value):
            raise typer.BadParameter(f"must be {bounds.said()}, not {text}")
        return value

    return parse


def whole_number(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """The parser of an integer flag within [minimum, maximum], for a range too wide to
    print: with Typer's `min`/`max`, --help showed `[1<=x<=9223372036854775807]`. Without
    it, pydantic refused `--max-active ten` with "Input should be a valid integer"."""
    bounds = _Bounds(minimum, maximum)

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a whole number") from None
        if not bounds.hold(value):
            raise typer.BadParameter(f"must be {bounds.said()}, not {text}")
        return value

    return parse


def ranged(
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    above: float | None = None,
    below: float | None = None,
) -> str:
    """The range of a flag with a parser, for its help: `0 or more`, `0.01 to 100`."""
    return _Bounds(minimum, maximum, above, below).helped()


def _shown(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


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

    return Flags(
        workspace_id=workspace_id,
        target=target,  # type: ignore[arg-type]
        prune=prune,
        environment=env,
    )
