"""The `seed` command's flags: a seed file into the workspace's CAs through the Seeding API."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.app import SynopsisCommand, app, run_command, state_of
from reconciler.cli.options import (
    DirArg,
    EnvOption,
    TargetOption,
    WorkspaceOption,
    finite_number,
    flags_from,
    format_option,
    one_of,
    path,
    ranged,
    whole_number,
)

#: The ranges of the seed rate and its ceiling, as reconciler.yaml and the RECONCILER_*
#: knobs take them (settings.file; importing it here would build the settings models for
#: every --help: tests/test_layout.py holds the two equal).
MIN_SEED_RATE, MAX_SEED_RATE = 0.01, 10_000_000.0
MIN_SEED_RATE_CEILING, MAX_SEED_RATE_CEILING = 0.01, 100.0


_FileArg = Annotated[
    Path,
    typer.Argument(
        metavar="FILE",
        parser=path,
        help="Seed file: JSONL (one user a line, API body shape) or CSV (comma-separated, UTF-8).",
    ),
]
_EnvironmentOption = Annotated[
    str | None,
    typer.Option(
        metavar="development|production",
        parser=one_of("development", "production"),
        help="Data environment of users whose record names none (the Seeding API's; not --env).",
    ),
]
_BatchSizeOption = Annotated[
    int,
    typer.Option(
        metavar="N",
        parser=whole_number(1, 1000),
        help=f"Users per request ({ranged(1, 1000)}, and under 256 KB).",
    ),
]
_ConcurrencyOption = Annotated[
    int,
    typer.Option(
        metavar="N", parser=whole_number(1, 64), help=f"Requests in flight ({ranged(1, 64)})."
    ),
]
_SkipInvalidOption = Annotated[
    bool,
    typer.Option(
        "--skip-invalid", help="Send the valid users; write invalid ones to the rejects file."
    ),
]
_RejectsOption = Annotated[
    Path | None,
    typer.Option(metavar="FILE", parser=path, help="Rejects file (default: FILE.rejects.jsonl)."),
]
_CheckpointOption = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE", parser=path, help="Record confirmed batches here; re-run to resume."
    ),
]
_DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Validate and count; send nothing.")]
_OutputFormatOption = Annotated[
    str, format_option("text", "json", text="Summary as text or one JSON object.")
]
_RateOption = Annotated[
    float | None,
    typer.Option(
        "--rate",
        metavar="N",
        parser=finite_number(MIN_SEED_RATE, MAX_SEED_RATE),
        help="Most users per second (each user is one Events API batch); default 100, "
        f"{ranged(MIN_SEED_RATE, MAX_SEED_RATE)}.",
        show_default=False,
    ),
]
_RateCeilingOption = Annotated[
    float | None,
    typer.Option(
        "--rate-ceiling",
        metavar="PERCENT",
        parser=finite_number(MIN_SEED_RATE_CEILING, MAX_SEED_RATE_CEILING),
        help="Keep X-mp-rate-limit-percentage-used under this; default 80, "
        f"{ranged(MIN_SEED_RATE_CEILING, MAX_SEED_RATE_CEILING)}.",
        show_default=False,
    ),
]
_SeedWaitOption = Annotated[
    float,
    typer.Option(
        "--seed-wait",
        metavar="SECONDS",
        parser=finite_number(0),
        help="Seconds to retry seeds for a CA the Seeding API does not know yet (default 600; "
        f"{ranged(0)}).",
        show_default=False,
    ),
]


@app.command(cls=SynopsisCommand)
def seed(
    ctx: typer.Context,
    file: _FileArg,
    directory: DirArg = Path("manifests"),
    environment: _EnvironmentOption = None,
    batch_size: _BatchSizeOption = 100,
    concurrency: _ConcurrencyOption = 8,
    skip_invalid: _SkipInvalidOption = False,
    rejects: _RejectsOption = None,
    checkpoint: _CheckpointOption = None,
    dry_run: _DryRunOption = False,
    output_format: _OutputFormatOption = "text",
    rate: _RateOption = None,
    rate_ceiling: _RateCeilingOption = None,
    seed_wait: _SeedWaitOption = 600.0,
    workspace_id: WorkspaceOption = None,
    target: TargetOption = None,
    env: EnvOption = None,
) -> None:
    """Load historical seed values (Seeding API).

    Validated, batched and resumable.
    """
    from reconciler.commands import seed as command
    from reconciler.seeding import SeedOptions

    options = command.SeedCommandOptions(
        seed=SeedOptions(
            file=file,
            environment=environment,
            batch_size=batch_size,
            concurrency=concurrency,
            skip_invalid=skip_invalid,
            rejects=rejects,
            checkpoint=checkpoint,
            dry_run=dry_run,
            seed_wait=seed_wait,
        ),
        directory=directory,
        output_format=output_format,
        flags=replace(
            flags_from(workspace_id, target, None, env),
            seed_rate=rate,
            seed_rate_ceiling=rate_ceiling,
        ),
    )
    run_command(state_of(ctx), lambda output: command.run(options, output))
