"""The command line: parses flags, calls one `commands.<name>.run`, turns errors into exit codes.

Exit codes (SPEC §4), mapped in one place (`exit_code_for`, after pre-commit's
`error_handler`): 0 success; 1 a user error (bad input, a usage error such as an unknown
flag or a bad flag value, an API error, a refused plan); 2 only `plan --detailed-exitcode`
with changes; 3 a bug in reconciler (one paragraph that says so; the traceback with
--debug); 130 interrupted. Errors are one paragraph on stderr, never a traceback.
The global flags (`--debug`, `--no-color`, `--version`, `-h`) work before the command and
after it. This module imports only what parsing the command line needs (`--help` stays
quick); each command's modules, the console and the settings are imported when it runs.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from reconciler import __version__
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from reconciler.console import Output
    from reconciler.settings import Flags

#: settings.MAX_WORKSPACE_ID, spelled here so that parsing flags needs no settings (and
#: no pydantic); a test holds the two equal.
MAX_WORKSPACE_ID = 2**63 - 1
#: Exit codes (SPEC §4): nothing but `plan --detailed-exitcode` ever exits 2.
USER_ERROR, BUG, INTERRUPTED = 1, 3, 130
#: The root's options that every command accepts as well (`reconciler plan --no-color`).
GLOBAL_OPTIONS = ("debug", "no_color", "version")


class State:
    """Global flags shared by every command."""

    def __init__(self) -> None:
        self.debug = False
        self.no_color = False

    def output(self) -> Output:
        from reconciler.console import Output

        return Output(no_color=self.no_color, debug=self.debug)


def _state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = State()
        ctx.find_root().obj = obj
    return obj


def _usage_message(error: typer.TyperException) -> str:
    """A usage error as one paragraph: what is wrong, the usage line, where help is."""
    message = error.format_message()
    ctx = getattr(error, "ctx", None)
    if ctx is None:
        return message
    usage = " ".join(ctx.get_usage().split())
    return f"{message}\n{usage}\nSee `{ctx.command_path} --help` for every option."


def exit_code_for(exc: BaseException, output: Output, *, debug: bool) -> int:
    """How a run that raised `exc` ends: say so on stderr in one paragraph, return the code.

    The one map of exit codes: our errors and usage errors (an unknown flag, a bad flag
    value) 1; Ctrl-C 130; anything else is a bug in reconciler: 3, and the message says so.
    """
    from reconciler.api.secrets import Redactor
    from reconciler.errors import printable

    if isinstance(exc, (KeyboardInterrupt, typer.Abort)):
        output.error("interrupted")
        return INTERRUPTED
    if isinstance(exc, typer.TyperException):  # what the command-line parser refused
        output.error(_usage_message(exc))
        return USER_ERROR
    if debug:
        output.traceback()
    if isinstance(exc, ReconcilerError):
        output.error(exc.message)
        return exc.exit_code
    said = printable(Redactor.from_env()(str(exc)))
    output.error(
        f"unexpected {type(exc).__name__}: {said}. This is a bug in reconciler, not in "
        "your input; run the command again with --debug for the traceback, and report it."
    )
    return BUG


def _given(args: Sequence[str], flag: str) -> bool:
    """Whether `flag` is among the arguments (before a `--`, after which all are values)."""
    words = list(args)
    return flag in (words[: words.index("--")] if "--" in words else words)


class ReconcilerGroup(TyperGroup):
    """The command group: every command accepts the global options too, and every way a
    run can end (an exit code, a usage error, Ctrl-C, a bug) becomes an exit code here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shared = [param for param in self.params if param.name in GLOBAL_OPTIONS]
        for command in self.commands.values():
            command.params.extend(shared)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        words = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(
                words,
                prog_name or "reconciler",
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except (Exception, KeyboardInterrupt) as exc:  # parsing, or a bug outside a command
            state = State()
            state.debug, state.no_color = _given(words, "--debug"), _given(words, "--no-color")
            code = exit_code_for(exc, state.output(), debug=state.debug)
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="reconciler",
    cls=ReconcilerGroup,
    help="Plan and apply mParticle Calculated Attributes from YAML manifests.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _debug_given(ctx: typer.Context, value: bool) -> None:
    if value:
        _state(ctx).debug = True


def _no_color_given(ctx: typer.Context, value: bool) -> None:
    if value:
        _state(ctx).no_color = True


def _version_given(ctx: typer.Context, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        typer.echo(f"reconciler {__version__}")
        raise typer.Exit(0)


@app.callback(invoke_without_command=True)
def _global(
    ctx: typer.Context,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            expose_value=False,
            callback=_debug_given,
            help="Tracebacks and HTTP traces (secrets redacted).",
        ),
    ] = False,
    no_color: Annotated[
        bool,
        typer.Option(
            "--no-color",
            expose_value=False,
            callback=_no_color_given,
            help="Plain output, no colour.",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            expose_value=False,
            is_eager=True,
            callback=_version_given,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    # The options act through their callbacks, wherever they are written (before the
    # command or after it); a bare `reconciler` is a usage error that shows the help.
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help(), err=True)
        raise typer.Exit(USER_ERROR)


def tune_collector(*, rarely: bool = True) -> None:
    """Freeze what the imports made, so no collection scans it again. With `rarely`, also
    collect rarely: manifests and live lists build millions of small objects, none of them
    cyclic garbage, which the default collector scans again and again (cycles are still
    collected on long runs; figures in docs/performance.md)."""
    gc.freeze()
    if rarely:
        gc.set_threshold(50_000, 20, 20)


def run_command(
    state: State, body: Callable[[Output], int], *, collect_rarely: bool = False
) -> NoReturn:
    """Run one command body and exit with its code; how it ends if it raises is
    `exit_code_for`'s to say.

    `collect_rarely` for commands that build large object graphs at once (manifests, live
    lists); long-running ones (seed, the emulator) keep the default thresholds, which hold
    their memory lower (docs/performance.md).
    """
    from reconciler.console import log_handling

    output = state.output()
    tune_collector(rarely=collect_rarely)
    try:
        # Announcements of waits reach stderr; with --debug every HTTP trace does, its
        # secrets hidden (a gateway may echo what was sent).
        with log_handling(output):
            code = body(output)
    except (Exception, KeyboardInterrupt) as exc:
        code = exit_code_for(exc, output, debug=state.debug)
    raise typer.Exit(code)


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
        help="Plan only the CAs whose names match (repeatable).",
        show_default=False,
    ),
]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        metavar="GLOB",
        help="Leave out the CAs whose names match (repeatable).",
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


