"""The command line's frame: the Typer app, the global flags, and the one map from how a
command ends to its exit code.

Exit codes (SPEC §4), mapped in one place (`exit_code_for`, after pre-commit's
`error_handler`): 0 success; 1 a user error (bad input, a usage error such as an unknown
flag or a bad flag value, an API error, a refused plan); 2 only `plan --detailed-exitcode`
with changes; 3 a bug in reconciler (one paragraph that says so; the traceback with
--debug); 130 interrupted (Ctrl-C), 143 stopped by SIGTERM, which stops a command as Ctrl-C
does (`stop_on_sigterm`). Errors are one paragraph on stderr, never a traceback.
The global flags (`--debug`, `--no-color`, `--version`, `-h`) work before the command and
after it.
"""

from __future__ import annotations

import gc
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Protocol, cast

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

from reconciler import __version__
from reconciler.errors import ReconcilerError
from reconciler.interrupts import Signals, cancel_command

if TYPE_CHECKING:
    from reconciler.console import Output

#: settings.MAX_WORKSPACE_ID, spelled here so that parsing flags needs no settings (and
#: no pydantic); a test holds the two equal.
MAX_WORKSPACE_ID = 2**63 - 1
#: Exit codes (SPEC §4): nothing but `plan --detailed-exitcode` ever exits 2. SIGTERM
#: (how CI runners cancel a job) ends with 128 + 15, as `seed` has it.
USER_ERROR, BUG, INTERRUPTED, TERMINATED = 1, 3, 130, 143
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


def state_of(ctx: typer.Context) -> State:
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
        if Signals.terminated:
            output.error("interrupted by SIGTERM")
            return TERMINATED
        output.error("interrupted")
        return INTERRUPTED
    if isinstance(exc, typer.TyperException):  # what the command-line parser refused
        output.error(_usage_message(exc))
        return USER_ERROR
    if debug:
        output.traceback()
    if isinstance(exc, ReconcilerError):
        output.error(exc.message)
        if exc.exit_code == INTERRUPTED and Signals.terminated:
            return TERMINATED  # an apply that stopped on SIGTERM, after its report
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


class _UsageError(Protocol):
    """click's UsageError, which Typer keeps in a private module: what it knows of where
    it was raised (None: nowhere in particular)."""

    ctx: Any


def _unplaced(error: typer.TyperException) -> bool:
    """Whether `error` is a usage error that does not say in which command it arose: click's
    parser raises `Option '--format' requires an argument.` (a flag at the end of the line)
    and `Option '--force' does not take a value.` so, and `_usage_message` can then give no
    usage line and no pointer to the help, which every other usage error has."""
    return getattr(error, "ctx", False) is None


def _place(error: typer.TyperException, ctx: Any) -> None:
    cast(_UsageError, error).ctx = ctx


class ReconcilerGroup(TyperGroup):
    """The command group: every command accepts the global options too, and every way a
    run can end (an exit code, a usage error, Ctrl-C, a bug) becomes an exit code here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shared = [param for param in self.params if param.name in GLOBAL_OPTIONS]
        for command in self.commands.values():
            command.params.extend(shared)

    def invoke(self, ctx: Any) -> Any:  # a click Context (typer names its class privately)
        try:
            return super().invoke(ctx)
        except typer.TyperException as exc:  # while the command's own flags are parsed
            name = ctx.invoked_subcommand
            command = self.get_command(ctx, name) if name and _unplaced(exc) else None
            if command is not None:
                _place(exc, command.context_class(command, info_name=name, parent=ctx))
            raise
        except KeyboardInterrupt as exc:
            # Ctrl-C (or SIGTERM) before a command's body runs, while it imports what it
            # needs: Typer would end the run with 130 and no word.
            state = state_of(ctx)
            raise typer.Exit(exit_code_for(exc, state.output(), debug=state.debug)) from None

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as exc:  # a global flag's (`--debug=1`)
            if _unplaced(exc):
                _place(exc, ctx)
            raise

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


class SynopsisCommand(TyperCommand):
    """A command whose arguments, each with a metavar, read as the README's synopsis (`[DIR]`,
    `FILE [DIR]`, `PLANFILE`, `[DIR | FILE...]`) in the usage line and in --help. Typer
    wrote braces around a required argument (`{PLANFILE}`), a list of paths as `[PATH]...`
    and `PATH <list[Path]>`, the type after each argument's name (`DIR <Path>` once it has
    a parser), and has no way to leave that type out of its help. Every command that takes
    an argument is one."""

    # `ctx`, `formatter`: click's Context and HelpFormatter (typer names its click privately).
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument) and param.metavar:
                pieces.append(param.metavar if param.required else f"[{param.metavar}]")
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {"argument": [], "option": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None or param.param_type_name not in sections:
                continue
            if isinstance(param, TyperArgument) and param.metavar:
                record = (param.metavar, record[1])  # its help, without `<list[Path]>`
            sections[param.param_type_name].append(record)
        for kind, records in sections.items():
            if records:
                with formatter.section(f"{kind.title()}s"):
                    formatter.write_dl(records)


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
        state_of(ctx).debug = True


def _no_color_given(ctx: typer.Context, value: bool) -> None:
    if value:
        state_of(ctx).no_color = True


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
    state: State,
    body: Callable[[Output], int],
    *,
    collect_rarely: bool = False,
    pause_collector: bool = False,
) -> NoReturn:
    """Run one command body and exit with its code; how it ends if it raises is
    `exit_code_for`'s to say.

    `collect_rarely` for commands that build large object graphs at once (manifests, live
    lists); long-running ones (seed, the emulator) keep the default thresholds, which hold
    their memory lower (docs/performance.md). `pause_collector` for commands whose work
    is bounded by their input and that read it once (plan, validate): no collection at
    all while the body runs, the collector as it was once it returns; an apply sends a
    request a CA, each leaving cyclic garbage that only a collection frees.
    """
    from reconciler.console import log_handling

    output = state.output()
    tune_collector(rarely=collect_rarely)
    try:
        # Announcements of waits reach stderr; with --debug every HTTP trace does, its
        # secrets hidden (a gateway may echo what was sent).
        with log_handling(output), _collector_paused(pause_collector):
            code = body(output)
    except (Exception, KeyboardInterrupt) as exc:
        code = exit_code_for(exc, output, debug=state.debug)
    raise typer.Exit(code)


@contextmanager
def _collector_paused(paused: bool) -> Iterator[None]:
    """No collection while the block runs (if `paused`): what a plan builds (10,000 CAs
    from the cache, 10,000 read from the list) is no cyclic garbage, and the rare
    collections still scanned it (about 30 ms of a warm plan's CPU at 10,000 CAs)."""
    enabled = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM does what Ctrl-C does at this moment: the handler SIGINT has now (asyncio's
    while a command's loop runs: cancel its task, so requests in flight end and files are
    closed); with SIGINT ignored, the same for the loop of `run_async`; else (or on a
    second SIGTERM) a KeyboardInterrupt."""
    again, Signals.terminated = Signals.terminated, True
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
        return
    if not again and cancel_command():
        return
    raise KeyboardInterrupt


def stop_on_sigterm() -> None:
    """Make SIGTERM, which CI runners send to cancel a job, stop a command as Ctrl-C does
    (Python's default ends the process at once, silently, mid-request). `seed` watches
    both signals itself while it sends."""
    signal.signal(signal.SIGTERM, _on_sigterm)


def main() -> None:
    """Console-script entry point."""
    stop_on_sigterm()
    app()
