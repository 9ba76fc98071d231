"""The commands over manifests and plans: validate, test, plan, apply, show, export. Each
parses its flags into its command's options and runs `commands.<name>.run`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.app import SynopsisCommand, app, run_command, state_of
from reconciler.cli.options import (
    AllEnvOption,
    AllowOption,
    DirArg,
    EnvOption,
    ExcludeOption,
    ForceOption,
    OnlyOption,
    PruneOption,
    SeedsOption,
    SummaryEnvOption,
    TargetOption,
    WorkspaceOption,
    environment,
    finite_number,
    flags_from,
    format_option,
    path,
    ranged,
    whole_number,
)

#: plan's and show's --format: a plan as text, as a PR comment, or as JSON.
_PlanFormatOption = Annotated[
    str, format_option("text", "markdown", "json", text="text, markdown (PR comment) or json.")
]


@app.command(cls=SynopsisCommand)
def validate(
    ctx: typer.Context, directory: DirArg = Path("manifests"), env: SummaryEnvOption = None
) -> None:
    """Check manifests offline: every error at once.

    Each error with its file:line:column; no request is made.
    """
    from reconciler.commands import validate as command

    options = command.ValidateOptions(directory=directory, environment=env)
    run_command(
        state_of(ctx),
        lambda out: command.run(options, out),
        collect_rarely=True,
        pause_collector=True,
    )


#: As the README's synopsis has it: one directory, or test files.
TEST_PATHS = "DIR | FILE..."
_TestPathsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        metavar=TEST_PATHS,
        parser=path,
        help="A manifest directory (holds reconciler.yaml) [default: manifests], or test files "
        "to run alone (with the manifests of the folder holding the reconciler.yaml above "
        "them).",
        show_default=False,
    ),
]


@app.command(name="test", cls=SynopsisCommand)
def ca_tests(
    ctx: typer.Context,
    paths: _TestPathsArg = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            metavar="NAME",
            parser=environment,
            help="Test the CAs as this environment has them (default: RECONCILER_ENV, else "
            "default_environment).",
            show_default=False,
        ),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit",
            metavar="FILE",
            parser=path,
            help="Also write JUnit XML for CI test reporters.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        str,
        format_option(
            "text",
            "markdown",
            "json",
            text="text, markdown (PR comment) or json (the report on stdout).",
        ),
    ] = "text",
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Print only failures, skips, invalid files and the summary (text only).",
        ),
    ] = False,
    only: OnlyOption = None,
    exclude: ExcludeOption = None,
) -> None:
    """Run the test files (*.test.yaml), offline.

    Evaluates the CA definitions on the sample users of each test file.
    """
    from reconciler.commands import test as command
    from reconciler.manifest.loader import TEST_SUFFIXES

    given = paths or [Path("manifests")]
    files = tuple(path for path in given if path.name.endswith(TEST_SUFFIXES))
    if len(given) > 1 and len(files) != len(given):
        raise typer.BadParameter(
            "give one manifest directory, or test files (*.test.yaml)",
            param_hint=f"'{TEST_PATHS}'",  # quoted as click quotes a parameter's own
        )
    if not files and given[0].is_file():  # a test file misnamed, or a manifest
        raise typer.BadParameter(
            f"{given[0]} is a file but no test file: test files are named *.test.yaml "
            "(or *.test.yml); give one manifest directory, or test files",
            param_hint=f"'{TEST_PATHS}'",
        )
    options = command.TestOptions(
        directory=given[0],
        environment=env,
        junit=junit,
        fmt=command.format_named(fmt),
        quiet=quiet,
        files=files,
        only=tuple(only or ()),
        exclude=tuple(exclude or ()),
    )
    run_command(state_of(ctx), lambda out: command.run(options, out), collect_rarely=True)


@app.command(cls=SynopsisCommand)
def plan(
    ctx: typer.Context,
    directory: DirArg = Path("manifests"),
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            parser=path,
            help="Also save the plan as JSON (with --env all: a directory, a file an environment).",
            show_default=False,
        ),
    ] = None,
    fmt: _PlanFormatOption = "text",
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
    ] = False,
    prune: PruneOption = None,
    force: ForceOption = False,
    workspace_id: WorkspaceOption = None,
    target: TargetOption = None,
    env: AllEnvOption = None,
    allow: AllowOption = None,
    only: OnlyOption = None,
    exclude: ExcludeOption = None,
    seeds: SeedsOption = None,
) -> None:
    """Show what apply would change.

    Reads the live workspace with one list request, and changes nothing.
    """
    from reconciler.commands import plan as command

    options = command.PlanCommandOptions(
        directory=directory,
        out=out,
        fmt=fmt,  # type: ignore[arg-type]
        detailed_exitcode=detailed_exitcode,
        force=force,
        flags=flags_from(workspace_id, target, prune, env),
        allow=tuple(allow or ()),
        only=tuple(only or ()),
        exclude=tuple(exclude or ()),
        seeds=seeds,
    )
    run_command(
        state_of(ctx),
        lambda output: command.run(options, output),
        collect_rarely=True,
        pause_collector=True,
    )


_ApplyDirectoryArg = Annotated[
    Path | None,
    typer.Argument(
        metavar="DIR",
        parser=path,
        help="Manifest directory (holds reconciler.yaml) [default: manifests; with "
        "--plan, the directory the plan was made from].",
        show_default=False,
    ),
]
_ApplyPlanFileOption = Annotated[
    Path | None,
    typer.Option(
        "--plan",
        metavar="FILE",
        parser=path,
        help="Apply exactly this saved plan (from plan --out).",
        show_default=False,
    ),
]
_ApplyAutoApproveOption = Annotated[
    bool, typer.Option("--auto-approve", help="Do not ask for confirmation.")
]
_ApplyConcurrencyOption = Annotated[
    int,
    typer.Option(
        "--concurrency",
        metavar="N",
        parser=whole_number(1, 64),
        help=f"CAs changed at once ({ranged(1, 64)}).",
    ),
]
_ApplyWaitOption = Annotated[
    bool, typer.Option("--wait", help="Follow the calculation of activated CAs.")
]
_ApplyWaitTimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--wait-timeout",
        metavar="SECONDS",
        parser=finite_number(0),
        help=f"With --wait: the most seconds to follow calculations (default 3600; {ranged(0)}).",
        show_default=False,
    ),
]
_ApplyFmtOption = Annotated[str, format_option("text", "json", text="Report as text or json.")]
_ApplySeedWaitOption = Annotated[
    float | None,
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
def apply(
    ctx: typer.Context,
    directory: _ApplyDirectoryArg = None,
    plan_file: _ApplyPlanFileOption = None,
    auto_approve: _ApplyAutoApproveOption = False,
    concurrency: _ApplyConcurrencyOption = 8,
    wait: _ApplyWaitOption = False,
    wait_timeout: _ApplyWaitTimeoutOption = None,
    fmt: _ApplyFmtOption = "text",
    prune: PruneOption = None,
    force: ForceOption = False,
    workspace_id: WorkspaceOption = None,
    target: TargetOption = None,
    env: EnvOption = None,
    allow: AllowOption = None,
    only: OnlyOption = None,
    exclude: ExcludeOption = None,
    seeds: SeedsOption = None,
    seed_wait: _ApplySeedWaitOption = None,
) -> None:
    """Make the live workspace match the manifests.

    Or apply a saved plan (--plan) exactly.
    """
    from reconciler.commands import apply as command
    from reconciler.workspace.calculations import WAIT_TIMEOUT

    # The hint quoted as click quotes a parameter's own: `Invalid value for '--wait-timeout'`.
    if wait_timeout is not None and not wait:
        raise typer.BadParameter("only means something with --wait", param_hint="'--wait-timeout'")
    if seed_wait is not None and seeds is None and plan_file is None:
        raise typer.BadParameter("only means something with --seeds", param_hint="'--seed-wait'")
    options = command.ApplyOptions(
        directory=directory,
        plan_file=plan_file,
        auto_approve=auto_approve,
        concurrency=concurrency,
        wait=wait,
        force=force,
        fmt=fmt,  # type: ignore[arg-type]
        flags=flags_from(workspace_id, target, prune, env),
        allow=tuple(allow or ()),
        only=tuple(only or ()),
        exclude=tuple(exclude or ()),
        seeds=seeds,
        wait_timeout=WAIT_TIMEOUT if wait_timeout is None else wait_timeout,
        seed_wait=command.SEED_WAIT if seed_wait is None else seed_wait,
    )
    run_command(state_of(ctx), lambda output: command.run(options, output), collect_rarely=True)


@app.command(cls=SynopsisCommand)
def show(
    ctx: typer.Context,
    plan_file: Annotated[
        Path, typer.Argument(metavar="PLANFILE", parser=path, help="A saved plan (plan --out).")
    ],
    fmt: _PlanFormatOption = "text",
) -> None:
    """Render a saved plan, offline.

    As plan rendered it; no request is made.
    """
    from reconciler.commands import show as command

    options = command.ShowOptions(plan_file=plan_file, fmt=fmt)  # type: ignore[arg-type]
    run_command(state_of(ctx), lambda output: command.run(options, output))


@app.command(cls=SynopsisCommand)
def export(
    ctx: typer.Context,
    directory: DirArg = Path("manifests"),
    out: Annotated[
        Path,
        typer.Option("--out", metavar="DIR", parser=path, help="Directory to write manifests to."),
    ] = Path("exported"),
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace the files an earlier export wrote in --out (only those)."
        ),
    ] = False,
    workspace_id: WorkspaceOption = None,
    target: TargetOption = None,
    env: EnvOption = None,
) -> None:
    """Write manifests for the live workspace.

    Its settings come from DIR/reconciler.yaml.
    """
    from reconciler.commands import export as command

    options = command.ExportOptions(
        directory=directory, out=out, flags=flags_from(workspace_id, target, None, env), force=force
    )
    run_command(state_of(ctx), lambda output: command.run(options, output), collect_rarely=True)