@app.command()
def validate(
    ctx: typer.Context, directory: DirArg = Path("manifests"), env: AllEnvOption = None
) -> None:
    """Check manifests offline: every error at once, each with file:line:column."""
    from reconciler.commands import validate as command

    options = command.ValidateOptions(directory=directory, environment=env)
    run_command(_state(ctx), lambda out: command.run(options, out), collect_rarely=True)


@app.command(name="test")
def ca_tests(
    ctx: typer.Context,
    directory: DirArg = Path("manifests"),
    env: Annotated[
        str | None,
        typer.Option(
            "--env", help="Test the CAs as this environment has them.", show_default=False
        ),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit", help="Also write JUnit XML for CI test reporters.", show_default=False
        ),
    ] = None,
) -> None:
    """Evaluate CA definitions offline on the sample users of the test files (*.test.yaml)."""
    from reconciler.commands import test as command

    options = command.TestOptions(directory=directory, environment=env, junit=junit)
    run_command(_state(ctx), lambda out: command.run(options, out), collect_rarely=True)


TargetOption = Annotated[
    str | None,
    typer.Option("--target", help="embedded (local emulator) or mparticle.", show_default=False),
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


def _flags(
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


@app.command()
def plan(
    ctx: typer.Context,
    directory: DirArg = Path("manifests"),
    out: Annotated[
        Path | None, typer.Option("--out", help="Also save the plan as JSON.", show_default=False)
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text, markdown (PR comment) or json.")
    ] = "text",
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
    """Show what apply would change in the live workspace (one list request)."""
    from reconciler.commands import plan as command

    if fmt not in ("text", "markdown", "json"):
        raise typer.BadParameter("use text, markdown or json", param_hint="--format")
    options = command.PlanCommandOptions(
        directory=directory,
        out=out,
        fmt=fmt,  # type: ignore[arg-type]
        detailed_exitcode=detailed_exitcode,
        force=force,
        flags=_flags(workspace_id, target, prune, env),
        allow=tuple(allow or ()),
        only=tuple(only or ()),
        exclude=tuple(exclude or ()),
        seeds=seeds,
    )
    run_command(_state(ctx), lambda output: command.run(options, output), collect_rarely=True)


@app.command()
def apply(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Manifest directory (holds reconciler.yaml) [default: manifests; with "
            "--plan, the directory the plan was made from].",
            show_default=False,
        ),
    ] = None,
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan", help="Apply exactly this saved plan (from plan --out).", show_default=False
        ),
    ] = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Do not ask for confirmation.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="CAs changed at once.")
    ] = 8,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the calculation of activated CAs.")
    ] = False,
    wait_timeout: Annotated[
        float | None,
        typer.Option(
            "--wait-timeout",
            min=0,
            help="With --wait: the most seconds to follow calculations (default 3600).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="Report as text or json.")] = "text",
    prune: PruneOption = None,
    force: ForceOption = False,
    workspace_id: WorkspaceOption = None,
    target: TargetOption = None,
    env: EnvOption = None,
    allow: AllowOption = None,
    only: OnlyOption = None,
    exclude: ExcludeOption = None,
    seeds: SeedsOption = None,
    seed_wait: Annotated[
        float | None,
        typer.Option(
            "--seed-wait",
            min=0,
            help="Seconds to retry seeds for a CA the Seeding API does not know yet (default 600).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Make the live workspace match the manifests (or a saved plan)."""
    from reconciler.commands import apply as command

    if fmt not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    if wait_timeout is not None and not wait:
        raise typer.BadParameter("only means something with --wait", param_hint="--wait-timeout")
    if seed_wait is not None and seeds is None and plan_file is None:
        raise typer.BadParameter("only means something with --seeds", param_hint="--seed-wait")
    options = command.ApplyOptions(
        directory=directory,
        plan_file=plan_file,
        auto_approve=auto_approve,
        concurrency=concurrency,
        wait=wait,
        force=force,
        fmt=fmt,  # type: ignore[arg-type]
        flags=_flags(workspace_id, target, prune, env),
        allow=tuple(allow or ()),
        only=tuple(only or ()),
        exclude=tuple(exclude or ()),
        seeds=seeds,
        wait_timeout=command.WAIT_TIMEOUT if wait_timeout is None else wait_timeout,
        seed_wait=command.SEED_WAIT if seed_wait is None else seed_wait,
    )
    run_command(_state(ctx), lambda output: command.run(options, output), collect_rarely=True)


@app.command()
def show(
    ctx: typer.Context,
    plan_file: Annotated[
        Path, typer.Argument(metavar="PLANFILE", help="A saved plan (plan --out).")
    ],
    fmt: Annotated[
        str, typer.Option("--format", help="text, markdown (PR comment) or json.")
    ] = "text",
) -> None:
    """Render a saved plan as plan rendered it, offline (no request)."""
    from reconciler.commands import show as command

    if fmt not in ("text", "markdown", "json"):
        raise typer.BadParameter("use text, markdown or json", param_hint="--format")
    options = command.ShowOptions(plan_file=plan_file, fmt=fmt)  # type: ignore[arg-type]
    run_command(_state(ctx), lambda output: command.run(options, output))


@app.command()
def export(
    ctx: typer.Context,
    directory: DirArg = Path("manifests"),
    out: Annotated[Path, typer.Option("--out", help="Directory to write manifests to.")] = Path(
        "exported"
    ),
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace the files an earlier export wrote in OUT (only those)."
        ),
    ] = False,
    workspace_id: WorkspaceOption = None,
    target: TargetOption = None,
    env: EnvOption = None,
) -> None:
    """Write manifests for the live workspace (settings from DIR/reconciler.yaml)."""
    from reconciler.commands import export as command

    options = command.ExportOptions(
        directory=directory, out=out, flags=_flags(workspace_id, target, None, env), force=force
    )
    run_command(_state(ctx), lambda output: command.run(options, output), collect_rarely=True)


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
            _flags(workspace_id, target, None, env), seed_rate=rate, seed_rate_ceiling=rate_ceiling
        ),
    )
    run_command(_state(ctx), lambda output: command.run(options, output))


