"""The `seed` command's flags: a seed file into the workspace's CAs through the Seeding API."""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.app import app, run_command, state_of
from reconciler.cli.options import DirArg, EnvOption, TargetOption, WorkspaceOption, flags_from


class SeedEnvironment(str, Enum):
    development = "development"
    production = "production"


class SeedFormat(str, Enum):
    text = "text"
    json = "json"


@app.command()
def seed(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="Seed file: JSONL (one user a line, API body shape) or CSV.")
    ],
    directory: DirArg = Path("manifests"),
    environment: Annotated[
        SeedEnvironment | None,
        typer.Option(
            help="Data environment of users whose record names none (the Seeding API's; not --env)."
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=1000, help="Users per request (and under 256 KB).")
    ] = 100,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Requests in flight.")] = 8,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="Send the valid users; write invalid ones to the rejects file."
        ),
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="Rejects file (default: FILE.rejects.jsonl).")
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="Record confirmed batches here; re-run to resume.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count; send nothing.")
    ] = False,
    output_format: Annotated[
        SeedFormat, typer.Option("--format", help="Summary as text or one JSON object.")
    ] = SeedFormat.text,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            min=0.001,
            help="Most users per second (each user is one Events API batch); default 100.",
            show_default=False,
        ),
    ] = None,
    rate_ceiling: Annotated[
        float | None,
        typer.Option(
            "--rate-ceiling",
            min=1,
            max=100,
            help="Keep X-mp-rate-limit-percentage-used under this; default 80.",
            show_default=False,
        ),
    ] = None,
    seed_wait: Annotated[
        float,
        typer.Option(
            "--seed-wait",
            min=0,
            help="Seconds to retry seeds for a CA the Seeding API does not know yet.",
        ),
    ] = 600.0,
    workspace_id: WorkspaceOption = None,
    target: TargetOption = None,
    env: EnvOption = None,
) -> None:
    """Load historical seed values through the Seeding API: validated, batched, resumable."""
    from reconciler.commands import seed as command
    from reconciler.seeding import SeedOptions

    options = command.SeedCommandOptions(
        seed=SeedOptions(
            file=file,
            environment=environment.value if environment else None,
            batch_size=batch_size,
            concurrency=concurrency,
            skip_invalid=skip_invalid,
            rejects=rejects,
            checkpoint=checkpoint,
            dry_run=dry_run,
            seed_wait=seed_wait,
        ),
        directory=directory,
        output_format=output_format.value,
        flags=replace(
            flags_from(workspace_id, target, None, env),
            seed_rate=rate,
            seed_rate_ceiling=rate_ceiling,
        ),
    )
    run_command(state_of(ctx), lambda output: command.run(options, output))
