"""The command line: parses flags, calls one `commands.<name>.run`, turns errors into exit
codes.

`app` (the Typer app, the global flags, the exit codes) is the frame; `options` declares
the parameters commands share; `plans` (validate, test, plan, apply, show, export), `seed`
and `emulator` declare the commands. Only what parsing the command line needs is imported
here (`--help` stays quick); each command's modules, the console and the settings are
imported when it runs.
"""

from __future__ import annotations

import sys

# httpx imports its own command line (`httpx._main`, with rich's syntax highlighting and
# pygments' lexer table) whenever click, rich and pygments are installed, as they are
# beside typer: a large share of the start-up of every command that talks to the API,
# for a program this process never runs. A None entry is the import system's way to say a
# module is absent; httpx then defines a stub instead (docs/performance.md).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # (None: absent)

try:
    # Registering the commands on `app`, in the order `--help` lists them.
    # isort: off
    from reconciler.cli import plans, seed, emulator  # (after the line above)

    # isort: on
    from reconciler.cli.app import GLOBAL_OPTIONS, MAX_WORKSPACE_ID, app, main, tune_collector
except KeyboardInterrupt:
    # Ctrl-C while the command line itself loads (the first fifth of a second): what any
    # other moment says, not a traceback of the import machinery.
    sys.stderr.write("Error: interrupted\n")
    raise SystemExit(130) from None

__all__ = [
    "GLOBAL_OPTIONS",
    "MAX_WORKSPACE_ID",
    "app",
    "emulator",
    "main",
    "plans",
    "seed",
    "tune_collector",
]
