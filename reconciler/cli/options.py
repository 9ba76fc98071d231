"""The parameters several commands share (the manifest directory, --env, --only/--exclude,
--allow, --target, --workspace-id, ...), declared once, and the settings flags they make."""

from __future__ import annotations

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
WorkspaceOption = Annotated[
    int | None,
    typer.Option(
        "--workspace-id", min=1, max=MAX_WORKSPACE_ID, help="Workspace id.", show_default=False
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