@app.command()
def emulator(
    ctx: typer.Context,
    *,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0 picks a free one).")] = 8080,
    db: Annotated[Path | None, typer.Option(help="SQLite file (in memory without it).")] = None,
    workspace_id: Annotated[
        int | None, typer.Option(help="The only workspace served (any id without it).")
    ] = None,
    client_id: Annotated[str, typer.Option(help="OAuth client id.")] = "emulator",
    client_secret: Annotated[str, typer.Option(help="OAuth client secret.")] = "emulator",
    api_key: Annotated[str, typer.Option(help="Seeding API key.")] = "emulator",
    api_secret: Annotated[str, typer.Option(help="Seeding API secret.")] = "emulator",
    latency_ms: Annotated[float, typer.Option(help="Added latency per request.")] = 0.0,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests per second before 429.")
    ] = None,
    fault_rate: Annotated[float, typer.Option(help="Share of requests that fail.")] = 0.0,
    fault_seed: Annotated[int | None, typer.Option(help="Seed for reproducible faults.")] = None,
    max_active: Annotated[int, typer.Option(help="Active-CA limit of the account.")] = 100,
    retention_days: Annotated[
        int | None, typer.Option(help="Retention period in days (none without it).")
    ] = None,
    calculation_seconds: Annotated[
        float, typer.Option(help="How long a (re)calculation takes.")
    ] = 30.0,
    token_ttl: Annotated[int, typer.Option(help="OAuth token lifetime in seconds.")] = 28800,
    seed_limit: Annotated[
        float, typer.Option(help="Seeding API limit in batches (users) per second; 0: none.")
    ] = 270.0,
    acceleration_limit: Annotated[
        float,
        typer.Option(help="How much the seeding rate may grow per window, batches/s; 0: none."),
    ] = 0.0,
    live_traffic: Annotated[
        float, typer.Option(help="Share of the seed limit used by simulated live traffic.")
    ] = 0.0,
    limit_window: Annotated[
        float, typer.Option(help="Seconds of the windows the seeding limits measure.")
    ] = 10.0,
    propagation_delay: Annotated[
        float, typer.Option(help="Seconds before a created or changed CA can be seeded.")
    ] = 0.0,
) -> None:
    """Run the local mParticle CA API emulator as an HTTP server."""
    from reconciler.commands import emulator as command
    from reconciler.emulator import EmulatorConfig

    config = EmulatorConfig(
        workspace_id=workspace_id,
        client_id=client_id,
        client_secret=client_secret,
        api_key=api_key,
        api_secret=api_secret,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        fault_rate=fault_rate,
        fault_seed=fault_seed,
        max_active=max_active,
        retention_days=retention_days,
        calculation_seconds=calculation_seconds,
        token_ttl=token_ttl,
        seed_limit=seed_limit,
        acceleration_limit=acceleration_limit,
        live_traffic=live_traffic,
        limit_window=limit_window,
        propagation_delay=propagation_delay,
    )
    options = command.EmulatorOptions(config=config, host=host, port=port, db=db)
    run_command(_state(ctx), lambda out: command.run(options, out))


def main() -> None:
    """Console-script entry point."""
    app()
